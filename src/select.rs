//! Selection: which of the strategies' programs is best for the
//! objective. Strategies that cannot win by their own floors
//! ([`crate::strategy::cost_floor`], [`crate::strategy::length_floor`]) are
//! not built; the others are scored by the emulator and ranked.

use crate::bpf::*;
use crate::compile::Program;
use crate::emulate::{run_cached, Plain, Run, SeccompData};
use crate::error::{Error, Result};
use crate::set::Decisions;
#[cfg(test)]
use crate::spec::Personality;
use crate::spec::{Objective, Options, Table};
use crate::strategy::{cost_floor, length_floor, Kind};
use crate::weights::{self, ArchWeights, SyscallWeights};

/// The best program for `opts` among the strategies it allows, each built
/// by `build`; unverified.
pub(crate) fn select<T: Table>(
    d: &Decisions,
    w: &ArchWeights,
    pers: &[T],
    weights: &SyscallWeights,
    opts: &Options,
    build: impl Fn(Kind) -> Result<Program>,
) -> Result<Program> {
    let mut candidates: Vec<Kind> = match Kind::of(opts.strategy) {
        None => Kind::ALL.to_vec(),
        Some(forced) => vec![forced],
    };
    // Under SIZE the usually shortest go first, so that the length of the
    // shortest so far rules out the others before they are built (bits
    // first: on large sets it is far shorter than the chain). Ties are
    // still broken in the order of `Kind::ALL`.
    let rank = |k: Kind| Kind::ALL.iter().position(|&x| x == k);
    if opts.objective == Objective::Size {
        candidates.sort_by_key(|&k| match k {
            Kind::Bits => 0,
            Kind::Linear => 1,
            _ => 2,
        });
    }
    // Programs built, with their score once measured.
    let mut built: Vec<(Program, Option<Score>)> = Vec::new();
    let mut errors = Vec::new();
    for k in candidates {
        // A program the kernel cannot cache cannot beat one it can under
        // SPEED, so it is not even built when one exists (it comes last).
        if !k.matcher().cacheable()
            && opts.objective == Objective::Speed
            && opts.allowed_action == SECCOMP_RET_ALLOW
            && !built.is_empty()
        {
            continue;
        }
        // Under SPEED the tree (built first) sets the bar: a strategy whose
        // cost cannot come within a tie of it loses whatever it builds.
        if opts.objective == Objective::Speed {
            if let Some((_, Some(bar))) = built.first() {
                if bar.cacheable && cost_floor(k, d, w).is_some_and(|f| f > bar.cost + TIE) {
                    continue;
                }
            }
        }
        // Under SIZE, a strategy that cannot be as short loses.
        if opts.objective == Objective::Size {
            let shortest = built.iter().map(|(p, _)| p.insns().len()).min();
            if shortest.is_some_and(|m| length_floor(k, d).is_some_and(|f| f > m)) {
                continue;
            }
        }
        match build(k) {
            Ok(p) => {
                let score = (opts.objective == Objective::Speed && k == Kind::Tree)
                    .then(|| Score::measure(&p, d, w, pers, weights, opts));
                built.push((p, score));
            }
            Err(e @ Error::Verify(_)) => return Err(e),
            Err(e) => errors.push((rank(k), e)),
        }
    }
    built.sort_by_key(|(p, _)| rank(p.kind()));
    errors.sort_by_key(|(r, _)| *r);
    let mut errors: Vec<Error> = errors.into_iter().map(|(_, e)| e).collect();
    // Under SIZE a longer program loses whatever it executes: the emulator
    // runs only for the lengths that tie.
    if opts.objective == Objective::Size {
        if let Some(min) = built.iter().map(|(p, _)| p.insns().len()).min() {
            built.retain(|(p, _)| p.insns().len() == min);
        }
    }
    // A lone candidate needs no score.
    if built.len() == 1 {
        return Ok(built.remove(0).0);
    }
    let mut best: Option<(Score, Program)> = None;
    for (p, score) in built {
        let score = score.unwrap_or_else(|| Score::measure(&p, d, w, pers, weights, opts));
        if best
            .as_ref()
            .is_none_or(|(b, _)| score.better_than(b, opts.objective))
        {
            best = Some((score, p));
        }
    }
    if let Some((_, p)) = best {
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

/// Costs closer than this are equal, and length decides.
const TIE: f64 = 1e-9;

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
    fn measure<T: Table>(
        p: &Program,
        d: &Decisions,
        w: &ArchWeights,
        pers: &[T],
        weights: &SyscallWeights,
        opts: &Options,
    ) -> Score {
        if p.kind().matcher().compares_boundaries_only() {
            Score::by_interval(p.insns(), d, w, opts)
        } else {
            Score::by_syscall(p.insns(), pers, weights, opts)
        }
    }

    /// For programs that compare `nr` only with interval boundaries, every
    /// number of an interval takes the same path: one run per interval.
    fn by_interval(prog: &[Insn], d: &Decisions, w: &ArchWeights, opts: &Options) -> Score {
        let plain = Plain::of_checked(prog);
        let (mut num, mut den) = (0.0f64, 0.0f64);
        let mut cacheable = opts.allowed_action == SECCOMP_RET_ALLOW;
        let most = d.archs.iter().map(|a| a.intervals.len()).max().unwrap_or(0);
        let (mut nrs, mut runs) = (Vec::with_capacity(most), Vec::with_capacity(most));
        for (ai, a) in d.archs.iter().enumerate() {
            // The intervals that count, in order (ascending numbers).
            let counted = |&k: &usize| w.allowed[ai][k] > 0.0 || w.native[ai][k];
            let ks = || (0..a.intervals.len()).filter(counted);
            let mut count = |k: usize, r: &Run, cached: bool| {
                let wt = w.allowed[ai][k];
                num += wt * r.executed as f64;
                den += wt;
                cacheable &= !w.native[ai][k] || cached;
            };
            match plain {
                Some(p) => {
                    nrs.clear();
                    nrs.extend(ks().map(|k| a.intervals[k].lo));
                    p.run_sorted(a.arch, &nrs, &mut runs);
                    for (k, r) in ks().zip(&runs) {
                        count(k, r, r.action == SECCOMP_RET_ALLOW);
                    }
                }
                None => {
                    for k in ks() {
                        let data = SeccompData::new(a.arch, a.intervals[k].lo);
                        let (r, cached) = run_cached(prog, &data);
                        count(k, &r, cached);
                    }
                }
            }
        }
        Score {
            cacheable,
            cost: if den > 0.0 { num / den } else { 0.0 },
            len: prog.len(),
        }
    }

    fn by_syscall<T: Table>(
        prog: &[Insn],
        pers: &[T],
        weights: &SyscallWeights,
        opts: &Options,
    ) -> Score {
        let run = runner(prog);
        let (mut num, mut den) = (0.0f64, 0.0f64);
        let mut cacheable = opts.allowed_action == SECCOMP_RET_ALLOW;
        for (pi, p) in pers.iter().enumerate() {
            for i in (0..p.nsyscalls()).filter(|&i| p.allowed(i)) {
                let nr = p.nr_flag() | i;
                let wt = weights::syscall_weight(weights, pers, pi, i);
                let (r, cached) = run(p.audit_arch(), nr);
                num += wt * r.executed as f64;
                den += wt;
                cacheable &= p.nr_flag() != 0 || cached;
            }
        }
        Score {
            cacheable,
            cost: if den > 0.0 { num / den } else { 0.0 },
            len: prog.len(),
        }
    }

    fn better_than(&self, other: &Score, objective: Objective) -> bool {
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

/// [`run_cached`] by (arch, nr), through the short loop where it applies.
/// `prog` is a [`Program`]'s, checked when it was built.
fn runner(prog: &[Insn]) -> impl Fn(u32, u32) -> (crate::emulate::Run, bool) + '_ {
    let plain = Plain::of_checked(prog);
    move |arch, nr| match plain {
        Some(p) => p.run_cached(arch, nr),
        None => run_cached(prog, &SeccompData::new(arch, nr)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::*;
    use crate::compile::{build, compile_weighted};

    #[test]
    fn cost_per_interval_is_cost_per_syscall_for_boundary_strategies() {
        let mut next = crate::testing::xorshift32(0x1234_5679);
        for round in 0..30u32 {
            let n = 100 + round * 13;
            let bits: Vec<u8> = (0..n.div_ceil(8))
                .map(|_| {
                    let x = next();
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
            for s in [Kind::Search, Kind::Tree, Kind::Linear] {
                let p = build(s, &d, &w).unwrap();
                let a = Score::by_interval(p.insns(), &d, &w, &opts);
                let b = Score::by_syscall(p.insns(), &pers, &[], &opts);
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

    /// Random specs over one to three arches, some with a third action for
    /// unknown numbers and some with a uniform arch.
    fn random_specs(mut f: impl FnMut(&[Personality], &Options)) {
        let mut next = crate::testing::xorshift32(0x9e37_79b9);
        for round in 0..60u32 {
            let n = 1 + next() % 300;
            let density = next() % 4;
            let mut bits = || -> Vec<u8> {
                (0..n.div_ceil(8))
                    .map(|_| match density {
                        0 => 0,
                        1 => next() as u8,
                        2 => (next() & next() & next()) as u8,
                        _ => (next() | next()) as u8,
                    })
                    .collect()
            };
            let (a, b, c) = (bits(), bits(), bits());
            let pers = [
                Personality {
                    audit_arch: AUDIT_ARCH_X86_64,
                    nr_flag: 0,
                    traced: &a,
                    nsyscalls: n,
                },
                Personality {
                    audit_arch: AUDIT_ARCH_I386,
                    nr_flag: 0,
                    traced: &b,
                    nsyscalls: n,
                },
                Personality {
                    audit_arch: AUDIT_ARCH_X86_64,
                    nr_flag: X32_SYSCALL_BIT,
                    traced: &c,
                    nsyscalls: n / 2,
                },
            ];
            let arches = 1 + round as usize % 3;
            let opts = Options {
                unknown_nr_action: if round % 4 == 1 {
                    SECCOMP_RET_KILL_PROCESS
                } else {
                    SECCOMP_RET_TRACE
                },
                unknown_arch_action: if round % 5 == 2 {
                    SECCOMP_RET_ALLOW
                } else {
                    SECCOMP_RET_TRACE
                },
                ..Options::default()
            };
            f(&pers[..arches], &opts);
        }
    }

    #[test]
    fn cost_floor_bounds_the_measured_cost_and_is_exact_for_search() {
        random_specs(|pers, opts| {
            let d = Decisions::new(pers, opts).unwrap();
            let w = ArchWeights::new(&d, pers, &[]);
            for s in [Kind::Search, Kind::Linear, Kind::Jset] {
                let Ok(p) = build(s, &d, &w) else {
                    assert_eq!(s, Kind::Jset);
                    continue;
                };
                let score = Score::measure(&p, &d, &w, pers, &[], opts);
                let floor = cost_floor(s, &d, &w).unwrap();
                assert!(
                    floor <= score.cost + 1e-9,
                    "{s:?}: {floor} > {}",
                    score.cost
                );
                let ja = p.insns().iter().any(|i| i.code == BPF_JMP | BPF_JA);
                if s == Kind::Search && !ja {
                    assert!(
                        (floor - score.cost).abs() < 1e-9,
                        "{floor} vs {}",
                        score.cost
                    );
                }
            }
            assert!(cost_floor(Kind::Tree, &d, &w).is_none());
        });
    }

    #[test]
    fn length_floor_bounds_the_comparison_trees() {
        let mut tight = 0;
        random_specs(|pers, opts| {
            let d = Decisions::new(pers, opts).unwrap();
            let w = ArchWeights::new(&d, pers, &[]);
            for s in [Kind::Tree, Kind::Search, Kind::Jset, Kind::Linear] {
                let Ok(p) = build(s, &d, &w) else {
                    assert_eq!(s, Kind::Jset);
                    continue;
                };
                let floor = length_floor(s, &d).unwrap();
                assert!(
                    floor <= p.insns().len(),
                    "{s:?}: {floor} > {}",
                    p.insns().len()
                );
                tight += usize::from(floor + 2 >= p.insns().len());
            }
            assert!(length_floor(Kind::Bits, &d).is_none());
        });
        // Not vacuous: often within two instructions.
        assert!(tight > 20, "{tight}");
    }

    #[test]
    fn skipping_by_cost_floor_changes_no_choice() {
        // Selection with every candidate built and scored, as before the
        // floors existed.
        fn exhaustive(pers: &[Personality], opts: &Options, weights: &SyscallWeights) -> Program {
            let mut d = Decisions::new(pers, opts).unwrap();
            if !weights.is_empty() {
                d.order_by(&ArchWeights::new(&d, pers, weights).arch_totals());
            }
            let w = ArchWeights::new(&d, pers, weights);
            let mut best: Option<(Score, Program)> = None;
            for s in Kind::ALL {
                let Ok(p) = build(s, &d, &w) else { continue };
                let score = Score::measure(&p, &d, &w, pers, weights, opts);
                if best
                    .as_ref()
                    .is_none_or(|(b, _)| score.better_than(b, opts.objective))
                {
                    best = Some((score, p));
                }
            }
            best.unwrap().1
        }
        let mut next = crate::testing::xorshift32(0x8bad_f00d);
        random_specs(|pers, opts| {
            // Uniform, and skewed weights (some zero, a few heavy).
            let skewed: Vec<Vec<f64>> = pers
                .iter()
                .map(|p| {
                    (0..p.nsyscalls)
                        .map(|_| {
                            let x = next();
                            [0.0, 0.5, 1.0, 1.0, 3.0, 40.0][(x % 6) as usize]
                        })
                        .collect()
                })
                .collect();
            let skewed: Vec<Option<&[f64]>> = skewed.iter().map(|v| Some(v.as_slice())).collect();
            for weights in [&[][..], &skewed[..]] {
                for objective in [Objective::Speed, Objective::Size] {
                    let opts = Options { objective, ..*opts };
                    let p = compile_weighted(pers, &opts, weights).unwrap();
                    let q = exhaustive(pers, &opts, weights);
                    assert_eq!(p.strategy(), q.strategy(), "{objective:?}");
                    assert_eq!(p.insns(), q.insns(), "{objective:?}");
                }
            }
        });
    }

    #[test]
    fn plain_runner_is_the_emulator() {
        random_specs(|pers, opts| {
            let d = Decisions::new(pers, opts).unwrap();
            let w = ArchWeights::new(&d, pers, &[]);
            for s in Kind::ALL {
                let Ok(p) = build(s, &d, &w) else { continue };
                let plain = Plain::new(p.insns());
                assert_eq!(plain.is_some(), s != Kind::Bits, "{s:?}");
                let Some(plain) = plain else { continue };
                for a in [AUDIT_ARCH_X86_64, AUDIT_ARCH_I386, 7] {
                    for nr in (0..400).chain([X32_SYSCALL_BIT, X32_SYSCALL_BIT + 3, u32::MAX]) {
                        assert_eq!(
                            plain.run_cached(a, nr),
                            run_cached(p.insns(), &SeccompData::new(a, nr)),
                            "{s:?} arch {a:#x} nr {nr}"
                        );
                    }
                }
            }
        });
    }
}
