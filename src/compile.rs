//! The pipeline: spec -> decision intervals (arch order included) ->
//! every strategy that can win (`select`) -> the chosen program,
//! proven against the intervals.

use crate::assemble::assemble;
use crate::bpf::*;
use crate::emulate::check;
use crate::error::{Error, Result};
use crate::peephole;
use crate::program::Graph;
use crate::select;
use crate::set::Decisions;
use crate::spec::{self, ActionMap, Options, Personality, Strategy, Table};
use crate::stats::Stats;
use crate::strategy::{self, Kind};
use crate::weights::{self, ArchWeights, SyscallWeights};

/// A compiled, verified program.
#[derive(Clone, Debug)]
pub struct Program {
    insns: Vec<Insn>,
    kind: Kind,
}

impl Program {
    /// The instructions, with the layout of `struct sock_filter`.
    pub fn insns(&self) -> &[Insn] {
        &self.insns
    }

    /// The strategy that built the program (never [`Strategy::Auto`]).
    pub fn strategy(&self) -> Strategy {
        self.kind.strategy()
    }

    pub(crate) fn kind(&self) -> Kind {
        self.kind
    }

    /// Executed-instruction and cacheability figures for `pers`, which must
    /// be the personalities the program was compiled from.
    pub fn stats(&self, pers: &[Personality]) -> Stats {
        Stats::measure(&self.insns, self.strategy(), pers)
    }

    /// [`Program::stats`] for a program compiled from action maps: the
    /// figures are over the numbers whose value is exactly
    /// `SECCOMP_RET_ALLOW`. With the CLONE_UNTRACED guard, pass the maps
    /// with clone and clone3 given a traced value, as for [`Program::stats`].
    pub fn stats_actions(&self, maps: &[ActionMap]) -> Stats {
        Stats::measure_actions(&self.insns, self.strategy(), maps)
    }
}

/// Compiles one bitmap per personality into the best verified program for
/// `opts.objective`, trying every strategy unless `opts.strategy` forces
/// one ([`Error::Strategy`] when it cannot express the set). Personalities
/// must not overlap (same arch with overlapping numbers: [`Error::Overlap`]).
///
/// Memory: besides the program, a thread keeps the buffers of the largest
/// decision table it has built, if 320 KiB or less (about 204 KiB for
/// three x86 personalities), for its next compiles; they are freed when the
/// thread exits. The same holds for every `compile_*` function.
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
    compile_bitmaps(pers, opts, weights, |_| {})
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
    compile_bitmaps(&plan.personalities(pers), opts, weights, |d| {
        plan.apply(d, opts)
    })
}

/// Compiles one action map per personality (see [`ActionMap`]) into the
/// best verified program for `opts.objective`: the program returns exactly
/// `actions[nr]` (data bits included) for every number of every map,
/// `opts.unknown_nr_action` for the other numbers of their arches and
/// `opts.unknown_arch_action` for the other arches. `opts.traced_action`
/// and `opts.allowed_action` are neither used nor checked. Errors as for [`compile`]; a
/// forced `bits` or `jset` strategy tests the blocks of 32 numbers worth
/// its test (for `bits`, three boundaries between just two values) and
/// compares the other blocks as `search` does, whatever their values; a map
/// with no such block is [`Error::Strategy`].
///
/// ```
/// use tracefilter::{compile_actions, ActionMap, Options, SeccompData, SyscallTable};
/// use libc::{SECCOMP_RET_ALLOW, SECCOMP_RET_KILL_PROCESS, SECCOMP_RET_TRACE};
///
/// // Stop at execve's entry with data 1 (the tracer also wants its exit),
/// // at openat's with data 0, and let everything else run.
/// let table = SyscallTable::by_name("x86_64").unwrap();
/// let mut actions = vec![SECCOMP_RET_ALLOW; table.size() as usize];
/// actions[table.number("execve").unwrap() as usize] = SECCOMP_RET_TRACE | 1;
/// actions[table.number("openat").unwrap() as usize] = SECCOMP_RET_TRACE;
/// let maps = [ActionMap { audit_arch: table.audit_arch, nr_flag: 0, actions: &actions }];
/// let opts = Options { unknown_arch_action: SECCOMP_RET_KILL_PROCESS, ..Options::default() };
/// let prog = compile_actions(&maps, &opts)?;
///
/// let run = |arch, name| prog.evaluate(&SeccompData::new(arch, table.number(name).unwrap())).action;
/// assert_eq!(run(table.audit_arch, "execve"), SECCOMP_RET_TRACE | 1);
/// assert_eq!(run(table.audit_arch, "openat"), SECCOMP_RET_TRACE);
/// assert_eq!(run(table.audit_arch, "getpid"), SECCOMP_RET_ALLOW);
/// assert_eq!(run(0x1234, "getpid"), SECCOMP_RET_KILL_PROCESS);
/// assert!(prog.stats_actions(&maps).all_cacheable);
/// # Ok::<(), tracefilter::Error>(())
/// ```
pub fn compile_actions(maps: &[ActionMap], opts: &Options) -> Result<Program> {
    compile_actions_weighted(maps, opts, &[])
}

/// [`compile_actions`] with per-syscall weights (see [`SyscallWeights`]):
/// those of the numbers whose value is `SECCOMP_RET_ALLOW` count.
pub fn compile_actions_weighted(
    maps: &[ActionMap],
    opts: &Options,
    weights: &SyscallWeights,
) -> Result<Program> {
    // traced_action is the guard's only; unused here, it is not checked.
    let opts = &Options {
        traced_action: crate::bpf::SECCOMP_RET_TRACE,
        ..map_options(opts)
    };
    compile_adjusted(maps, Decisions::from_maps(maps, opts)?, opts, weights)
}

/// [`compile_actions_weighted`] with the CLONE_UNTRACED guard
/// ([`compile_guarded`]): `opts.traced_action` (a `SECCOMP_RET_TRACE`) is
/// returned for every clone whose flags carry CLONE_UNTRACED and for every
/// clone3, where their value is ALLOW or LOG (a clone that would run on
/// without a stop); other values stay. Measure its figures with those
/// numbers given `traced_action` in `maps`.
pub fn compile_actions_guarded(
    maps: &[ActionMap],
    opts: &Options,
    weights: &SyscallWeights,
) -> Result<Program> {
    let opts = &map_options(opts);
    spec::validate_maps(maps)?;
    let plan = crate::clone_guard::Plan::for_maps(maps, opts)?;
    let marked = plan.maps(maps);
    let mut d = Decisions::from_maps(&marked, opts)?;
    plan.apply(&mut d, opts);
    compile_adjusted(&marked, d, opts, weights)
}

/// Action maps carry their own values: `allowed_action` stands for
/// `SECCOMP_RET_ALLOW`, the only value the figures count as allowed.
fn map_options(opts: &Options) -> Options {
    Options {
        allowed_action: crate::bpf::SECCOMP_RET_ALLOW,
        ..*opts
    }
}

fn compile_bitmaps(
    pers: &[Personality],
    opts: &Options,
    weights: &SyscallWeights,
    adjust: impl FnOnce(&mut Decisions),
) -> Result<Program> {
    let mut d = Decisions::new(pers, opts)?;
    adjust(&mut d);
    compile_adjusted(pers, d, opts, weights)
}

fn compile_adjusted<T: Table>(
    pers: &[T],
    mut d: Decisions,
    opts: &Options,
    weights: &SyscallWeights,
) -> Result<Program> {
    weights::validate(pers, weights)?;
    if !weights.is_empty() {
        d.order_by(&ArchWeights::new(&d, pers, weights).arch_totals());
    }
    let w = ArchWeights::new(&d, pers, weights);
    let p = select::select(&d, &w, pers, weights, opts, |k| build(k, &d, &w))?;
    // Only the program returned needs the proof; a failure is a bug in the
    // strategy, reported rather than worked around. `build` checked it.
    crate::clone_guard::prove(&p.insns, &d).map_err(Error::Verify)?;
    Ok(p)
}

/// The program of strategy `kind`: built, laid out, optimised and checked.
pub(crate) fn build(kind: Kind, d: &Decisions, w: &ArchWeights) -> Result<Program> {
    let mut g = Graph::with_guards(&d.guards);
    let root = strategy::build(kind, d, w, &mut g)?;
    let insns = assemble(&g, root)?;
    let insns = peephole::optimize(insns);
    // The emulator that scores candidates runs checked programs only.
    check(&insns).map_err(|e| Error::Verify(format!("kernel would reject it: {e}")))?;
    Ok(Program { insns, kind })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::*;
    use crate::emulate::{run, SeccompData};
    use crate::spec::Objective;

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
    fn action_maps_return_every_value_exactly_under_every_strategy() {
        let t1 = SECCOMP_RET_TRACE | 1;
        let errno = SECCOMP_RET_ERRNO | 38;
        // Runs, scattered values, and blocks of two values with many
        // boundaries (for bits and jset).
        let x64: Vec<u32> = (0..462u32)
            .map(|i| match i {
                0..=31 if i % 3 == 0 => t1,
                64..=95 if i % 2 == 0 => SECCOMP_RET_TRACE,
                100..=120 => errno,
                57 | 59 | 322 => t1,
                _ => SECCOMP_RET_ALLOW,
            })
            .collect();
        let x32: Vec<u32> = (0..548u32)
            .map(|i| if i % 7 == 0 { t1 } else { SECCOMP_RET_ALLOW })
            .collect();
        let maps = [
            ActionMap {
                audit_arch: AUDIT_ARCH_X86_64,
                nr_flag: 0,
                actions: &x64,
            },
            ActionMap {
                audit_arch: AUDIT_ARCH_X86_64,
                nr_flag: X32_SYSCALL_BIT,
                actions: &x32,
            },
        ];
        for strategy in Strategy::ALL.into_iter().chain([Strategy::Auto]) {
            for objective in [Objective::Speed, Objective::Size] {
                let opts = Options {
                    strategy,
                    objective,
                    unknown_nr_action: SECCOMP_RET_KILL_PROCESS,
                    unknown_arch_action: SECCOMP_RET_KILL_THREAD,
                    ..Options::default()
                };
                let p = compile_actions(&maps, &opts).unwrap();
                let at = |arch, nr| run(p.insns(), &SeccompData::new(arch, nr)).action;
                for (i, &a) in x64.iter().enumerate() {
                    assert_eq!(at(AUDIT_ARCH_X86_64, i as u32), a, "{strategy:?} {i}");
                }
                for (i, &a) in x32.iter().enumerate() {
                    assert_eq!(at(AUDIT_ARCH_X86_64, X32_SYSCALL_BIT | i as u32), a);
                }
                assert_eq!(at(AUDIT_ARCH_X86_64, 462), SECCOMP_RET_KILL_PROCESS);
                assert_eq!(at(AUDIT_ARCH_X86_64, u32::MAX), SECCOMP_RET_KILL_PROCESS);
                assert_eq!(at(AUDIT_ARCH_I386, 3), SECCOMP_RET_KILL_THREAD);
                let s = p.stats_actions(&maps);
                let allowed = x64.iter().filter(|&&a| a == SECCOMP_RET_ALLOW).count();
                assert_eq!(s.personalities[0].allowed as usize, allowed);
                assert_eq!(s.all_cacheable, p.strategy() != Strategy::Bits);
            }
        }
    }

    #[test]
    fn a_bitmap_as_an_action_map_is_the_same_program() {
        let mut bits = vec![0u8; 58];
        for nr in [0, 1, 2, 59, 60, 257, 322, 400] {
            bits[nr / 8] |= 1 << (nr % 8);
        }
        let p = Personality {
            audit_arch: AUDIT_ARCH_X86_64,
            nr_flag: 0,
            traced: &bits,
            nsyscalls: 462,
        };
        let actions: Vec<u32> = (0..462)
            .map(|i| {
                if p.is_traced(i) {
                    SECCOMP_RET_TRACE
                } else {
                    SECCOMP_RET_ALLOW
                }
            })
            .collect();
        let m = ActionMap {
            audit_arch: AUDIT_ARCH_X86_64,
            nr_flag: 0,
            actions: &actions,
        };
        for objective in [Objective::Speed, Objective::Size] {
            let opts = Options {
                objective,
                ..Options::default()
            };
            let a = compile(&[p], &opts).unwrap();
            let b = compile_actions(&[m], &opts).unwrap();
            assert_eq!(a.insns(), b.insns());
            assert_eq!(a.stats(&[p]), b.stats_actions(&[m]));
        }
    }

    #[test]
    fn action_maps_check_only_the_options_they_use() {
        let actions = [SECCOMP_RET_ALLOW, SECCOMP_RET_TRACE | 1];
        let m = ActionMap {
            audit_arch: AUDIT_ARCH_X86_64,
            nr_flag: 0,
            actions: &actions,
        };
        let opts = Options {
            traced_action: 0x0001_0000,
            allowed_action: 0x0002_0000,
            ..Options::default()
        };
        assert!(compile_actions(&[m], &opts).is_ok());
        // The guard stops with traced_action: there it must be a TRACE.
        assert!(matches!(
            compile_actions_guarded(&[m], &opts, &[]),
            Err(Error::Invalid(_))
        ));
        let opts = Options {
            unknown_nr_action: 0x0001_0000,
            ..Options::default()
        };
        assert!(matches!(
            compile_actions(&[m], &opts),
            Err(Error::Invalid(_))
        ));
    }

    #[test]
    fn guarded_action_maps_stop_only_clones_that_would_run_on() {
        // x86_64: clone 56, clone3 435; i386: clone 120, clone3 435.
        let mut x64 = vec![SECCOMP_RET_ALLOW; 462];
        x64[59] = SECCOMP_RET_TRACE | 1;
        let mut i386 = vec![SECCOMP_RET_LOG; 451];
        i386[120] = SECCOMP_RET_TRACE | 1;
        i386[435] = SECCOMP_RET_ERRNO | 38;
        let maps = [
            ActionMap {
                audit_arch: AUDIT_ARCH_X86_64,
                nr_flag: 0,
                actions: &x64,
            },
            ActionMap {
                audit_arch: AUDIT_ARCH_I386,
                nr_flag: 0,
                actions: &i386,
            },
        ];
        let p = compile_actions_guarded(&maps, &Options::default(), &[]).unwrap();
        let at = |arch, nr, flags: u64| {
            let mut d = SeccompData::new(arch, nr);
            d.args[0] = flags;
            run(p.insns(), &d).action
        };
        const UNTRACED: u64 = 0x0080_0000;
        assert_eq!(at(AUDIT_ARCH_X86_64, 56, 0), SECCOMP_RET_ALLOW);
        assert_eq!(at(AUDIT_ARCH_X86_64, 56, UNTRACED), SECCOMP_RET_TRACE);
        assert_eq!(at(AUDIT_ARCH_X86_64, 435, 0), SECCOMP_RET_TRACE);
        assert_eq!(at(AUDIT_ARCH_X86_64, 59, 0), SECCOMP_RET_TRACE | 1);
        assert_eq!(at(AUDIT_ARCH_I386, 120, UNTRACED), SECCOMP_RET_TRACE | 1);
        assert_eq!(at(AUDIT_ARCH_I386, 435, 0), SECCOMP_RET_ERRNO | 38);
        assert_eq!(at(AUDIT_ARCH_I386, 3, UNTRACED), SECCOMP_RET_LOG);
    }

    #[test]
    fn action_maps_refuse_unknown_actions_and_accept_data_bits() {
        let bad = [0x0001_0000u32];
        let m = |actions| ActionMap {
            audit_arch: 1,
            nr_flag: 0,
            actions,
        };
        assert!(matches!(
            compile_actions(&[m(&bad)], &Options::default()),
            Err(Error::Invalid(_))
        ));
        // ALLOW with data runs as ALLOW but is not what the cache proves.
        let odd = [SECCOMP_RET_ALLOW | 5, SECCOMP_RET_ALLOW];
        let p = compile_actions(&[m(&odd)], &Options::default()).unwrap();
        assert_eq!(run(p.insns(), &SeccompData::new(1, 0)).action, odd[0]);
        assert_eq!(p.stats_actions(&[m(&odd)]).personalities[0].allowed, 1);
    }
}
