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
