//! Conveniences on the syscall tables for building bitmaps.

use crate::error::{Error, Result};
use crate::names::{Table, TABLES};
use crate::spec::Personality;

impl Table {
    /// Every personality with a name table: x86_64, x32, i386, aarch64,
    /// arm, riscv64.
    pub fn all() -> &'static [Table] {
        &TABLES
    }

    /// The table of the host's native syscall ABI (the one `execve` of a
    /// native binary runs under), if it has one.
    pub fn native() -> Option<Table> {
        let name = if cfg!(target_arch = "x86_64") {
            "x86_64"
        } else if cfg!(target_arch = "x86") {
            "i386"
        } else if cfg!(target_arch = "aarch64") {
            "aarch64"
        } else if cfg!(target_arch = "arm") {
            "arm"
        } else if cfg!(target_arch = "riscv64") {
            "riscv64"
        } else {
            return None;
        };
        Table::by_name(name)
    }

    /// A traced bitmap of [`Table::size`] bits with the named syscalls set;
    /// [`Error::UnknownName`] for a name this table lacks.
    pub fn bitmap(&self, names: &[&str]) -> Result<Vec<u8>> {
        let mut bits = vec![0u8; self.size().div_ceil(8) as usize];
        for name in names {
            let nr = self
                .number(name)
                .ok_or_else(|| Error::UnknownName(format!("{name} ({})", self.name)))?;
            bits[(nr / 8) as usize] |= 1 << (nr % 8);
        }
        Ok(bits)
    }

    /// This personality with `traced` as its bitmap over the whole table.
    /// `traced` needs at least `size().div_ceil(8)` bytes, as
    /// [`Table::bitmap`] makes.
    pub fn personality<'a>(&self, traced: &'a [u8]) -> Personality<'a> {
        Personality {
            audit_arch: self.audit_arch,
            nr_flag: self.nr_flag,
            traced,
            nsyscalls: self.size(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitmap_sets_the_named_numbers_only() {
        let t = Table::by_name("x86_64").unwrap();
        let bits = t.bitmap(&["openat", "read"]).unwrap();
        let p = t.personality(&bits);
        let traced: Vec<u32> = (0..p.nsyscalls).filter(|&i| p.is_traced(i)).collect();
        assert_eq!(traced, [0, 257]);
        assert!(matches!(
            t.bitmap(&["no_such_call"]),
            Err(Error::UnknownName(_))
        ));
    }
}
