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
//! the whole table costs O(n^2) time and O(n^2) memory for n intervals
//! (12 bytes a cell of the upper triangle).
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

/// Best root for every `i <= j`, in the upper triangle packed row by row
/// from the last row up; a root flagged with `NOTCH` is the `jeq` shape.
struct Table {
    n: usize,
    root: Vec<u32>,
}

impl Table {
    /// Where row `i` starts: rows `n-1 ..= i+1` come before it.
    fn at(&self, i: usize, j: usize) -> usize {
        (self.n - 1 - i) * (self.n - i) / 2 + (j - i)
    }

    /// Rows are filled bottom-up: row `i` reads only rows below it (by
    /// column) and its own left part, so roots are pushed in order, the
    /// current row's costs are one contiguous run and `c(r, j)` for the
    /// candidate roots `r` is one contiguous run of column `j`.
    fn new(ivs: &[Interval], pre: &[f64]) -> Table {
        let n = ivs.len();
        let cells = n * (n + 1) / 2;
        // `col[j * (j + 3) / 2 - i] = c(i, j)`: column j from the diagonal
        // up, so r ascending reads it backwards.
        let mut col = vec![0.0f64; cells];
        let mut root = vec![0u32; cells];
        let mut cur = vec![0.0f64; n];
        root[0] = (n - 1) as u32;
        // Where row i + 1 starts in `root`, and where row i starts.
        let (mut below, mut row) = (0, 1);
        for i in (0..n - 1).rev() {
            let width = n - i;
            let (done, rest) = root.split_at_mut(row);
            let up_row = &done[below..];
            let this = &mut rest[..width];
            let cur = &mut cur[..width];
            let pre_i = pre[i];
            let notch_at_i = is_notch_at(ivs, i);
            this[0] = i as u32;
            cur[0] = 0.0;
            // root(i, j - 1), unflagged.
            let mut prev = i;
            // j * (j + 3) / 2, so that `col[cj - r] = c(r, j)`.
            let mut cj = i * (i + 3) / 2;
            for d in 1..width {
                let j = i + d;
                cj += j + 1;
                let weight = pre[j + 1] - pre_i;
                // Knuth's bounds, root(i, j-1) <= r <= root(i+1, j); for
                // two intervals the only root is j.
                let (lo, hi) = if d == 1 {
                    (j, j)
                } else {
                    let lo = prev.max(i + 1);
                    (lo, ((up_row[d - 1] & !NOTCH) as usize).clamp(lo, j))
                };
                // c(i, r - 1) + c(r, j) for r in lo..=hi; the first least wins.
                let (mut best, mut best_r) = (cur[lo - 1 - i] + col[cj - lo], lo);
                let mut r = lo + 1;
                while r <= hi {
                    let c = cur[r - 1 - i] + col[cj - r];
                    if c < best {
                        best = c;
                        best_r = r;
                    }
                    r += 1;
                }
                let (mut cost, mut flagged) = (weight + best, best_r as u32);
                prev = best_r;
                // The `jeq` shape is flagged in the root; the bounds above
                // read the split under the flag.
                if d == 2 && notch_at_i && weight < cost {
                    cost = weight;
                    flagged |= NOTCH;
                }
                cur[d] = cost;
                col[cj - i] = cost;
                this[d] = flagged;
            }
            below = row;
            row += width;
        }
        Table { n, root }
    }
}

/// `is_notch` where there is a triple at `i`.
fn is_notch_at(ivs: &[Interval], i: usize) -> bool {
    i + 2 < ivs.len() && is_notch(ivs, i)
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
