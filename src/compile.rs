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
use crate::spec::{self, Options, Personality, Strategy};
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
    pub fn stats(&self, pers: &[Personality], opts: &Options) -> Stats {
        Stats::measure(&self.insns, self.strategy(), pers, opts)
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
    if !weights.is_empty() {
        d.order_by(&ArchWeights::new(&d, pers, weights).arch_totals());
    }
    let w = ArchWeights::new(&d, pers, weights);
    let p = select::select(&d, &w, pers, weights, opts, |k| build(k, &d, &w))?;
    // Only the program returned needs the proof; a failure is a bug in the
    // strategy, reported rather than worked around.
    crate::clone_guard::verify(&p.insns, &d).map_err(Error::Verify)?;
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
}
