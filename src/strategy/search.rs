//! Binary search over interval boundaries, one tree per arch.
//!
//! Only `jeq`, `jge` and `ret` are used, so every path is one the kernel's
//! action cache can follow. The tree is balanced by interval count; where
//! three intervals are a single number between two runs of the same action,
//! one `jeq` replaces two comparisons.

use crate::program::{Graph, NodeId};
use crate::set::{ArchDecisions, Interval};

pub fn build(a: &ArchDecisions, g: &mut Graph) -> NodeId {
    tree(&a.intervals, g)
}

/// A decision tree for contiguous intervals, knowing that the number lies
/// within `ivs[0].lo ..= ivs[last].hi`.
fn tree(ivs: &[Interval], g: &mut Graph) -> NodeId {
    match ivs {
        [one] => g.ret(one.action),
        [a, b, c] if b.lo == b.hi && a.action == c.action => {
            let (hit, miss) = (g.ret(b.action), g.ret(a.action));
            g.jeq(b.lo, hit, miss)
        }
        _ => {
            let mid = ivs.len() / 2;
            let hi = tree(&ivs[mid..], g);
            let lo = tree(&ivs[..mid], g);
            g.jge(ivs[mid].lo, hi, lo)
        }
    }
}

/// Comparisons each interval's numbers pass in the tree [`build`] makes,
/// for bounds on its cost without building it.
pub fn comparisons(ivs: &[Interval]) -> Vec<u32> {
    fn walk(ivs: &[Interval], depth: u32, out: &mut Vec<u32>) {
        match ivs {
            [_] => out.push(depth),
            [a, b, c] if b.lo == b.hi && a.action == c.action => {
                out.extend_from_slice(&[depth + 1; 3]);
            }
            _ => {
                let mid = ivs.len() / 2;
                walk(&ivs[..mid], depth + 1, out);
                walk(&ivs[mid..], depth + 1, out);
            }
        }
    }
    let mut out = Vec::with_capacity(ivs.len());
    walk(ivs, 0, &mut out);
    out
}
