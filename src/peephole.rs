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
//! one the strategy built. [`optimize_checked`] proves the program after
//! every pass (debug builds and the tests use it); release builds prove
//! only the program the compiler returns, which covers every pass at once.

use crate::bpf::*;
use crate::set::Decisions;

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

fn is_cond(code: u16) -> bool {
    class(code) == BPF_JMP && op(code) != BPF_JA
}

fn is_ja(code: u16) -> bool {
    code == BPF_JMP | BPF_JA
}

fn is_ret(code: u16) -> bool {
    class(code) == BPF_RET
}

pub fn optimize(prog: Vec<Insn>, d: &Decisions) -> Vec<Insn> {
    if cfg!(debug_assertions) {
        optimize_checked(prog, d).unwrap_or_else(|e| panic!("{e}"))
    } else {
        passes(prog, |_| Ok(())).expect("unchecked passes cannot fail")
    }
}

/// [`optimize`], proving the program after every single pass.
pub fn optimize_checked(prog: Vec<Insn>, d: &Decisions) -> Result<Vec<Insn>, String> {
    passes(prog, |p| {
        crate::clone_guard::verify(p, d)
            .map_err(|e| format!("a peephole pass broke the program: {e}"))
    })
}

fn passes(
    mut prog: Vec<Insn>,
    check: impl Fn(&[Insn]) -> Result<(), String>,
) -> Result<Vec<Insn>, String> {
    // Each round either shrinks the program or shortens a path, so this
    // ends; the bound is a safety net.
    for _ in 0..64 {
        let before = prog.clone();
        for pass in [decide, thread, merge_returns, compact] {
            prog = pass(&prog);
            check(&prog)?;
        }
        if prog == before {
            break;
        }
    }
    Ok(prog)
}

/// Targets of the instruction at `pc`: (taken, not taken) or the one target.
fn targets(prog: &[Insn], pc: usize) -> Vec<usize> {
    let i = prog[pc];
    if is_cond(i.code) {
        vec![pc + 1 + i.jt as usize, pc + 1 + i.jf as usize]
    } else if is_ja(i.code) {
        vec![pc + 1 + i.k as usize]
    } else if is_ret(i.code) {
        vec![]
    } else {
        vec![pc + 1]
    }
}

/// Replaces conditional jumps whose outcome is fixed by the range of A.
fn decide(prog: &[Insn]) -> Vec<Insn> {
    let mut known = vec![Known::Unreached; prog.len()];
    known[0] = Known::Nothing;
    let mut out = prog.to_vec();
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
            BPF_JMP if is_ja(i.code) => flow(pc + 1 + i.k as usize, k_in),
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
                    o => {
                        let t0 = if o == BPF_JGE {
                            Some(i.k)
                        } else {
                            i.k.checked_add(1)
                        };
                        match t0 {
                            Some(t0) if t0 <= lo => (Some((lo, hi)), None),
                            Some(t0) if t0 <= hi => (Some((t0, hi)), Some((lo, t0 - 1))),
                            _ => (None, Some((lo, hi))),
                        }
                    }
                };
                match (yes, no) {
                    (Some(y), Some(n)) => {
                        flow(t, Known::Range(field, y.0, y.1));
                        flow(f, Known::Range(field, n.0, n.1));
                    }
                    (Some(_), None) | (None, Some(_)) => {
                        let to = if yes.is_some() { t } else { f };
                        flow(to, k_in);
                        out[pc] = Insn::stmt(BPF_JMP | BPF_JA, (to - pc - 1) as u32);
                    }
                    (None, None) => unreachable!("a range is never empty"),
                }
            }
            BPF_JMP => {
                for to in targets(prog, pc) {
                    flow(to, k_in);
                }
            }
            // Anything else changes A in ways not followed here.
            _ => flow(pc + 1, Known::Nothing),
        }
    }
    out
}

/// Where control really goes from `t`: through `ja` chains.
fn settle(prog: &[Insn], mut t: usize) -> usize {
    while is_ja(prog[t].code) {
        t = t + 1 + prog[t].k as usize;
    }
    t
}

/// Jumps onto `ja` take the final target (in range), `ja` to `ret` becomes
/// the `ret`.
fn thread(prog: &[Insn]) -> Vec<Insn> {
    let mut out = prog.to_vec();
    for pc in 0..prog.len() {
        let i = prog[pc];
        if is_cond(i.code) {
            for (off, slot) in [(i.jt, 0), (i.jf, 1)] {
                let t = settle(prog, pc + 1 + off as usize);
                let dist = t - pc - 1;
                if dist <= 255 {
                    if slot == 0 {
                        out[pc].jt = dist as u8;
                    } else {
                        out[pc].jf = dist as u8;
                    }
                }
            }
        } else if is_ja(i.code) {
            let t = settle(prog, pc);
            out[pc] = if is_ret(prog[t].code) {
                prog[t]
            } else {
                Insn::stmt(BPF_JMP | BPF_JA, (t - pc - 1) as u32)
            };
        }
    }
    out
}

/// A jump to `ret #k` goes to the last identical `ret` within reach.
fn merge_returns(prog: &[Insn]) -> Vec<Insn> {
    let mut out = prog.to_vec();
    // For each pc, the last position >= pc holding the same return, looked
    // up by scanning: programs are at most 4096 long and returns few.
    let rets: Vec<usize> = (0..prog.len()).filter(|&p| is_ret(prog[p].code)).collect();
    let last_same = |t: usize, max: usize| -> usize {
        rets.iter()
            .rev()
            .copied()
            .find(|&r| r >= t && r <= max && prog[r] == prog[t])
            .unwrap_or(t)
    };
    for pc in 0..prog.len() {
        let i = prog[pc];
        if !is_cond(i.code) {
            continue;
        }
        for slot in 0..2 {
            let off = if slot == 0 { i.jt } else { i.jf };
            let t = pc + 1 + off as usize;
            if is_ret(prog[t].code) {
                let r = last_same(t, pc + 1 + 255);
                let dist = (r - pc - 1) as u8;
                if slot == 0 {
                    out[pc].jt = dist;
                } else {
                    out[pc].jf = dist;
                }
            }
        }
    }
    out
}

/// Drops unreachable instructions and `ja 0`, re-encoding the offsets.
fn compact(prog: &[Insn]) -> Vec<Insn> {
    let mut live = vec![false; prog.len()];
    live[0] = true;
    for pc in 0..prog.len() {
        if live[pc] {
            for t in targets(prog, pc) {
                live[t] = true;
            }
        }
    }
    let keep: Vec<bool> = (0..prog.len())
        .map(|pc| live[pc] && !(is_ja(prog[pc].code) && prog[pc].k == 0))
        .collect();
    if keep.iter().all(|&k| k) {
        return prog.to_vec();
    }
    // new_at[p]: new index of the first kept instruction at or after p.
    let mut new_at = vec![0usize; prog.len() + 1];
    let mut n = 0;
    for p in 0..prog.len() {
        new_at[p] = n;
        if keep[p] {
            n += 1;
        }
    }
    new_at[prog.len()] = n;
    let mut out = Vec::with_capacity(n);
    for pc in (0..prog.len()).filter(|&p| keep[p]) {
        let mut i = prog[pc];
        let me = new_at[pc];
        if is_cond(i.code) {
            i.jt = (new_at[pc + 1 + i.jt as usize] - me - 1) as u8;
            i.jf = (new_at[pc + 1 + i.jf as usize] - me - 1) as u8;
        } else if is_ja(i.code) {
            i.k = (new_at[pc + 1 + i.k as usize] - me - 1) as u32;
        }
        out.push(i);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assemble::assemble;
    use crate::emulate::{run, SeccompData};
    use crate::program::Graph;
    use crate::spec::{Options, Personality};
    use crate::strategy;
    use crate::weights::ArchWeights;

    /// Every strategy on a spread of bitmaps: each pass keeps the proof, the
    /// program never grows and no number executes more instructions.
    #[test]
    fn every_pass_keeps_the_program_proved_and_no_slower() {
        let mut x = 0x2545_f491u32;
        for round in 0..40 {
            let n: u32 = 64 + round * 37;
            let bits: Vec<u8> = (0..n.div_ceil(8))
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
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
                let after = optimize_checked(before.clone(), &d)
                    .unwrap_or_else(|e| panic!("round {round} {s:?}: {e}"));
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
        let out = passes(prog, |_| Ok(())).unwrap();
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
