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

use super::blocks::{self, Leaf, BLOCK, BLOCK_BITS};
use super::search::{balanced, Depths};
use super::{Matcher, Shape};
use crate::bpf::*;
use crate::error::Result;
use crate::program::{Graph, NodeId};
use crate::set::{ArchDecisions, Decisions, Interval};
use crate::weights::ArchWeights;

pub(crate) struct Jset;

impl Matcher for Jset {
    fn build(&self, d: &Decisions, _: &ArchWeights, g: &mut Graph) -> Result<NodeId> {
        blocks::search(
            d,
            g,
            pieces,
            |a, lo, g| diagram(&a.intervals, lo, BLOCK_BITS, g),
            "no block of 32 numbers where single-bit tests beat comparisons",
        )
    }

    /// A lower bound on the comparisons each interval's numbers pass: the
    /// depth in the search over pieces of the shallowest piece it meets
    /// (the diagrams below count nothing). No search comparison can be
    /// dropped: each splits the pieces below it, and identical pieces side
    /// by side are one.
    fn depths(&self, a: &ArchDecisions) -> Option<Vec<u32>> {
        let p = pieces(a);
        let (_, depth) = balanced(&p, &mut Depths);
        let mut k = 0;
        Some(
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
                .collect(),
        )
    }

    /// The comparisons of the search over pieces, and one `jset` at least
    /// when a block needs a diagram.
    fn shape(&self, a: &ArchDecisions) -> Option<Shape> {
        let p = pieces(a);
        let mut s = Shape::of_search(&p);
        s.other_tests = usize::from(p.iter().any(|(_, l)| matches!(l, Leaf::Block(_))));
        Some(s)
    }
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
/// as [`diagram`] would build them: a test whose outcomes agree is not
/// made, identical tests are one. Counted bottom-up over the block's 32
/// actions, level by level, rather than by [`diagram`]'s top-down walk: the
/// jset floor counts every block of every arch under SPEED, and this needs
/// no search of the intervals per sub-diagram and no allocation. Returns
/// `min(count, enough)`: counting stops where the caller's answer can no
/// longer change.
fn diagram_tests(ivs: &[Interval], lo: u32, enough: usize) -> usize {
    /// A sub-diagram: a return (`action | RET`) or a test's index.
    const RET: u64 = 1 << 32;
    let mut sub = [0u64; BLOCK as usize];
    let first = ivs.partition_point(|iv| iv.hi < lo);
    let last = lo + (BLOCK - 1);
    for iv in ivs[first..].iter().take_while(|iv| iv.lo <= last) {
        let (from, to) = (iv.lo.max(lo) - lo, iv.hi.min(last) - lo);
        sub[from as usize..=to as usize].fill(u64::from(iv.action) | RET);
    }
    // The distinct tests made so far; a diagram of 32 numbers has at most 31.
    let mut tests = [(0u32, 0u64, 0u64); BLOCK as usize];
    let mut made = 0;
    let mut width = BLOCK as usize;
    let mut half = 1u32;
    while width > 1 {
        width /= 2;
        for c in 0..width {
            let (lower, upper) = (sub[2 * c], sub[2 * c + 1]);
            sub[c] = if upper == lower {
                upper
            } else {
                let t = (half, upper, lower);
                match tests[..made].iter().position(|&x| x == t) {
                    Some(k) => k as u64,
                    None if made == enough => return made,
                    None => {
                        tests[made] = t;
                        made += 1;
                        (made - 1) as u64
                    }
                }
            };
        }
        half *= 2;
    }
    made
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

/// The arch's numbers as ascending pieces: a block gets a diagram when it
/// has fewer tests than the block has inner boundaries; a run of blocks
/// with one pattern is one leaf (the diagram reads only the low bits).
fn pieces(a: &ArchDecisions) -> Vec<(u32, Leaf<u32>)> {
    let ivs = &a.intervals;
    // Blocks are asked for in ascending order: the first interval of each
    // is found by moving on from the last.
    let mut first = 0;
    let test = |b: u32| {
        let lo = b * BLOCK;
        while ivs[first].hi < lo {
            first += 1;
        }
        let inside = ivs[first..]
            .iter()
            .take_while(|iv| iv.lo <= lo + (BLOCK - 1))
            .count();
        // Three runs or fewer never get a diagram: one test reads one bit
        // and makes 2, 4, 8, 16 or 32 runs, so two runs need one test (no
        // fewer than the comparisons) and three need two. Sparse sets are
        // mostly such blocks (a number alone amid others), so they are not
        // counted.
        // The block's own intervals are all the diagram reads.
        (inside > 3 && diagram_tests(&ivs[first..first + inside], lo, inside - 1) < inside - 1)
            .then_some(lo)
    };
    blocks::pieces(ivs, test, |&p, &q| same_pattern(ivs, p, q))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::Node;

    #[test]
    fn test_count_is_the_built_diagram() {
        let mut next = crate::testing::xorshift32(0x2545_f491);
        for _ in 0..500 {
            // Random runs over 0..256 with up to three actions.
            let mut ivs = Vec::new();
            let mut lo = 0u32;
            while lo < 256 {
                let x = next();
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
                assert_eq!(diagram_tests(&ivs, block * BLOCK, usize::MAX), built);
                for enough in 0..4 {
                    let at_most = diagram_tests(&ivs, block * BLOCK, enough);
                    assert_eq!(at_most, built.min(enough));
                }
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
