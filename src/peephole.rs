//! Peephole stage after layout, run until nothing changes:
//!
//! * a jump whose outcome the bounds on A already decide (a search tree's
//!   equality test where the range pins the number, a test repeated on a
//!   path) becomes a `ja` to the outcome;
//! * a conditional jump onto a `ja` takes the `ja`'s target when in range,
//!   `ja` chains collapse, a `ja` to a `ret` becomes that `ret`, a `ja 0`
//!   goes;
//! * a jump to a `ret #k` goes to the last copy of `ret #k` within reach,
//!   so that nearer copies fall dead, and dead code goes.
//!
//! Every rewrite maps inputs to the same return, so the program stays the
//! one the strategy built. The stage is pure: it proves nothing and fails
//! nowhere, and behaves the same in every build profile. The compiler
//! proves the program it returns, which covers every pass at once; the
//! tests prove the program after every single pass.

use crate::bpf::*;

/// What A is known to hold: the field loaded last and its range, or nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Known {
    Nothing,
    /// `Range(offset, lo, hi)`: A is the word at `offset`, within `lo..=hi`.
    Range(u32, u32, u32),
    /// Not reached (yet) by any path.
    Unreached,
}

impl Known {
    fn join(self, other: Known) -> Known {
        match (self, other) {
            (Known::Unreached, x) | (x, Known::Unreached) => x,
            (Known::Range(f, a, b), Known::Range(g, c, d)) if f == g => {
                Known::Range(f, a.min(c), b.max(d))
            }
            _ => Known::Nothing,
        }
    }
}

/// Runs the passes until nothing changes.
pub fn optimize(mut prog: Vec<Insn>) -> Vec<Insn> {
    passes(&mut prog, |_| Ok(())).unwrap_or_else(|never: std::convert::Infallible| match never {});
    prog
}

/// A pass rewrites the program in place and says whether it changed it.
/// In place, and in ascending order: every pass reads an instruction before
/// it writes it and reads only later ones besides, which it has not
/// written yet. A round that changes nothing is the common case (a search
/// tree comes out of layout with nothing to do), so it allocates no copy of
/// the program and compares none. (`compact`, which also shortens the
/// program, runs last.)
type Pass = fn(&mut [Insn], &mut Scratch) -> bool;

/// Buffers the passes reuse from round to round.
#[derive(Default)]
struct Scratch {
    known: Vec<Known>,
    positions: Vec<usize>,
}

/// Runs the passes, handing every intermediate program to `after_pass`
/// (the tests prove each one); stops at its first error.
fn passes<E>(
    prog: &mut Vec<Insn>,
    mut after_pass: impl FnMut(&[Insn]) -> Result<(), E>,
) -> Result<(), E> {
    let mut scratch = Scratch::default();
    // Each round either shrinks the program or shortens a path, so this
    // ends; the bound is a safety net.
    for _ in 0..64 {
        let mut changed = false;
        for pass in [decide, thread, merge_returns] as [Pass; 3] {
            changed |= pass(prog, &mut scratch);
            after_pass(prog)?;
        }
        changed |= compact(prog, &mut scratch);
        after_pass(prog)?;
        if !changed {
            break;
        }
    }
    Ok(())
}

/// `prog[pc] = insn`, telling whether that changed it.
fn rewrite(prog: &mut [Insn], pc: usize, insn: Insn) -> bool {
    let changed = prog[pc] != insn;
    prog[pc] = insn;
    changed
}

/// Replaces conditional jumps whose outcome is fixed by the range of A.
fn decide(prog: &mut [Insn], scratch: &mut Scratch) -> bool {
    let known = &mut scratch.known;
    known.clear();
    known.resize(prog.len(), Known::Unreached);
    known[0] = Known::Nothing;
    let mut changed = false;
    for pc in 0..prog.len() {
        let i = prog[pc];
        let k_in = known[pc];
        if k_in == Known::Unreached {
            continue;
        }
        let mut flow = |to: usize, k: Known| known[to] = known[to].join(k);
        match class(i.code) {
            BPF_RET => {}
            BPF_LD if i.code == BPF_LD | BPF_W | BPF_ABS => {
                flow(pc + 1, Known::Range(i.k, 0, u32::MAX))
            }
            BPF_JMP if i.is_ja() => flow(pc + 1 + i.k as usize, k_in),
            BPF_JMP if src(i.code) == BPF_K && op(i.code) != BPF_JSET => {
                let (t, f) = (pc + 1 + i.jt as usize, pc + 1 + i.jf as usize);
                let Known::Range(field, lo, hi) = k_in else {
                    flow(t, k_in);
                    flow(f, k_in);
                    continue;
                };
                // The taken and untaken ranges of A, when not empty.
                let (yes, no) = match op(i.code) {
                    BPF_JEQ if i.k < lo || i.k > hi => (None, Some((lo, hi))),
                    BPF_JEQ if lo == hi => (Some((lo, hi)), None),
                    BPF_JEQ => (Some((i.k, i.k)), Some((lo, hi))),
                    _ => split_ordered(i.code, i.k, lo, hi),
                };
                match (yes, no) {
                    (Some(y), Some(n)) => {
                        flow(t, Known::Range(field, y.0, y.1));
                        flow(f, Known::Range(field, n.0, n.1));
                    }
                    (Some(_), None) | (None, Some(_)) => {
                        let to = if yes.is_some() { t } else { f };
                        flow(to, k_in);
                        let ja = Insn::stmt(BPF_JMP | BPF_JA, (to - pc - 1) as u32);
                        changed |= rewrite(prog, pc, ja);
                    }
                    (None, None) => unreachable!("a range is never empty"),
                }
            }
            BPF_JMP => {
                for to in i.targets(pc) {
                    flow(to, k_in);
                }
            }
            // Anything else changes A in ways not followed here.
            _ => flow(pc + 1, Known::Nothing),
        }
    }
    changed
}

/// Where control really goes from `t`: through `ja` chains.
fn settle(prog: &[Insn], mut t: usize) -> usize {
    while prog[t].is_ja() {
        t = t + 1 + prog[t].k as usize;
    }
    t
}

/// Jumps onto `ja` take the final target (in range), `ja` to `ret` becomes
/// the `ret`.
fn thread(prog: &mut [Insn], _: &mut Scratch) -> bool {
    let mut changed = false;
    for pc in 0..prog.len() {
        let i = prog[pc];
        if i.is_cond() {
            let mut to = i;
            for (off, slot) in [(i.jt, &mut to.jt), (i.jf, &mut to.jf)] {
                let t = settle(prog, pc + 1 + off as usize);
                let dist = t - pc - 1;
                if dist <= 255 {
                    *slot = dist as u8;
                }
            }
            changed |= rewrite(prog, pc, to);
        } else if i.is_ja() {
            let t = settle(prog, pc);
            let to = if prog[t].is_ret() {
                prog[t]
            } else {
                Insn::stmt(BPF_JMP | BPF_JA, (t - pc - 1) as u32)
            };
            changed |= rewrite(prog, pc, to);
        }
    }
    changed
}

/// A jump to `ret #k` goes to the last identical `ret` within reach.
fn merge_returns(prog: &mut [Insn], scratch: &mut Scratch) -> bool {
    // For each pc, the last position >= pc holding the same return, looked
    // up by scanning: programs are at most 4096 long and returns few.
    let rets = &mut scratch.positions;
    rets.clear();
    rets.extend((0..prog.len()).filter(|&p| prog[p].is_ret()));
    let last_same = |prog: &[Insn], t: usize, max: usize| -> usize {
        rets.iter()
            .rev()
            .copied()
            .find(|&r| r >= t && r <= max && prog[r] == prog[t])
            .unwrap_or(t)
    };
    let mut changed = false;
    for pc in 0..prog.len() {
        let i = prog[pc];
        if !i.is_cond() {
            continue;
        }
        let mut to = i;
        for (off, slot) in [(i.jt, &mut to.jt), (i.jf, &mut to.jf)] {
            let t = pc + 1 + off as usize;
            if prog[t].is_ret() {
                let r = last_same(prog, t, pc + 1 + 255);
                *slot = (r - pc - 1) as u8;
            }
        }
        changed |= rewrite(prog, pc, to);
    }
    changed
}

/// Drops unreachable instructions and `ja 0`, re-encoding the offsets.
fn compact(prog: &mut Vec<Insn>, scratch: &mut Scratch) -> bool {
    // new_at[p]: new index of the first kept instruction at or after p;
    // first a mark of what is live.
    let new_at = &mut scratch.positions;
    new_at.clear();
    new_at.resize(prog.len() + 1, 0);
    new_at[0] = 1;
    for pc in 0..prog.len() {
        if new_at[pc] != 0 {
            for t in prog[pc].targets(pc) {
                new_at[t] = 1;
            }
        }
    }
    let keep = |pc: usize, live: usize| live != 0 && !(prog[pc].is_ja() && prog[pc].k == 0);
    if (0..prog.len()).all(|pc| keep(pc, new_at[pc])) {
        return false;
    }
    let mut n = 0;
    for (pc, at) in new_at[..prog.len()].iter_mut().enumerate() {
        let kept = keep(pc, *at);
        *at = n;
        n += usize::from(kept);
    }
    new_at[prog.len()] = n;
    // Kept instructions move down, never up: each is read before its new
    // place is written.
    for pc in 0..prog.len() {
        let me = new_at[pc];
        if new_at[pc + 1] == me {
            continue;
        }
        let mut i = prog[pc];
        if i.is_cond() {
            i.jt = (new_at[pc + 1 + i.jt as usize] - me - 1) as u8;
            i.jf = (new_at[pc + 1 + i.jf as usize] - me - 1) as u8;
        } else if i.is_ja() {
            i.k = (new_at[pc + 1 + i.k as usize] - me - 1) as u32;
        }
        prog[me] = i;
    }
    prog.truncate(n);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assemble::assemble;
    use crate::emulate::{run, SeccompData};
    use crate::program::Graph;
    use crate::set::Decisions;
    use crate::spec::{Options, Personality};
    use crate::strategy;
    use crate::weights::ArchWeights;

    /// Every strategy on a spread of bitmaps: each pass keeps the proof, the
    /// program never grows and no number executes more instructions.
    #[test]
    fn every_pass_keeps_the_program_proved_and_no_slower() {
        let mut next = crate::testing::xorshift32(0x2545_f491);
        for round in 0..40 {
            let n: u32 = 64 + round * 37;
            let bits: Vec<u8> = (0..n.div_ceil(8))
                .map(|_| {
                    let x = next();
                    match round % 4 {
                        0 => (x & 0x81) as u8,
                        1 => x as u8,
                        2 => !(x & 0x18) as u8,
                        _ => (x & x >> 8 & 0xff) as u8,
                    }
                })
                .collect();
            let pers = [
                Personality {
                    audit_arch: 0xC000_003E,
                    nr_flag: 0,
                    traced: &bits,
                    nsyscalls: n,
                },
                Personality {
                    audit_arch: 0x4000_0003,
                    nr_flag: 0,
                    traced: &bits,
                    nsyscalls: n / 2,
                },
            ];
            let d = Decisions::new(&pers, &Options::default()).unwrap();
            let w = ArchWeights::new(&d, &pers, &[]);
            for s in strategy::Kind::ALL {
                let mut g = Graph::new();
                let Ok(root) = strategy::build(s, &d, &w, &mut g) else {
                    continue;
                };
                let before = assemble(&g, root).unwrap();
                let mut after = before.clone();
                passes(&mut after, |p| crate::clone_guard::verify(p, &d)).unwrap_or_else(|e| {
                    panic!("round {round} {s:?}: a pass broke the program: {e}")
                });
                assert_eq!(after, optimize(before.clone()));
                assert!(after.len() <= before.len());
                for arch in [0xC000_003E, 0x4000_0003, 7] {
                    for nr in 0..n + 40 {
                        let (a, b) = (
                            run(&before, &SeccompData::new(arch, nr)),
                            run(&after, &SeccompData::new(arch, nr)),
                        );
                        assert_eq!(a.action, b.action);
                        assert!(b.executed <= a.executed, "round {round} {s:?} nr {nr}");
                    }
                }
            }
        }
    }

    #[test]
    fn a_decided_equality_test_goes() {
        // Below the jgt and the jge, A is exactly 5: the jeq is decided.
        let prog = vec![
            Insn::stmt(BPF_LD | BPF_W | BPF_ABS, SECCOMP_DATA_NR),
            Insn::jump(BPF_JMP | BPF_JGT | BPF_K, 5, 2, 0),
            Insn::jump(BPF_JMP | BPF_JGE | BPF_K, 5, 0, 1),
            Insn::jump(BPF_JMP | BPF_JEQ | BPF_K, 5, 1, 0),
            Insn::stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
            Insn::stmt(BPF_RET | BPF_K, SECCOMP_RET_TRACE),
        ];
        let out = optimize(prog);
        // The jeq at 3 is decided (A is exactly 5 there) and disappears.
        assert!(out.len() < 6, "{out:?}");
        for nr in 0..10 {
            let want = if nr == 5 {
                SECCOMP_RET_TRACE
            } else {
                SECCOMP_RET_ALLOW
            };
            let got = run(&out, &SeccompData::new(0, nr)).action;
            assert_eq!(got, want, "nr {nr}");
        }
    }
}
