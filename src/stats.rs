//! Figures of a program measured with the emulator: what it costs on the
//! syscalls the tracee runs at full speed, and whether the kernel can skip it.

use crate::bpf::*;
use crate::emulate::{run_cached, Plain, SeccompData};
use crate::spec::{ActionMap, Personality, Strategy, Table};

/// The figures of one personality.
#[derive(Clone, Debug, PartialEq)]
pub struct PersonalityStats {
    /// The personality's audit arch.
    pub audit_arch: u32,
    /// Its nr_flag.
    pub nr_flag: u32,
    /// Allowed numbers below `nsyscalls`: those not traced (bitmaps), or
    /// whose action is exactly `SECCOMP_RET_ALLOW` (action maps).
    pub allowed: u32,
    /// Mean and maximum instructions executed over those numbers (0 when none).
    pub mean_executed: f64,
    /// See `mean_executed`.
    pub max_executed: u32,
    /// Whether the kernel's action cache proves every one of them allowed
    /// (vacuously true when there are none). Never true for a flagged
    /// personality (x32): the kernel caches only the native and compat
    /// tables.
    pub cacheable: bool,
}

/// Figures of a program over the personalities it serves ([`Program::stats`](crate::Program::stats)).
#[derive(Clone, Debug, PartialEq)]
pub struct Stats {
    /// The strategy that built it.
    pub strategy: Strategy,
    /// Instructions.
    pub length: usize,
    /// One entry per personality, in the caller's order.
    pub personalities: Vec<PersonalityStats>,
    /// Every allowed syscall of every unflagged personality is cacheable.
    pub all_cacheable: bool,
}

impl Stats {
    /// Measures any program (ours or another generator's) with the emulator:
    /// every number below each personality's `nsyscalls` that it does not
    /// trace is run.
    pub fn measure(prog: &[Insn], strategy: Strategy, pers: &[Personality]) -> Stats {
        Stats::measure_tables(prog, strategy, pers)
    }

    /// [`Stats::measure`] over action maps: every number whose value is
    /// exactly `SECCOMP_RET_ALLOW` is run.
    pub fn measure_actions(prog: &[Insn], strategy: Strategy, maps: &[ActionMap]) -> Stats {
        Stats::measure_tables(prog, strategy, maps)
    }

    pub(crate) fn measure_tables<T: Table>(prog: &[Insn], strategy: Strategy, pers: &[T]) -> Stats {
        let plain = Plain::new(prog);
        let personalities: Vec<PersonalityStats> = pers
            .iter()
            .map(|p| {
                let (mut allowed, mut total, mut max) = (0u32, 0u64, 0u32);
                // Over no allowed syscall it holds vacuously, whatever the
                // actions; otherwise a number is cached only when the program
                // constantly returns SECCOMP_RET_ALLOW for it.
                let mut cacheable = p.nr_flag() == 0;
                for i in (0..p.nsyscalls()).filter(|&i| p.allowed(i)) {
                    let nr = p.nr_flag() | i;
                    let (r, cached) = match plain {
                        Some(plain) => plain.run_cached(p.audit_arch(), nr),
                        None => run_cached(prog, &SeccompData::new(p.audit_arch(), nr)),
                    };
                    allowed += 1;
                    total += r.executed as u64;
                    max = max.max(r.executed);
                    cacheable = cacheable && cached;
                }
                PersonalityStats {
                    audit_arch: p.audit_arch(),
                    nr_flag: p.nr_flag(),
                    allowed,
                    mean_executed: if allowed == 0 {
                        0.0
                    } else {
                        total as f64 / allowed as f64
                    },
                    max_executed: max,
                    cacheable,
                }
            })
            .collect();
        let all_cacheable = personalities
            .iter()
            .filter(|s| s.nr_flag == 0)
            .all(|s| s.cacheable);
        Stats {
            strategy,
            length: prog.len(),
            personalities,
            all_cacheable,
        }
    }
}
