//! A kernel-cacheable bit-level hybrid: a search over pieces of the number
//! space whose leaves are returns or, for an aligned block of 32 numbers
//! with many boundaries, a reduced ordered decision diagram over bits 4..0
//! of `nr` made of single-bit `jset` tests.
//!
//! `jset #k` is one of the instructions the kernel's action-cache emulator
//! follows, so, unlike the shift of the bits strategy, every allowed number
//! stays cacheable. The diagram is reduced by construction: a test whose
//! two outcomes are the same sub-diagram is never made, and identical
//! sub-diagrams (within a block, across blocks, across arches) are one node
//! of the hash-consed graph, laid out forward like any other shared tail.
//! A block gets a diagram only when it has fewer tests than the block has
//! inner boundaries, the comparisons a search tree would spend on it.

use crate::bpf::*;
use crate::error::{Error, Result};
use crate::program::{Graph, Node, NodeId};
use crate::set::{ArchDecisions, Decisions, Interval};
use crate::weights::ArchWeights;

const BLOCK_BITS: u32 = 5;
const BLOCK: u32 = 1 << BLOCK_BITS;

pub fn build(d: &Decisions, _w: &ArchWeights, g: &mut Graph) -> Result<NodeId> {
    let mut any = false;
    let root = super::dispatch(d, g, |a, _, g| {
        let pieces = pieces(a);
        any |= pieces.iter().any(|p| matches!(p.1, Leaf::Block(_)));
        Ok(tree(a, &pieces, g))
    })?;
    if !any {
        return Err(Error::Strategy(
            "no block of 32 numbers where single-bit tests beat comparisons".into(),
        ));
    }
    Ok(root)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Leaf {
    Ret(u32),
    /// Aligned blocks from the piece's first number on, each with the
    /// pattern of the block starting at this number.
    Block(u32),
}

/// The decision diagram for `lo .. lo + 2^bits`, `lo` aligned.
fn diagram(ivs: &[Interval], lo: u32, bits: u32, g: &mut Graph) -> NodeId {
    let hi = lo + ((1u64 << bits) - 1) as u32;
    let i = ivs.partition_point(|iv| iv.hi < lo);
    if ivs[i].hi >= hi {
        return g.ret(ivs[i].action);
    }
    let half = 1u32 << (bits - 1);
    let upper = diagram(ivs, lo + half, bits - 1, g);
    let lower = diagram(ivs, lo, bits - 1, g);
    g.jump(BPF_JMP | BPF_JSET | BPF_K, half, upper, lower)
}

/// Tests in the diagram of a block, built apart to count them.
fn diagram_tests(ivs: &[Interval], lo: u32) -> usize {
    let mut scratch = Graph::new();
    diagram(ivs, lo, BLOCK_BITS, &mut scratch);
    (0..scratch.len() as NodeId)
        .filter(|&n| matches!(scratch.node(n), Node::Jump { .. }))
        .count()
}

/// The actions of the block starting at `lo`.
fn pattern(ivs: &[Interval], lo: u32) -> Vec<u32> {
    let mut i = ivs.partition_point(|iv| iv.hi < lo);
    (lo..lo + BLOCK)
        .map(|nr| {
            while ivs[i].hi < nr {
                i += 1;
            }
            ivs[i].action
        })
        .collect()
}

fn pieces(a: &ArchDecisions) -> Vec<(u32, Leaf)> {
    let ivs = &a.intervals;
    let mut blocks: Vec<u32> = ivs
        .iter()
        .filter(|iv| iv.lo % BLOCK != 0)
        .map(|iv| iv.lo / BLOCK)
        .collect();
    blocks.dedup();
    let chosen: Vec<u64> = blocks
        .into_iter()
        .filter(|&b| {
            let lo = b * BLOCK;
            let first = ivs.partition_point(|iv| iv.hi < lo);
            let inside = ivs[first..]
                .iter()
                .take_while(|iv| iv.lo <= lo + (BLOCK - 1))
                .count();
            diagram_tests(ivs, lo) < inside - 1
        })
        .map(|b| (b as u64) * BLOCK as u64)
        .collect();
    let mut out: Vec<(u32, Leaf)> = Vec::new();
    let (mut x, mut i, mut m) = (0u64, 0usize, 0usize);
    while x <= u32::MAX as u64 {
        if m < chosen.len() && chosen[m] == x {
            // A run of blocks with one pattern is one leaf: the diagram
            // reads only the low bits.
            let same = match out.last() {
                Some(&(_, Leaf::Block(prev))) => {
                    prev as u64 + BLOCK as u64 <= x && pattern(ivs, prev) == pattern(ivs, x as u32)
                }
                _ => false,
            };
            if !same {
                out.push((x as u32, Leaf::Block(x as u32)));
            }
            x += BLOCK as u64;
            m += 1;
            continue;
        }
        while (ivs[i].hi as u64) < x {
            i += 1;
        }
        let mut end = ivs[i].hi as u64;
        if m < chosen.len() {
            end = end.min(chosen[m] - 1);
        }
        let leaf = Leaf::Ret(ivs[i].action);
        if out.last().is_none_or(|(_, l)| *l != leaf) {
            out.push((x as u32, leaf));
        }
        x = end + 1;
    }
    out
}

/// Balanced search over pieces.
fn tree(a: &ArchDecisions, p: &[(u32, Leaf)], g: &mut Graph) -> NodeId {
    match p {
        [(_, Leaf::Ret(k))] => g.ret(*k),
        [(_, Leaf::Block(lo))] => diagram(&a.intervals, *lo, BLOCK_BITS, g),
        [(_, Leaf::Ret(x)), (m, Leaf::Ret(y)), (n, Leaf::Ret(z))] if *n == m + 1 && x == z => {
            let (hit, miss) = (g.ret(*y), g.ret(*x));
            g.jeq(*m, hit, miss)
        }
        _ => {
            let mid = p.len() / 2;
            let upper = tree(a, &p[mid..], g);
            let lower = tree(a, &p[..mid], g);
            g.jge(p[mid].0, upper, lower)
        }
    }
}
