//! An owned personality for tests: `Personality` borrows its bitmap from here.
#![allow(dead_code)] // each test uses its own part

use tracefilter::Personality;
use tracefilter::SyscallTable;

#[derive(Clone, Debug)]
pub struct Pers {
    pub arch: u32,
    pub flag: u32,
    pub bits: Vec<u8>,
    pub n: u32,
}

impl Pers {
    /// Nothing traced, over the whole table of the personality `name`.
    pub fn new(name: &str) -> Pers {
        let t = SyscallTable::by_name(name).unwrap();
        let n = t.size();
        Pers {
            arch: t.audit_arch,
            flag: t.nr_flag,
            bits: vec![0; n.div_ceil(8) as usize],
            n,
        }
    }

    pub fn set(&mut self, i: u32, traced: bool) {
        if traced {
            self.bits[(i / 8) as usize] |= 1 << (i % 8);
        } else {
            self.bits[(i / 8) as usize] &= !(1 << (i % 8));
        }
    }

    pub fn traced(&self, i: u32) -> bool {
        self.bits[(i / 8) as usize] & (1 << (i % 8)) != 0
    }

    pub fn view(&self) -> Personality<'_> {
        Personality {
            audit_arch: self.arch,
            nr_flag: self.flag,
            traced: &self.bits,
            nsyscalls: self.n,
        }
    }
}
