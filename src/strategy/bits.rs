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

use super::blocks::{self, Leaf, BLOCK};
use super::{Matcher, Shape};
use crate::bpf::*;
use crate::error::Result;
use crate::program::{Graph, NodeId};
use crate::set::{ArchDecisions, Decisions, Interval};
use crate::weights::ArchWeights;

/// Numbers whose bit is set in `mask` get `set`, the others `clear`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Mask {
    mask: u32,
    set: u32,
    clear: u32,
}

pub(crate) struct Bits;

impl Matcher for Bits {
    fn build(&self, d: &Decisions, _: &ArchWeights, g: &mut Graph) -> Result<NodeId> {
        let root = blocks::search(
            d,
            g,
            pieces,
            |_, m, g| mask_test(m, g),
            "no block of 32 numbers holds three boundaries between two actions",
        )?;
        // X = 1 << (nr & 31), then the arch dispatch (`root` starts with `ld arch`).
        let root = g.stmt(BPF_MISC | BPF_TAX, 0, root);
        let root = g.stmt(BPF_ALU | BPF_LSH | BPF_X, 0, root);
        let root = g.stmt(BPF_LD | BPF_W | BPF_IMM, 1, root);
        let root = g.stmt(BPF_MISC | BPF_TAX, 0, root);
        let root = g.stmt(BPF_ALU | BPF_AND | BPF_K, 31, root);
        Ok(g.load(SECCOMP_DATA_NR, root))
    }

    /// No floor: the shift before the dispatch and the mask tests are
    /// outside the search's figures.
    fn shape(&self, _: &ArchDecisions) -> Option<Shape> {
        None
    }

    fn cacheable(&self) -> bool {
        false
    }
}

/// The mask form of block `b`, if its numbers take at most two actions and
/// it holds at least three boundaries: up to two, comparisons cost no more
/// than the mask's two instructions.
fn mask_of(ivs: &[Interval], b: u32) -> Option<Mask> {
    let lo = b * BLOCK;
    let hi = lo | (BLOCK - 1);
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
            mask |= 1 << (nr & (BLOCK - 1));
        }
    }
    Some(Mask { mask, set, clear })
}

/// The arch's numbers as ascending pieces; identical mask blocks side by
/// side are one.
fn pieces(a: &ArchDecisions) -> Vec<(u32, Leaf<Mask>)> {
    blocks::pieces(&a.intervals, |b| mask_of(&a.intervals, b), |p, q| p == q)
}

/// `A = X`, then the mask.
fn mask_test(m: Mask, g: &mut Graph) -> NodeId {
    let (s, c) = (g.ret(m.set), g.ret(m.clear));
    let test = g.jump(BPF_JMP | BPF_JSET | BPF_K, m.mask, s, c);
    g.stmt(BPF_MISC | BPF_TXA, 0, test)
}
