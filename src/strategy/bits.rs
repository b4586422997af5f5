//! Bit matching, for size: the number space is cut into aligned blocks of
//! 32, and a block holding several boundaries between two actions is one
//! mask tested against `1 << (nr & 31)` (kept in X, computed once before
//! the arch dispatch). Blocks are reached by a balanced search over pieces
//! (a mask block or a run of one action), not by strace's chain of `jeq`
//! on `nr >> 5`; identical mask blocks (x32 and x86_64 share most) are one
//! node.
//!
//! The shift and the X register are outside what the kernel's action cache
//! understands, so no number is ever cached: this strategy exists for the
//! size objective only.

use crate::bpf::*;
use crate::error::{Error, Result};
use crate::program::{Graph, NodeId};
use crate::set::{ArchDecisions, Decisions, Interval};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Leaf {
    Ret(u32),
    /// Numbers whose bit is set in `mask` get `set`, the others `clear`.
    Mask {
        mask: u32,
        set: u32,
        clear: u32,
    },
}

pub fn build(d: &Decisions, g: &mut Graph) -> Result<NodeId> {
    let mut any_mask = false;
    let root = super::dispatch(d, g, |a, _, g| {
        let pieces = pieces(a);
        any_mask |= pieces.iter().any(|(_, l)| matches!(l, Leaf::Mask { .. }));
        Ok(tree(&pieces, g))
    })?;
    if !any_mask {
        return Err(Error::Strategy(
            "no block of 32 numbers holds three boundaries between two actions".into(),
        ));
    }
    // X = 1 << (nr & 31), then the arch dispatch (`root` starts with `ld arch`).
    let root = g.stmt(BPF_MISC | BPF_TAX, 0, root);
    let root = g.stmt(BPF_ALU | BPF_LSH | BPF_X, 0, root);
    let root = g.stmt(BPF_LD | BPF_W | BPF_IMM, 1, root);
    let root = g.stmt(BPF_MISC | BPF_TAX, 0, root);
    let root = g.stmt(BPF_ALU | BPF_AND | BPF_K, 31, root);
    Ok(g.load(SECCOMP_DATA_NR, root))
}

/// The mask form of block `b`, if its numbers take at most two actions and
/// it holds at least three boundaries: up to two, comparisons cost no more
/// than the mask's two instructions.
fn mask_of(ivs: &[Interval], b: u32) -> Option<Leaf> {
    let lo = b << 5;
    let hi = lo | 31;
    let first = ivs.partition_point(|iv| iv.hi < lo);
    let inside: Vec<&Interval> = ivs[first..].iter().take_while(|iv| iv.lo <= hi).collect();
    if inside.len() < 4 {
        return None;
    }
    let clear = inside[0].action;
    let set = inside.iter().map(|iv| iv.action).find(|&x| x != clear)?;
    if inside
        .iter()
        .any(|iv| iv.action != clear && iv.action != set)
    {
        return None;
    }
    let mut mask = 0u32;
    for iv in inside.iter().filter(|iv| iv.action == set) {
        for nr in iv.lo.max(lo)..=iv.hi.min(hi) {
            mask |= 1 << (nr & 31);
        }
    }
    Some(Leaf::Mask { mask, set, clear })
}

/// The arch's numbers as ascending pieces `(first number, leaf)`.
fn pieces(a: &ArchDecisions) -> Vec<(u32, Leaf)> {
    let ivs = &a.intervals;
    // Only a block that an interval starts strictly inside holds a boundary.
    let mut blocks: Vec<u32> = ivs
        .iter()
        .filter(|iv| iv.lo & 31 != 0)
        .map(|iv| iv.lo >> 5)
        .collect();
    blocks.dedup();
    let masks: Vec<(u64, Leaf)> = blocks
        .into_iter()
        .filter_map(|b| Some(((b as u64) << 5, mask_of(ivs, b)?)))
        .collect();
    let mut out: Vec<(u32, Leaf)> = Vec::new();
    let mut push = |lo: u64, leaf: Leaf| {
        if out.last().is_none_or(|(_, l)| *l != leaf) {
            out.push((lo as u32, leaf));
        }
    };
    let (mut x, mut i, mut m) = (0u64, 0usize, 0usize);
    while x <= u32::MAX as u64 {
        if m < masks.len() && masks[m].0 == x {
            push(x, masks[m].1);
            x += 32;
            m += 1;
            continue;
        }
        while (ivs[i].hi as u64) < x {
            i += 1;
        }
        let mut end = ivs[i].hi as u64;
        if m < masks.len() {
            end = end.min(masks[m].0 - 1);
        }
        push(x, Leaf::Ret(ivs[i].action));
        x = end + 1;
    }
    out
}

fn leaf(l: Leaf, g: &mut Graph) -> NodeId {
    match l {
        Leaf::Ret(k) => g.ret(k),
        Leaf::Mask { mask, set, clear } => {
            let (s, c) = (g.ret(set), g.ret(clear));
            let test = g.jump(BPF_JMP | BPF_JSET | BPF_K, mask, s, c);
            g.stmt(BPF_MISC | BPF_TXA, 0, test)
        }
    }
}

/// Balanced search over pieces.
fn tree(p: &[(u32, Leaf)], g: &mut Graph) -> NodeId {
    match p {
        [(_, l)] => leaf(*l, g),
        [(_, a), (m, Leaf::Ret(b)), (n, c)] if *n == m + 1 && a == c => {
            let (hit, miss) = (g.ret(*b), leaf(*a, g));
            g.jeq(*m, hit, miss)
        }
        _ => {
            let mid = p.len() / 2;
            let upper = tree(&p[mid..], g);
            let lower = tree(&p[..mid], g);
            g.jge(p[mid].0, upper, lower)
        }
    }
}
