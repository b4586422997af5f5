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
use crate::program::{Graph, NodeId};
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

/// Tests in the diagram of the block at `lo` (`ivs` covering it), counted
/// as [`diagram`] would build them: a test whose outcomes agree is not made, identical tests are one.
fn diagram_tests(ivs: &[Interval], lo: u32) -> usize {
    /// A sub-diagram: a return (`action | RET`) or a test's index.
    const RET: u64 = 1 << 32;
    fn walk(ivs: &[Interval], lo: u32, bits: u32, tests: &mut Vec<(u32, u64, u64)>) -> u64 {
        let hi = lo + ((1u64 << bits) - 1) as u32;
        let i = ivs.partition_point(|iv| iv.hi < lo);
        if ivs[i].hi >= hi {
            return ivs[i].action as u64 | RET;
        }
        let half = 1u32 << (bits - 1);
        let upper = walk(ivs, lo + half, bits - 1, tests);
        let lower = walk(ivs, lo, bits - 1, tests);
        if upper == lower {
            return upper;
        }
        let t = (half, upper, lower);
        match tests.iter().position(|&x| x == t) {
            Some(k) => k as u64,
            None => {
                tests.push(t);
                (tests.len() - 1) as u64
            }
        }
    }
    let mut tests = Vec::new();
    walk(ivs, lo, BLOCK_BITS, &mut tests);
    tests.len()
}

/// Whether the blocks starting at `a` and `b` have the same actions.
fn same_pattern(ivs: &[Interval], a: u32, b: u32) -> bool {
    let (mut i, mut j) = (
        ivs.partition_point(|iv| iv.hi < a),
        ivs.partition_point(|iv| iv.hi < b),
    );
    (0..BLOCK).all(|off| {
        while ivs[i].hi < a + off {
            i += 1;
        }
        while ivs[j].hi < b + off {
            j += 1;
        }
        ivs[i].action == ivs[j].action
    })
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
            // The block's own intervals are all the diagram reads.
            diagram_tests(&ivs[first..first + inside], lo) < inside - 1
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
                    prev as u64 + BLOCK as u64 <= x && same_pattern(ivs, prev, x as u32)
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

/// A lower bound on the comparisons each interval's numbers pass: the
/// depth in the search over pieces of the shallowest piece it meets (the
/// diagrams below count nothing). No search comparison can be dropped: each
/// splits the pieces below it, and identical pieces side by side are one.
pub fn comparisons(a: &ArchDecisions) -> Vec<u32> {
    fn walk(p: &[(u32, Leaf)], depth: u32, out: &mut Vec<u32>) {
        match p {
            [_] => out.push(depth),
            [(_, Leaf::Ret(x)), (m, Leaf::Ret(_)), (n, Leaf::Ret(z))] if *n == m + 1 && x == z => {
                out.extend_from_slice(&[depth + 1; 3]);
            }
            _ => {
                let mid = p.len() / 2;
                walk(&p[..mid], depth + 1, out);
                walk(&p[mid..], depth + 1, out);
            }
        }
    }
    let p = pieces(a);
    let mut depth = Vec::with_capacity(p.len());
    walk(&p, 0, &mut depth);
    let mut k = 0;
    a.intervals
        .iter()
        .map(|iv| {
            // Pieces are ascending by first number and cover everything.
            while k + 1 < p.len() && p[k + 1].0 <= iv.lo {
                k += 1;
            }
            let mut least = depth[k];
            let mut j = k + 1;
            while j < p.len() && p[j].0 <= iv.hi {
                least = least.min(depth[j]);
                j += 1;
            }
            least
        })
        .collect()
}

/// For a floor on the length: the comparisons of the search over pieces
/// (one a piece boundary, less one for each `jeq` that takes two, counted
/// greedily as a maximum), their constants, and whether a block needs a
/// diagram (then at least one `jset` somewhere).
pub fn search_shape(a: &ArchDecisions) -> (usize, Vec<u32>, bool) {
    let p = pieces(a);
    let (mut notches, mut i) = (0, 0);
    while i + 2 < p.len() {
        match (p[i], p[i + 1], p[i + 2]) {
            ((_, Leaf::Ret(x)), (m, Leaf::Ret(_)), (n, Leaf::Ret(z))) if n == m + 1 && x == z => {
                notches += 1;
                i += 3;
            }
            _ => i += 1,
        }
    }
    let blocks = p.iter().any(|(_, l)| matches!(l, Leaf::Block(_)));
    (
        p.len() - 1 - notches,
        p[1..].iter().map(|(lo, _)| *lo).collect(),
        blocks,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::Node;

    #[test]
    fn test_count_is_the_built_diagram() {
        let mut x = 0x2545_f491u32;
        for _ in 0..500 {
            // Random runs over 0..256 with up to three actions.
            let mut ivs = Vec::new();
            let mut lo = 0u32;
            while lo < 256 {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                let hi = (lo + x % 9).min(255);
                let action = x >> 20 & 3;
                match ivs.last_mut() {
                    Some(Interval {
                        hi: h, action: a, ..
                    }) if *a == action => *h = hi,
                    _ => ivs.push(Interval { lo, hi, action }),
                }
                lo = hi + 1;
            }
            ivs.push(Interval {
                lo: 256,
                hi: u32::MAX,
                action: 9,
            });
            for block in 0..8 {
                let mut g = Graph::new();
                diagram(&ivs, block * BLOCK, BLOCK_BITS, &mut g);
                let built = (0..g.len() as NodeId)
                    .filter(|&n| matches!(g.node(n), Node::Jump { .. }))
                    .count();
                assert_eq!(diagram_tests(&ivs, block * BLOCK), built);
                assert_eq!(
                    same_pattern(&ivs, 0, block * BLOCK),
                    (0..BLOCK).all(|o| {
                        let at = |nr| ivs.iter().find(|iv| iv.hi >= nr).unwrap().action;
                        at(o) == at(block * BLOCK + o)
                    })
                );
            }
        }
    }
}
