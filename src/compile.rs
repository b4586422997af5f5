//! The pipeline: spec -> decision intervals -> strategy -> labelled program
//! -> laid-out instructions -> verified program.

use crate::assemble::assemble;
use crate::bpf::*;
use crate::emulate::{check, run_cached, Plain, SeccompData};
use crate::error::{Error, Result};
use crate::peephole;
use crate::program::Graph;
use crate::set::Decisions;
use crate::spec::{self, Objective, Options, Personality, Strategy};
use crate::stats::Stats;
use crate::strategy;
use crate::weights::{self, ArchWeights, SyscallWeights};

/// A compiled, verified program.
#[derive(Clone, Debug)]
pub struct Program {
    insns: Vec<Insn>,
    strategy: Strategy,
}

impl Program {
    /// The instructions, with the layout of `struct sock_filter`.
    pub fn insns(&self) -> &[Insn] {
        &self.insns
    }

    /// The strategy that built the program (never [`Strategy::Auto`]).
    pub fn strategy(&self) -> Strategy {
        self.strategy
    }

    /// Executed-instruction and cacheability figures for `pers`, which must
    /// be the personalities the program was compiled from.
    pub fn stats(&self, pers: &[Personality], opts: &Options) -> Stats {
        Stats::measure(&self.insns, self.strategy, pers, opts)
    }
}

/// Compiles one bitmap per personality into the best verified program for
/// `opts.objective`, trying every strategy unless `opts.strategy` forces
/// one ([`Error::Strategy`] when it cannot express the set). Personalities
/// must not overlap (same arch with overlapping numbers: [`Error::Overlap`]).
pub fn compile(pers: &[Personality], opts: &Options) -> Result<Program> {
    compile_weighted(pers, opts, &[])
}

/// [`compile`] with per-syscall weights for the expected cost (see
/// [`SyscallWeights`]); an empty list is uniform.
pub fn compile_weighted(
    pers: &[Personality],
    opts: &Options,
    weights: &SyscallWeights,
) -> Result<Program> {
    compile_adjusted(pers, opts, weights, |_| {})
}

/// [`compile_weighted`] with the CLONE_UNTRACED guard: the program also
/// returns `traced_action` (which must be `SECCOMP_RET_TRACE`) for every
/// clone whose flags carry CLONE_UNTRACED and for every clone3, so that the
/// tracer can clear the flag at that stop
/// ([`tracer::untraced_clear`](crate::tracer::untraced_clear)); every other
/// syscall keeps its action and its cacheability. Measure its figures
/// ([`Program::stats`]) with clone and clone3 marked traced in `pers`: they
/// no longer run at full speed.
pub fn compile_guarded(
    pers: &[Personality],
    opts: &Options,
    weights: &SyscallWeights,
) -> Result<Program> {
    spec::validate(pers)?;
    let plan = crate::clone_guard::Plan::new(pers, opts)?;
    compile_adjusted(&plan.personalities(pers), opts, weights, |d| {
        plan.apply(d, opts)
    })
}

fn compile_adjusted(
    pers: &[Personality],
    opts: &Options,
    weights: &SyscallWeights,
    adjust: impl FnOnce(&mut Decisions),
) -> Result<Program> {
    let mut d = Decisions::new(pers, opts)?;
    adjust(&mut d);
    weights::validate(pers, weights)?;
    let mut w = ArchWeights::new(&d, pers, weights);
    if !weights.is_empty() {
        order_by_weight(&mut d, &mut w);
    }
    let mut candidates: Vec<Strategy> = match opts.strategy {
        Strategy::Auto => Strategy::ALL.to_vec(),
        forced => vec![forced],
    };
    // Under SIZE the usually shortest go first, so that the length of the
    // shortest so far rules out the others before they are built (bits
    // first: on large sets it is far shorter than the chain). Ties are
    // still broken in the order of `Strategy::ALL`.
    let rank = |s: Strategy| Strategy::ALL.iter().position(|&x| x == s);
    if opts.objective == Objective::Size {
        candidates.sort_by_key(|&s| match s {
            Strategy::Bits => 0,
            Strategy::Linear => 1,
            _ => 2,
        });
    }
    // Programs built, with their score once measured.
    let mut built: Vec<(Program, Option<Score>)> = Vec::new();
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
        // Under SPEED the tree (built first) sets the bar: a strategy whose
        // cost cannot come within a tie of it loses whatever it builds.
        if opts.objective == Objective::Speed {
            if let Some((_, Some(bar))) = built.first() {
                if bar.cacheable && cost_floor(s, &d, &w).is_some_and(|f| f > bar.cost + TIE) {
                    continue;
                }
            }
        }
        // Under SIZE, a strategy that cannot be as short loses.
        if opts.objective == Objective::Size {
            let shortest = built.iter().map(|(p, _)| p.insns.len()).min();
            if shortest.is_some_and(|m| length_floor(s, &d).is_some_and(|f| f > m)) {
                continue;
            }
        }
        match build(s, &d, &w) {
            Ok(p) => {
                let score = (opts.objective == Objective::Speed && s == Strategy::Tree)
                    .then(|| Score::measure(&p, &d, &w, pers, weights, opts));
                built.push((p, score));
            }
            Err(e @ Error::Verify(_)) => return Err(e),
            Err(e) => errors.push((rank(s), e)),
        }
    }
    built.sort_by_key(|(p, _)| rank(p.strategy));
    errors.sort_by_key(|(r, _)| *r);
    let mut errors: Vec<Error> = errors.into_iter().map(|(_, e)| e).collect();
    // Under SIZE a longer program loses whatever it executes: the emulator
    // runs only for the lengths that tie.
    if opts.objective == Objective::Size {
        if let Some(min) = built.iter().map(|(p, _)| p.insns.len()).min() {
            built.retain(|(p, _)| p.insns.len() == min);
        }
    }
    // A lone candidate needs no score.
    let mut best: Option<Program> = None;
    if built.len() == 1 {
        best = built.pop().map(|(p, _)| p);
    }
    let mut best_score: Option<Score> = None;
    for (p, score) in built {
        let score = score.unwrap_or_else(|| Score::measure(&p, &d, &w, pers, weights, opts));
        if best_score
            .as_ref()
            .is_none_or(|b| score.better_than(b, opts.objective))
        {
            best_score = Some(score);
            best = Some(p);
        }
    }
    if let Some(p) = best {
        // Only the program returned needs the proof; a failure is a bug in
        // the strategy, reported rather than worked around.
        crate::clone_guard::verify(&p.insns, &d).map_err(Error::Verify)?;
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

/// Costs closer than this are equal, and length decides.
const TIE: f64 = 1e-9;

/// A lower bound on the cost [`Score::measure`] would give the program of
/// `s`, for the strategies whose comparisons follow from the intervals
/// alone (see [`strategy::comparisons`]): the arch dispatch is the one
/// [`strategy::dispatch`] builds, layout only adds `ja`s and the peephole
/// cannot shorten these paths. `None` for the others.
fn cost_floor(s: Strategy, d: &Decisions, w: &ArchWeights) -> Option<f64> {
    let tests: Vec<Vec<u32>> = d
        .archs
        .iter()
        .map(|a| strategy::comparisons(s, a))
        .collect::<Option<_>>()?;
    // An arch whose body is the very return a number of no listed arch
    // gets has no `jeq`: the graph merges it away, and so, from the last
    // arch back, every such arch until one differs.
    let mut jeq = vec![true; d.archs.len()];
    let mut fall = Some(d.other_arch);
    for (i, a) in d.archs.iter().enumerate().rev() {
        match a.intervals.as_slice() {
            [one] if Some(one.action) == fall => jeq[i] = false,
            _ => fall = None,
        }
    }
    if jeq.iter().all(|&j| !j) {
        // The whole program is one return.
        return Some(1.0);
    }
    let (mut num, mut den) = (0.0f64, 0.0f64);
    let mut arch_tests = 0;
    for (ai, a) in d.archs.iter().enumerate() {
        arch_tests += u32::from(jeq[ai]);
        // `ld arch`, the arch tests, `ld nr` unless the body is a return,
        // the comparisons, `ret`.
        let fixed = 2 + arch_tests + u32::from(a.intervals.len() > 1);
        for (k, &t) in tests[ai].iter().enumerate() {
            let wt = w.allowed[ai][k];
            if wt > 0.0 {
                num += wt * f64::from(fixed + t);
                den += wt;
            }
        }
    }
    Some(if den > 0.0 { num / den } else { 0.0 })
}

/// A lower bound on the length of the program of `s`, for the strategies
/// that search by comparisons (`Tree`, `Search`, and `Jset` over its
/// pieces). In an arch with n intervals (pieces) the search has n - 1
/// comparisons, one a boundary, less one for each `jeq` that takes two
/// boundaries around a single number between two runs of one action.
/// Within an arch every comparison has its own constant; arches may share
/// a subtree, but a shared comparison has a constant that is a boundary of
/// each arch sharing it. Every comparison is reached by numbers going
/// either way, so the peephole decides none of them. Then the `jset`s of
/// the diagrams (at least one, shared or not), the arch dispatch, one
/// `ld nr` and one return per action. The chain of `Linear` counts one
/// comparison a run, by the constant it tests first. `None` for the others.
fn length_floor(s: Strategy, d: &Decisions) -> Option<usize> {
    if !matches!(
        s,
        Strategy::Tree | Strategy::Search | Strategy::Jset | Strategy::Linear
    ) {
        return None;
    }
    let mut actions: Vec<u32> = vec![d.other_arch];
    let (mut comparisons, mut other_tests) = (0, 0);
    let mut boundaries: Vec<u32> = Vec::new();
    let mut fall = Some(d.other_arch);
    let mut jeqs = 0;
    for a in d.archs.iter().rev() {
        let ivs = &a.intervals;
        for iv in ivs {
            if !actions.contains(&iv.action) {
                actions.push(iv.action);
            }
        }
        match ivs.as_slice() {
            [one] if Some(one.action) == fall => continue,
            [_] => {}
            _ => {
                let (n, constants, other) = strategy::search_shape(s, a)?;
                comparisons += n;
                boundaries.extend(constants);
                other_tests = other_tests.max(other);
            }
        }
        fall = None;
        jeqs += 1;
    }
    if jeqs == 0 {
        return Some(1);
    }
    // At most one comparison per repeat of a boundary value is shared.
    let total = boundaries.len();
    boundaries.sort_unstable();
    boundaries.dedup();
    let shared = total - boundaries.len();
    let ld_nr = usize::from(total > 0);
    // `ld arch`, the arch tests, `ld nr`, the comparisons, the other
    // tests, the returns.
    Some((1 + jeqs + ld_nr + comparisons + other_tests + actions.len()).saturating_sub(shared))
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
        let run = runner(prog);
        let (mut num, mut den) = (0.0f64, 0.0f64);
        let mut cacheable = opts.allowed_action == SECCOMP_RET_ALLOW;
        for (ai, a) in d.archs.iter().enumerate() {
            for (k, iv) in a.intervals.iter().enumerate() {
                let wt = w.allowed[ai][k];
                if wt > 0.0 || w.native[ai][k] {
                    let (r, cached) = run(a.arch, iv.lo);
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
        let run = runner(prog);
        let (mut num, mut den) = (0.0f64, 0.0f64);
        let mut cacheable = opts.allowed_action == SECCOMP_RET_ALLOW;
        for (pi, p) in pers.iter().enumerate() {
            for i in (0..p.nsyscalls).filter(|&i| !p.is_traced(i)) {
                let nr = p.nr_flag | i;
                let wt = weights::syscall_weight(weights, pers, pi, i);
                let (r, cached) = run(p.audit_arch, nr);
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
fn runner(prog: &[Insn]) -> impl Fn(u32, u32) -> (crate::emulate::Run, bool) + '_ {
    let plain = Plain::new(prog);
    move |arch, nr| match plain {
        Some(p) => p.run_cached(arch, nr),
        None => run_cached(prog, &SeccompData::new(arch, nr)),
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
    let mut g = Graph::with_guards(&d.guards);
    let root = strategy::build(s, d, w, &mut g)?;
    let insns = assemble(&g, root)?;
    let insns = peephole::optimize(insns);
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

    /// Random specs over one to three arches, some with a third action for
    /// unknown numbers and some with a uniform arch.
    fn random_specs(mut f: impl FnMut(&[Personality], &Options)) {
        let mut x = 0x9e37_79b9u32;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x
        };
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
            for s in [Strategy::Search, Strategy::Linear, Strategy::Jset] {
                let Ok(p) = build(s, &d, &w) else {
                    assert_eq!(s, Strategy::Jset);
                    continue;
                };
                let score = Score::measure(&p, &d, &w, pers, &[], opts);
                let floor = cost_floor(s, &d, &w).unwrap();
                assert!(
                    floor <= score.cost + 1e-9,
                    "{s:?}: {floor} > {}",
                    score.cost
                );
                let ja = p.insns.iter().any(|i| i.code == BPF_JMP | BPF_JA);
                if s == Strategy::Search && !ja {
                    assert!(
                        (floor - score.cost).abs() < 1e-9,
                        "{floor} vs {}",
                        score.cost
                    );
                }
            }
            assert!(cost_floor(Strategy::Tree, &d, &w).is_none());
        });
    }

    #[test]
    fn length_floor_bounds_the_comparison_trees() {
        let mut tight = 0;
        random_specs(|pers, opts| {
            let d = Decisions::new(pers, opts).unwrap();
            let w = ArchWeights::new(&d, pers, &[]);
            for s in [
                Strategy::Tree,
                Strategy::Search,
                Strategy::Jset,
                Strategy::Linear,
            ] {
                let Ok(p) = build(s, &d, &w) else {
                    assert_eq!(s, Strategy::Jset);
                    continue;
                };
                let floor = length_floor(s, &d).unwrap();
                assert!(floor <= p.insns.len(), "{s:?}: {floor} > {}", p.insns.len());
                tight += usize::from(floor + 2 >= p.insns.len());
            }
            assert!(length_floor(Strategy::Bits, &d).is_none());
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
            let mut w = ArchWeights::new(&d, pers, weights);
            if !weights.is_empty() {
                order_by_weight(&mut d, &mut w);
            }
            let mut best: Option<(Score, Program)> = None;
            for s in Strategy::ALL {
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
        let mut x = 0x8bad_f00du32;
        random_specs(|pers, opts| {
            // Uniform, and skewed weights (some zero, a few heavy).
            let skewed: Vec<Vec<f64>> = pers
                .iter()
                .map(|p| {
                    (0..p.nsyscalls)
                        .map(|_| {
                            x ^= x << 13;
                            x ^= x >> 17;
                            x ^= x << 5;
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
                    assert_eq!(p.strategy, q.strategy, "{objective:?}");
                    assert_eq!(p.insns, q.insns, "{objective:?}");
                }
            }
        });
    }

    #[test]
    fn plain_runner_is_the_emulator() {
        random_specs(|pers, opts| {
            let d = Decisions::new(pers, opts).unwrap();
            let w = ArchWeights::new(&d, pers, &[]);
            for s in Strategy::ALL {
                let Ok(p) = build(s, &d, &w) else { continue };
                let plain = Plain::new(&p.insns);
                assert_eq!(plain.is_some(), s != Strategy::Bits, "{s:?}");
                let Some(plain) = plain else { continue };
                for a in [AUDIT_ARCH_X86_64, AUDIT_ARCH_I386, 7] {
                    for nr in (0..400).chain([X32_SYSCALL_BIT, X32_SYSCALL_BIT + 3, u32::MAX]) {
                        assert_eq!(
                            plain.run_cached(a, nr),
                            run_cached(&p.insns, &SeccompData::new(a, nr)),
                            "{s:?} arch {a:#x} nr {nr}"
                        );
                    }
                }
            }
        });
    }
}
