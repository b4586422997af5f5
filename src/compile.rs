//! The pipeline: spec -> decision intervals -> strategy -> labelled program
//! -> laid-out instructions -> verified program.

use crate::assemble::assemble;
use crate::bpf::*;
use crate::emulate::{check, run_cached, SeccompData};
use crate::error::{Error, Result};
use crate::peephole;
use crate::program::Graph;
use crate::set::Decisions;
use crate::spec::{Objective, Options, Personality, Strategy};
use crate::stats::Stats;
use crate::strategy;
use crate::verify::verify;
use crate::weights::{self, ArchWeights, SyscallWeights};

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
    compile_weighted(pers, opts, &[])
}

/// [`compile`] with per-syscall weights for the expected cost (see
/// [`crate::weights`]); an empty list is uniform.
pub fn compile_weighted(
    pers: &[Personality],
    opts: &Options,
    weights: &SyscallWeights,
) -> Result<Program> {
    let mut d = Decisions::new(pers, opts)?;
    weights::validate(pers, weights)?;
    let mut w = ArchWeights::new(&d, pers, weights);
    if !weights.is_empty() {
        order_by_weight(&mut d, &mut w);
    }
    let candidates: Vec<Strategy> = match opts.strategy {
        Strategy::Auto => Strategy::ALL.to_vec(),
        forced => vec![forced],
    };
    let mut built: Vec<Program> = Vec::new();
    let mut errors = Vec::new();
    for s in candidates {
        // Bits is never cacheable: under SPEED it cannot beat a program
        // that is, so it is not even built when one exists (it comes last).
        if s == Strategy::Bits
            && opts.objective == Objective::Speed
            && opts.allowed_action == SECCOMP_RET_ALLOW
            && !built.is_empty()
        {
            continue;
        }
        match build(s, &d, &w) {
            Ok(p) => built.push(p),
            Err(e @ Error::Verify(_)) => return Err(e),
            Err(e) => errors.push(e),
        }
    }
    // Under SIZE a longer program loses whatever it executes: the emulator
    // runs only for the lengths that tie.
    if opts.objective == Objective::Size {
        if let Some(min) = built.iter().map(|p| p.insns.len()).min() {
            built.retain(|p| p.insns.len() == min);
        }
    }
    let mut best: Option<(Score, Program)> = None;
    for p in built {
        let score = Score::measure(&p, &d, &w, pers, weights, opts);
        if best
            .as_ref()
            .is_none_or(|(b, _)| score.better_than(b, opts.objective))
        {
            best = Some((score, p));
        }
    }
    if let Some((_, p)) = best {
        // Only the program returned needs the proof; a failure is a bug in
        // the strategy, reported rather than worked around.
        verify(&p.insns, &d).map_err(Error::Verify)?;
        return Ok(p);
    }
    // Nothing fits: "too large" says more than "this strategy cannot".
    let too_large = errors.iter().position(|e| matches!(e, Error::TooLarge(_)));
    Err(match too_large {
        Some(i) => errors.swap_remove(i),
        None => errors
            .pop()
            .unwrap_or_else(|| Error::Internal("no strategy applies".into())),
    })
}

/// Heaviest arch first, so that most syscalls pass the fewest arch tests;
/// the sort is stable, so equal weights keep the caller's order.
fn order_by_weight(d: &mut Decisions, w: &mut ArchWeights) {
    let mut order: Vec<usize> = (0..d.archs.len()).collect();
    order.sort_by(|&a, &b| w.arch_total(b).total_cmp(&w.arch_total(a)));
    d.archs = order.iter().map(|&i| d.archs[i].clone()).collect();
    let pick = |v: &Vec<Vec<f64>>| order.iter().map(|&i| v[i].clone()).collect();
    w.intervals = pick(&w.intervals);
    w.allowed = pick(&w.allowed);
    w.native = order.iter().map(|&i| w.native[i].clone()).collect();
}

/// What selection compares.
#[derive(Clone, Copy, Debug)]
struct Score {
    /// Every allowed syscall of every unflagged personality is cacheable.
    cacheable: bool,
    /// Weighted mean of executed instructions over allowed syscalls.
    cost: f64,
    len: usize,
}

impl Score {
    fn measure(
        p: &Program,
        d: &Decisions,
        w: &ArchWeights,
        pers: &[Personality],
        weights: &SyscallWeights,
        opts: &Options,
    ) -> Score {
        if matches!(
            p.strategy,
            Strategy::Search | Strategy::Tree | Strategy::Linear
        ) {
            Score::by_interval(&p.insns, d, w, opts)
        } else {
            Score::by_syscall(&p.insns, pers, weights, opts)
        }
    }

    /// For programs that compare `nr` only with interval boundaries, every
    /// number of an interval takes the same path: one run per interval.
    fn by_interval(prog: &[Insn], d: &Decisions, w: &ArchWeights, opts: &Options) -> Score {
        let (mut num, mut den) = (0.0f64, 0.0f64);
        let mut cacheable = opts.allowed_action == SECCOMP_RET_ALLOW;
        for (ai, a) in d.archs.iter().enumerate() {
            for (k, iv) in a.intervals.iter().enumerate() {
                let wt = w.allowed[ai][k];
                if wt > 0.0 || w.native[ai][k] {
                    let (r, cached) = run_cached(prog, &SeccompData::new(a.arch, iv.lo));
                    num += wt * r.executed as f64;
                    den += wt;
                    cacheable &= !w.native[ai][k] || cached;
                }
            }
        }
        Score {
            cacheable,
            cost: if den > 0.0 { num / den } else { 0.0 },
            len: prog.len(),
        }
    }

    fn by_syscall(
        prog: &[Insn],
        pers: &[Personality],
        weights: &SyscallWeights,
        opts: &Options,
    ) -> Score {
        let (mut num, mut den) = (0.0f64, 0.0f64);
        let mut cacheable = opts.allowed_action == SECCOMP_RET_ALLOW;
        for (pi, p) in pers.iter().enumerate() {
            for i in (0..p.nsyscalls).filter(|&i| !p.is_traced(i)) {
                let nr = p.nr_flag | i;
                let wt = weights::syscall_weight(weights, pers, pi, i);
                let (r, cached) = run_cached(prog, &SeccompData::new(p.audit_arch, nr));
                num += wt * r.executed as f64;
                den += wt;
                cacheable &= p.nr_flag != 0 || cached;
            }
        }
        Score {
            cacheable,
            cost: if den > 0.0 { num / den } else { 0.0 },
            len: prog.len(),
        }
    }

    fn better_than(&self, other: &Score, objective: Objective) -> bool {
        const TIE: f64 = 1e-9;
        let by_cost = || {
            if (self.cost - other.cost).abs() > TIE {
                self.cost < other.cost
            } else {
                self.len < other.len
            }
        };
        match objective {
            Objective::Speed if self.cacheable != other.cacheable => self.cacheable,
            Objective::Speed => by_cost(),
            Objective::Size if self.len != other.len => self.len < other.len,
            Objective::Size => by_cost(),
        }
    }
}

fn build(s: Strategy, d: &Decisions, w: &ArchWeights) -> Result<Program> {
    // Comparison strategies need a comparison per interval boundary, give or
    // take the single numbers a `jeq` handles; refuse hopeless specs before
    // building a graph for a million intervals.
    let per_boundary = matches!(s, Strategy::Search | Strategy::Tree | Strategy::Linear);
    if per_boundary && d.interval_count() > 2 * BPF_MAXINSNS + d.archs.len() {
        return Err(Error::TooLarge(format!(
            "{} intervals need more than {BPF_MAXINSNS} comparisons",
            d.interval_count()
        )));
    }
    let mut g = Graph::new();
    let root = strategy::build(s, d, w, &mut g)?;
    let insns = assemble(&g, root)?;
    let insns = peephole::optimize(insns, d);
    // The emulator that scores candidates runs checked programs only.
    check(&insns).map_err(|e| Error::Verify(format!("kernel would reject it: {e}")))?;
    Ok(Program { insns, strategy: s })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::*;
    use crate::emulate::run;

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
    fn alternating_bits_are_too_large_for_a_search_tree_but_not_for_bits() {
        let bits = vec![0x55u8; 4096];
        let p = Personality {
            audit_arch: 1,
            nr_flag: 0,
            traced: &bits,
            nsyscalls: 4096 * 8,
        };
        for s in [Strategy::Search, Strategy::Tree, Strategy::Linear] {
            let opts = Options {
                strategy: s,
                ..Options::default()
            };
            assert!(
                matches!(compile(&[p], &opts), Err(Error::TooLarge(_))),
                "{s:?}"
            );
        }
        // Every block is the same pattern: one test behind the range checks,
        // a cacheable `jset` for SPEED.
        let prog = compile(&[p], &Options::default()).unwrap();
        assert_eq!(prog.strategy(), Strategy::Jset);
        assert!(prog.insns().len() < 20, "{}", prog.insns().len());
        let opts = Options {
            objective: Objective::Size,
            ..Options::default()
        };
        let prog = compile(&[p], &opts).unwrap();
        assert!(prog.insns().len() < 20, "{}", prog.insns().len());
    }

    #[test]
    fn cost_per_interval_is_cost_per_syscall_for_boundary_strategies() {
        let mut x = 0x1234_5679u32;
        for round in 0..30u32 {
            let n = 100 + round * 13;
            let bits: Vec<u8> = (0..n.div_ceil(8))
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    (x & (x >> 9)) as u8
                })
                .collect();
            let pers = [
                Personality {
                    audit_arch: AUDIT_ARCH_X86_64,
                    nr_flag: 0,
                    traced: &bits,
                    nsyscalls: n,
                },
                Personality {
                    audit_arch: AUDIT_ARCH_X86_64,
                    nr_flag: X32_SYSCALL_BIT,
                    traced: &bits,
                    nsyscalls: n / 2,
                },
            ];
            let opts = Options::default();
            let d = Decisions::new(&pers, &opts).unwrap();
            let w = ArchWeights::new(&d, &pers, &[]);
            for s in [Strategy::Search, Strategy::Tree, Strategy::Linear] {
                let p = build(s, &d, &w).unwrap();
                let a = Score::by_interval(&p.insns, &d, &w, &opts);
                let b = Score::by_syscall(&p.insns, &pers, &[], &opts);
                assert_eq!(a.cacheable, b.cacheable, "{s:?}");
                assert!(
                    (a.cost - b.cost).abs() < 1e-9,
                    "{s:?}: {} vs {}",
                    a.cost,
                    b.cost
                );
            }
        }
    }
}
