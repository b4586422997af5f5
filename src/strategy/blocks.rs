//! The number space cut into aligned blocks of 32 for the block
//! strategies (`bits`, `jset`): the blocks worth a test of their own become
//! leaves, everything else runs of one action, ready for the balanced
//! search.

use super::dispatch;
use super::search::{balanced, Nodes};
use crate::error::{Error, Result};
use crate::program::{Graph, NodeId};
use crate::set::{ArchDecisions, Decisions, Interval};

pub(crate) const BLOCK_BITS: u32 = 5;
pub(crate) const BLOCK: u32 = 1 << BLOCK_BITS;

/// What a piece's numbers get: an action, or the block strategy's test
/// `B` for the aligned block(s) from the piece's first number on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Leaf<B> {
    Ret(u32),
    Block(B),
}

/// The arch's numbers as ascending pieces `(first number, leaf)`. `test`
/// gives the test of block `b` (numbers `32 b ..= 32 b + 31`) where the
/// strategy wants one, asked in ascending order of blocks; only a block
/// that an interval starts strictly inside holds a boundary. A piece is
/// merged into the one before when both are the same return, or `same`
/// blocks.
pub(crate) fn pieces<B: Copy + PartialEq>(
    ivs: &[Interval],
    test: impl FnMut(u32) -> Option<B>,
    same: impl Fn(&B, &B) -> bool,
) -> Vec<(u32, Leaf<B>)> {
    // Lists are made at their largest size once: under SPEED the jset
    // floor runs this for every arch of every compile.
    let mut blocks: Vec<u32> = Vec::with_capacity(ivs.len());
    blocks.extend(
        ivs.iter()
            .filter(|iv| iv.lo % BLOCK != 0)
            .map(|iv| iv.lo / BLOCK),
    );
    blocks.dedup();
    let mut test = test;
    let mut chosen: Vec<(u64, B)> = Vec::with_capacity(blocks.len());
    chosen.extend(
        blocks
            .into_iter()
            .filter_map(|b| Some((u64::from(b) * u64::from(BLOCK), test(b)?))),
    );
    // A piece per block chosen, per interval, and per interval a block
    // cuts in two.
    let mut out: Vec<(u32, Leaf<B>)> = Vec::with_capacity(ivs.len() + 2 * chosen.len());
    let mut push = |lo: u64, leaf: Leaf<B>| {
        let merged = match (out.last(), &leaf) {
            (Some((_, Leaf::Block(p))), Leaf::Block(q)) => same(p, q),
            (Some((_, l)), _) => *l == leaf,
            (None, _) => false,
        };
        if !merged {
            out.push((lo as u32, leaf));
        }
    };
    let (mut x, mut i, mut m) = (0u64, 0usize, 0usize);
    while x <= u64::from(u32::MAX) {
        if m < chosen.len() && chosen[m].0 == x {
            push(x, Leaf::Block(chosen[m].1));
            x += u64::from(BLOCK);
            m += 1;
            continue;
        }
        while u64::from(ivs[i].hi) < x {
            i += 1;
        }
        let mut end = u64::from(ivs[i].hi);
        if m < chosen.len() {
            end = end.min(chosen[m].0 - 1);
        }
        push(x, Leaf::Ret(ivs[i].action));
        x = end + 1;
    }
    out
}

/// The arch dispatch over the balanced search of each arch's `pieces`,
/// a block leaf made by `block`; `Error::Strategy(why_not)` when no arch
/// has a block worth its test.
pub(crate) fn search<B: Copy + PartialEq>(
    d: &Decisions,
    g: &mut Graph,
    pieces: impl Fn(&ArchDecisions) -> Vec<(u32, Leaf<B>)>,
    block: impl Fn(&ArchDecisions, B, &mut Graph) -> NodeId,
    why_not: &str,
) -> Result<NodeId> {
    let mut any = false;
    let root = dispatch(d, g, |a, _, g| {
        let pieces = pieces(a);
        any |= pieces.iter().any(|(_, l)| matches!(l, Leaf::Block(_)));
        let mut e = Nodes {
            g,
            leaf: |l: &Leaf<B>, g: &mut Graph| match *l {
                Leaf::Ret(k) => g.ret(k),
                Leaf::Block(b) => block(a, b, g),
            },
        };
        Ok(balanced(&pieces, &mut e).0)
    })?;
    if !any {
        return Err(Error::Strategy(why_not.into()));
    }
    Ok(root)
}
