//! The pipeline: spec -> decision intervals -> strategy -> labelled program
//! -> laid-out instructions -> verified program.

use crate::assemble::assemble;
use crate::bpf::*;
use crate::error::{Error, Result};
use crate::program::Graph;
use crate::set::Decisions;
use crate::spec::{Options, Personality, Strategy};
use crate::stats::Stats;
use crate::strategy;
use crate::verify::verify;

/// A compiled, verified program.
#[derive(Clone, Debug)]
pub struct Program {
    insns: Vec<Insn>,
    strategy: Strategy,
}

impl Program {
    pub fn insns(&self) -> &[Insn] {
        &self.insns
    }

    pub fn strategy(&self) -> Strategy {
        self.strategy
    }

    /// Executed-instruction and cacheability figures for `pers`, which must
    /// be the personalities the program was compiled from.
    pub fn stats(&self, pers: &[Personality], opts: &Options) -> Stats {
        Stats::measure(&self.insns, self.strategy, pers, opts)
    }
}

pub fn compile(pers: &[Personality], opts: &Options) -> Result<Program> {
    let d = Decisions::new(pers, opts)?;
    let candidates: &[Strategy] = match opts.strategy {
        Strategy::Auto => &Strategy::ALL,
        forced => std::slice::from_ref(match forced {
            Strategy::Search => &Strategy::Search,
            Strategy::Auto => unreachable!(),
        }),
    };
    let mut best: Option<Program> = None;
    let mut last_err = None;
    for &s in candidates {
        match build(s, &d) {
            Ok(p) => {
                if best.as_ref().is_none_or(|b| p.insns.len() < b.insns.len()) {
                    best = Some(p);
                }
            }
            Err(e @ Error::Verify(_)) => return Err(e),
            Err(e) => last_err = Some(e),
        }
    }
    best.ok_or_else(|| last_err.unwrap_or_else(|| Error::Internal("no strategy applies".into())))
}

fn build(s: Strategy, d: &Decisions) -> Result<Program> {
    // A search tree needs a comparison per interval boundary, give or take
    // the single numbers a `jeq` handles; refuse hopeless specs before
    // building a graph for a million intervals.
    if s == Strategy::Search && d.interval_count() > 2 * BPF_MAXINSNS + d.archs.len() {
        return Err(Error::TooLarge(format!(
            "{} intervals need more than {BPF_MAXINSNS} comparisons",
            d.interval_count()
        )));
    }
    let mut g = Graph::new();
    let root = strategy::build(s, d, &mut g);
    let insns = assemble(&g, root)?;
    verify(&insns, d).map_err(Error::Verify)?;
    Ok(Program { insns, strategy: s })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::*;
    use crate::emulate::{run, SeccompData};

    #[test]
    fn x86_trio_is_exact_on_every_boundary() {
        let mut x64 = vec![0u8; 58];
        let mut x32 = vec![0u8; 70];
        let i386 = vec![0x55u8; 57];
        for nr in [2, 59, 257, 322] {
            x64[nr / 8] |= 1 << (nr % 8);
        }
        for nr in [2, 257, 520, 545] {
            x32[nr / 8] |= 1 << (nr % 8);
        }
        let pers = [
            Personality {
                audit_arch: AUDIT_ARCH_X86_64,
                nr_flag: 0,
                traced: &x64,
                nsyscalls: 462,
            },
            Personality {
                audit_arch: AUDIT_ARCH_I386,
                nr_flag: 0,
                traced: &i386,
                nsyscalls: 451,
            },
            Personality {
                audit_arch: AUDIT_ARCH_X86_64,
                nr_flag: X32_SYSCALL_BIT,
                traced: &x32,
                nsyscalls: 548,
            },
        ];
        let opts = Options::default();
        let p = compile(&pers, &opts).unwrap();
        let d = Decisions::new(&pers, &opts).unwrap();
        for a in [AUDIT_ARCH_X86_64, AUDIT_ARCH_I386, 0, u32::MAX] {
            for nr in (0..600).chain([
                0x3fff_ffff,
                0x4000_0000,
                0x4000_0208,
                0x4000_0223,
                0x4000_0224,
                u32::MAX,
            ]) {
                let want = d.action(a, nr);
                assert_eq!(
                    run(p.insns(), &SeccompData::new(a, nr)).action,
                    want,
                    "arch {a:#x} nr {nr:#x}"
                );
            }
        }
    }

    #[test]
    fn uniform_spec_is_one_return() {
        let p = Personality {
            audit_arch: 1,
            nr_flag: 0,
            traced: &[0xff],
            nsyscalls: 8,
        };
        let prog = compile(&[p], &Options::default()).unwrap();
        assert_eq!(
            prog.insns(),
            &[Insn::stmt(BPF_RET | BPF_K, SECCOMP_RET_TRACE)]
        );
    }

    #[test]
    fn alternating_bits_are_too_large_for_a_search_tree() {
        let bits = vec![0x55u8; 4096];
        let p = Personality {
            audit_arch: 1,
            nr_flag: 0,
            traced: &bits,
            nsyscalls: 4096 * 8,
        };
        assert!(matches!(
            compile(&[p], &Options::default()),
            Err(Error::TooLarge(_))
        ));
    }
}
