//! Proof that a program implements its decision intervals, for all 2^32
//! arches and all 2^32 numbers.
//!
//! The argument. For programs built from `ld [nr]`, `ld [arch]`,
//! `jeq/jge/jgt/jset #k`, `ja` and `ret #k`, the outcome depends on `(arch,
//! nr)` alone and each instruction either moves the accumulator or splits the
//! inputs reaching it by a predicate on one of the two fields. So we run the
//! program symbolically on sets: a state is a rectangle `ArchSet x NrSet`
//! together with what the accumulator holds (0, arch or nr); a comparison
//! splits one side of the rectangle exactly, in interval form; jumps only go
//! forward, so visiting instructions in order sees every state that reaches
//! each one. At every `ret #k` each arriving rectangle is checked against the
//! intervals. Nothing is sampled: every input is accounted for, which makes
//! this a proof, and it costs about one set operation per instruction on a
//! search tree.
//!
//! Any other instruction (loads of `args` or the instruction pointer, ALU,
//! X register, scratch memory) is outside the argument, and such a program
//! is reported as unprovable rather than trusted.

use crate::bpf::*;
use crate::emulate;
use crate::set::Decisions;

/// An upper bound on the intervals a set may hold before the proof gives up
/// (bit tests on wide ranges fragment sets).
const MAX_PIECES: usize = 1 << 16;

/// Sorted, disjoint, non-adjacent inclusive intervals.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Set(Vec<(u32, u32)>);

impl Set {
    fn all() -> Set {
        Set(vec![(0, u32::MAX)])
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn push(&mut self, lo: u32, hi: u32) {
        match self.0.last_mut() {
            Some(last) if last.1.checked_add(1) == Some(lo) => last.1 = hi,
            _ => self.0.push((lo, hi)),
        }
    }

    fn union(&self, other: &Set) -> Set {
        let mut all: Vec<(u32, u32)> = self.0.iter().chain(other.0.iter()).copied().collect();
        all.sort_unstable();
        let mut out = Set(Vec::with_capacity(all.len()));
        for (lo, hi) in all {
            match out.0.last_mut() {
                Some(last) if (lo as u64) <= last.1 as u64 + 1 => last.1 = last.1.max(hi),
                _ => out.0.push((lo, hi)),
            }
        }
        out
    }

    /// Number of values, as u64 since the full set has 2^32.
    fn count(&self) -> u64 {
        self.0.iter().map(|&(lo, hi)| (hi - lo) as u64 + 1).sum()
    }

    fn contains(&self, v: u32) -> bool {
        let i = self.0.partition_point(|&(_, hi)| hi < v);
        i < self.0.len() && self.0[i].0 <= v
    }

    /// Splits into (values where the jump is taken, values where it is not).
    fn split(&self, code: u16, k: u32) -> Result<(Set, Set), String> {
        let (mut yes, mut no) = (Set(Vec::new()), Set(Vec::new()));
        for &(lo, hi) in &self.0 {
            match op(code) {
                BPF_JEQ => {
                    if k < lo || k > hi {
                        no.push(lo, hi);
                    } else {
                        if k > lo {
                            no.push(lo, k - 1);
                        }
                        yes.push(k, k);
                        if k < hi {
                            no.push(k + 1, hi);
                        }
                    }
                }
                BPF_JGE | BPF_JGT => {
                    // jgt k is jge k+1; jgt u32::MAX never jumps.
                    let t = if op(code) == BPF_JGE {
                        Some(k)
                    } else {
                        k.checked_add(1)
                    };
                    match t {
                        Some(t) if t <= lo => yes.push(lo, hi),
                        Some(t) if t <= hi => {
                            no.push(lo, t - 1);
                            yes.push(t, hi);
                        }
                        _ => no.push(lo, hi),
                    }
                }
                _ => split_bits(lo, hi, k, &mut yes, &mut no)?,
            }
            if yes.0.len() + no.0.len() > MAX_PIECES {
                return Err(format!(
                    "bit test {k:#x} fragments the inputs beyond {MAX_PIECES} pieces"
                ));
            }
        }
        Ok((yes, no))
    }
}

/// `x & mask != 0` over `lo..=hi`, by aligned power-of-two blocks: on a
/// block of size 2^j the test is constant once the mask has no bit below j
/// or the block's fixed high bits already meet the mask.
fn split_bits(lo: u32, hi: u32, mask: u32, yes: &mut Set, no: &mut Set) -> Result<(), String> {
    let mut budget = 64 * MAX_PIECES;
    let mut x = lo as u64;
    let end = hi as u64 + 1;
    while x < end {
        // Largest aligned block starting at x that fits.
        let mut size = if x == 0 {
            1u64 << 32
        } else {
            1u64 << x.trailing_zeros().min(32)
        };
        while x + size > end {
            size >>= 1;
        }
        // Shrink until the test is constant on [x, x + size).
        loop {
            let low = (size - 1) as u32;
            if mask & low == 0 || (x as u32) & mask & !low != 0 {
                break;
            }
            size >>= 1;
            budget -= 1;
            if budget == 0 {
                return Err(format!("bit test {mask:#x} fragments the inputs too much"));
            }
        }
        let (a, b) = (x as u32, (x + size - 1) as u32);
        if a & mask != 0 {
            yes.push(a, b)
        } else {
            no.push(a, b)
        }
        x += size;
    }
    Ok(())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Acc {
    Zero,
    Arch,
    Nr,
}

#[derive(Clone, Debug)]
struct Rect {
    acc: Acc,
    arch: Set,
    nr: Set,
}

/// Proves `prog` equivalent to `d`; the error says why it is not, or why the
/// argument does not apply.
pub fn verify(prog: &[Insn], d: &Decisions) -> Result<(), String> {
    emulate::check(prog).map_err(|e| format!("kernel would reject it: {e}"))?;
    let mut pending: Vec<Vec<Rect>> = vec![Vec::new(); prog.len()];
    pending[0].push(Rect {
        acc: Acc::Zero,
        arch: Set::all(),
        nr: Set::all(),
    });
    for pc in 0..prog.len() {
        let rects = merge(std::mem::take(&mut pending[pc]));
        let insn = prog[pc];
        for r in rects {
            match insn.code {
                c if c == BPF_LD | BPF_W | BPF_ABS => {
                    let acc = match insn.k {
                        SECCOMP_DATA_NR => Acc::Nr,
                        SECCOMP_DATA_ARCH => Acc::Arch,
                        k => {
                            return Err(format!("cannot prove: instruction {pc} loads offset {k}"))
                        }
                    };
                    pending[pc + 1].push(Rect { acc, ..r });
                }
                c if c == BPF_RET | BPF_K => {
                    check_ret(&r, insn.k, d).map_err(|e| format!("instruction {pc}: {e}"))?
                }
                c if c == BPF_JMP | BPF_JA => pending[pc + 1 + insn.k as usize].push(r),
                c if class(c) == BPF_JMP && src(c) == BPF_K => {
                    let (t, f) = (pc + 1 + insn.jt as usize, pc + 1 + insn.jf as usize);
                    match r.acc {
                        Acc::Zero => {
                            let taken = emulate_cmp(c, 0, insn.k);
                            pending[if taken { t } else { f }].push(r);
                        }
                        Acc::Arch => {
                            let (yes, no) = r.arch.split(c, insn.k)?;
                            for (set, to) in [(yes, t), (no, f)] {
                                if !set.is_empty() {
                                    pending[to].push(Rect {
                                        arch: set,
                                        ..r.clone()
                                    });
                                }
                            }
                        }
                        Acc::Nr => {
                            let (yes, no) = r.nr.split(c, insn.k)?;
                            for (set, to) in [(yes, t), (no, f)] {
                                if !set.is_empty() {
                                    pending[to].push(Rect {
                                        nr: set,
                                        ..r.clone()
                                    });
                                }
                            }
                        }
                    }
                }
                c => {
                    return Err(format!(
                        "cannot prove: instruction {pc} has opcode {c:#06x}"
                    ))
                }
            }
        }
    }
    Ok(())
}

fn emulate_cmp(code: u16, a: u32, k: u32) -> bool {
    match op(code) {
        BPF_JEQ => a == k,
        BPF_JGT => a > k,
        BPF_JGE => a >= k,
        _ => a & k != 0,
    }
}

/// Rectangles reaching one instruction with the same accumulator and the
/// same arch set become one, so a tree's merge points do not multiply work.
fn merge(rects: Vec<Rect>) -> Vec<Rect> {
    let mut out: Vec<Rect> = Vec::with_capacity(rects.len());
    for r in rects {
        match out.iter_mut().find(|o| o.acc == r.acc && o.arch == r.arch) {
            Some(o) => o.nr = o.nr.union(&r.nr),
            None => out.push(r),
        }
    }
    out
}

/// Every (arch, nr) of the rectangle must be specified as `k`.
fn check_ret(r: &Rect, k: u32, d: &Decisions) -> Result<(), String> {
    let mut listed = 0u64;
    for a in &d.archs {
        if !r.arch.contains(a.arch) {
            continue;
        }
        listed += 1;
        for &(lo, hi) in &r.nr.0 {
            let mut i = a.index_of(lo);
            loop {
                let iv = a.intervals[i];
                if iv.action != k {
                    return Err(format!(
                        "returns {k:#x} for arch {:#x} nr {} but {:#x} is specified",
                        a.arch,
                        iv.lo.max(lo),
                        iv.action
                    ));
                }
                if iv.hi >= hi {
                    break;
                }
                i += 1;
            }
        }
    }
    if r.arch.count() > listed && d.other_arch != k {
        let arch = r
            .arch
            .0
            .iter()
            .flat_map(|&(lo, hi)| lo..=hi)
            .find(|x| d.arch(*x).is_none());
        return Err(format!(
            "returns {k:#x} for unlisted arch {:#x} but {:#x} is specified",
            arch.unwrap_or_default(),
            d.other_arch
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{Options, Personality};

    fn ld(k: u32) -> Insn {
        Insn::stmt(BPF_LD | BPF_W | BPF_ABS, k)
    }
    fn ret(k: u32) -> Insn {
        Insn::stmt(BPF_RET | BPF_K, k)
    }
    fn j(op: u16, k: u32, jt: u8, jf: u8) -> Insn {
        Insn::jump(BPF_JMP | op | BPF_K, k, jt, jf)
    }

    const T: u32 = SECCOMP_RET_TRACE;
    const A: u32 = SECCOMP_RET_ALLOW;

    fn decisions(bits: &[u8], n: u32) -> Decisions {
        let p = Personality {
            audit_arch: 9,
            nr_flag: 0,
            traced: bits,
            nsyscalls: n,
        };
        Decisions::new(&[p], &Options::default()).unwrap()
    }

    #[test]
    fn proves_a_correct_program() {
        // traced: 1 and 3 of 0..8; everything else of arch 9 and other arches traced.
        let d = decisions(&[0b1010], 8);
        let p = [
            ld(SECCOMP_DATA_ARCH),
            j(BPF_JEQ, 9, 1, 0),
            ret(T),
            ld(SECCOMP_DATA_NR),
            j(BPF_JGE, 8, 3, 0),
            j(BPF_JEQ, 1, 2, 0),
            j(BPF_JEQ, 3, 1, 0),
            ret(A),
            ret(T),
        ];
        verify(&p, &d).unwrap();
        // Same logic by bit test: numbers 1 and 3 are the odd ones below 4,
        // and 5, 7 must be told apart.
        let p = [
            ld(SECCOMP_DATA_ARCH),
            j(BPF_JEQ, 9, 1, 0),
            ret(T),
            ld(SECCOMP_DATA_NR),
            j(BPF_JGE, 4, 3, 0),
            j(BPF_JSET, 1, 1, 0),
            ret(A),
            ret(T),
            j(BPF_JGE, 8, 2, 0),
            j(BPF_JSET, 0, 0, 0),
            ret(A),
            ret(T),
        ];
        check(&p);
        verify(&p, &d).unwrap();
    }

    fn check(p: &[Insn]) {
        emulate::check(p).unwrap();
    }

    #[test]
    fn finds_the_wrong_corner() {
        let d = decisions(&[0b1010], 8);
        // Off by one at the top: 8 is unknown (traced) but falls into the tree.
        let p = [
            ld(SECCOMP_DATA_ARCH),
            j(BPF_JEQ, 9, 1, 0),
            ret(T),
            ld(SECCOMP_DATA_NR),
            j(BPF_JGT, 8, 3, 0),
            j(BPF_JEQ, 1, 2, 0),
            j(BPF_JEQ, 3, 1, 0),
            ret(A),
            ret(T),
        ];
        let e = verify(&p, &d).unwrap_err();
        assert!(e.contains("nr 8"), "{e}");
        // Wrong action for a foreign arch.
        let p = [ld(SECCOMP_DATA_ARCH), j(BPF_JEQ, 9, 1, 0), ret(A), ret(T)];
        let e = verify(&p, &d).unwrap_err();
        assert!(e.contains("unlisted arch"), "{e}");
        // Loads of arguments are outside the argument.
        let p = [ld(SECCOMP_DATA_ARGS), ret(T)];
        assert!(verify(&p, &d).unwrap_err().contains("cannot prove"));
    }

    #[test]
    fn bit_split_is_exact() {
        for (lo, hi, mask) in [
            (0u32, 100u32, 4u32),
            (5, 77, 0x11),
            (0, u32::MAX, 0x8000_0000),
            (3, 3, 1),
        ] {
            let (mut yes, mut no) = (Set(vec![]), Set(vec![]));
            split_bits(lo, hi, mask, &mut yes, &mut no).unwrap();
            assert_eq!(yes.count() + no.count(), (hi - lo) as u64 + 1);
            for x in (lo..=hi).step_by(((hi - lo) / 1000).max(1) as usize) {
                assert_eq!(yes.contains(x), x & mask != 0);
                assert_eq!(no.contains(x), x & mask == 0);
            }
        }
    }
}
