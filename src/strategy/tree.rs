//! The alphabetic decision tree of least expected cost: per arch, a search
//! over interval boundaries (`jge`) whose shape minimises the weighted mean
//! number of comparisons, where an interval weighs what its allowed
//! syscalls weigh (see `weights`).
//!
//! Dynamic programming, Knuth style: `c(i, j)` is the least weighted cost of
//! a tree over intervals `i..=j`, `c(i, i) = 0` and
//! `c(i, j) = W(i, j) + min over i < r <= j of c(i, r-1) + c(r, j)`.
//! `W` is a sum of non-negative weights, monotone and satisfying the
//! quadrangle inequality, so the best root is monotone
//! (`root(i, j-1) <= root(i, j) <= root(i+1, j)`, Knuth 1971 / Yao 1980) and
//! the whole table costs O(n^2) time and O(n^2) memory for n intervals.
//! One shape outside that recurrence is considered too: a single number
//! between two runs of the same action costs one `jeq` for all three.
//!
//! Above `DP_LIMIT` intervals (the quadratic table would pass ~10 MB) the
//! tree is split where the weight halves, which costs at most two
//! comparisons more than the entropy bound.

use crate::program::{Graph, NodeId};
use crate::set::{ArchDecisions, Interval};

const DP_LIMIT: usize = 1024;

pub fn build(a: &ArchDecisions, w: &[f64], g: &mut Graph) -> NodeId {
    let ivs = &a.intervals;
    let pre = prefix(w);
    if ivs.len() <= DP_LIMIT {
        let t = Table::new(ivs, &pre);
        emit_dp(ivs, &t, 0, ivs.len() - 1, g)
    } else {
        emit_halving(ivs, &pre, 0, ivs.len() - 1, g)
    }
}

fn prefix(w: &[f64]) -> Vec<f64> {
    let mut pre = Vec::with_capacity(w.len() + 1);
    pre.push(0.0);
    for x in w {
        pre.push(pre.last().unwrap() + x);
    }
    pre
}

/// A `jeq` suffices for `ivs[i..=i+2]`.
fn is_notch(ivs: &[Interval], i: usize) -> bool {
    let (a, b, c) = (ivs[i], ivs[i + 1], ivs[i + 2]);
    b.lo == b.hi && a.action == c.action
}

/// Best cost and root for every `i <= j`, stored row by row in the upper
/// triangle; a root flagged with `NOTCH` is the `jeq` shape.
struct Table {
    n: usize,
    cost: Vec<f64>,
    root: Vec<u32>,
}

impl Table {
    fn at(&self, i: usize, j: usize) -> usize {
        i * self.n + j
    }

    fn cost(&self, i: usize, j: usize) -> f64 {
        self.cost[self.at(i, j)]
    }

    fn new(ivs: &[Interval], pre: &[f64]) -> Table {
        let n = ivs.len();
        let mut t = Table {
            n,
            cost: vec![0.0; n * n],
            root: vec![0; n * n],
        };
        for i in 0..n {
            let at = t.at(i, i);
            t.root[at] = i as u32;
        }
        for len in 2..=n {
            for i in 0..=n - len {
                let j = i + len - 1;
                let weight = pre[j + 1] - pre[i];
                // Knuth's bounds; for len 2 the only root is j.
                let lo = if len == 2 {
                    j
                } else {
                    ((t.root[t.at(i, j - 1)] & !NOTCH) as usize).max(i + 1)
                };
                let hi = if len == 2 {
                    j
                } else {
                    ((t.root[t.at(i + 1, j)] & !NOTCH) as usize).clamp(lo, j)
                };
                let (mut best, mut best_r) = (f64::INFINITY, j);
                for r in lo..=hi {
                    let c = t.cost(i, r - 1) + t.cost(r, j);
                    if c < best {
                        best = c;
                        best_r = r;
                    }
                }
                let at = t.at(i, j);
                t.cost[at] = weight + best;
                t.root[at] = best_r as u32;
                // The `jeq` shape is flagged in the root; the bounds above
                // read the split under the flag.
                if len == 3 && is_notch(ivs, i) && weight < t.cost[at] {
                    t.cost[at] = weight;
                    t.root[at] = best_r as u32 | NOTCH;
                }
            }
        }
        t
    }
}

/// High bit of a root: this triple is one `jeq`.
const NOTCH: u32 = 1 << 31;

fn emit_dp(ivs: &[Interval], t: &Table, i: usize, j: usize, g: &mut Graph) -> NodeId {
    if i == j {
        return g.ret(ivs[i].action);
    }
    let r = t.root[t.at(i, j)];
    if r & NOTCH != 0 {
        let (hit, miss) = (g.ret(ivs[i + 1].action), g.ret(ivs[i].action));
        return g.jeq(ivs[i + 1].lo, hit, miss);
    }
    let r = r as usize;
    let hi = emit_dp(ivs, t, r, j, g);
    let lo = emit_dp(ivs, t, i, r - 1, g);
    g.jge(ivs[r].lo, hi, lo)
}

fn emit_halving(ivs: &[Interval], pre: &[f64], i: usize, j: usize, g: &mut Graph) -> NodeId {
    if i == j {
        return g.ret(ivs[i].action);
    }
    if j == i + 2 && is_notch(ivs, i) {
        let (hit, miss) = (g.ret(ivs[i + 1].action), g.ret(ivs[i].action));
        return g.jeq(ivs[i + 1].lo, hit, miss);
    }
    // First root r in i+1..=j whose left side holds at least half the weight.
    let half = (pre[i] + pre[j + 1]) / 2.0;
    let r = (pre[i + 1..=j].partition_point(|&x| x < half) + i + 1).clamp(i + 1, j);
    let hi = emit_halving(ivs, pre, r, j, g);
    let lo = emit_halving(ivs, pre, i, r - 1, g);
    g.jge(ivs[r].lo, hi, lo)
}
