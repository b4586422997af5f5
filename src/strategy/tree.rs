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
//! (10 bytes a cell of the upper triangle, kept by the thread for its
//! next table up to 320 KiB).
//! One shape outside that recurrence is considered too: a single number
//! between two runs of the same action costs one `jeq` for all three.
//! That shape breaks the quadrangle inequality, so with it Knuth's bounds
//! no longer hold a best root and the table is a heuristic: against the
//! cubic recurrence over every root, on the x86 bitmaps of
//! `tests/corpus.txt` with the default options it is exact on most arches
//! and at most 1.03% above the least cost (%ipc's x86_64 + x32 tree;
//! %memory's i386 0.64%, %network's x86_64 0.48%). The unit test below holds it to the exact
//! optimum without the `jeq` shape.
//!
//! Above `DP_LIMIT` intervals (the quadratic table would pass ~10 MB) the
//! tree is split where the weight halves, which costs at most two
//! comparisons more than the entropy bound.

use super::search::interval_pieces;
use super::{dispatch, refuse_per_boundary, Matcher, Shape};
use crate::error::Result;
use crate::program::{Graph, NodeId};
use crate::set::{ArchDecisions, Decisions, Interval};
use crate::weights::ArchWeights;

const DP_LIMIT: usize = 1024;

pub(crate) struct Tree;

impl Matcher for Tree {
    fn build(&self, d: &Decisions, w: &ArchWeights, g: &mut Graph) -> Result<NodeId> {
        refuse_per_boundary(d)?;
        // A comparison per boundary and a return per action, at most.
        g.reserve(2 * d.interval_count());
        dispatch(d, g, |a, i, g| Ok(tree(a, &w.intervals[i], g)))
    }

    /// A search over interval boundaries, whatever its shape.
    fn shape(&self, a: &ArchDecisions) -> Option<Shape> {
        Some(Shape::of_search(&interval_pieces(a)))
    }

    fn compares_boundaries_only(&self) -> bool {
        true
    }
}

fn tree(a: &ArchDecisions, w: &[f64], g: &mut Graph) -> NodeId {
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
/// Roots are 16 bits (`DP_LIMIT` intervals at most): the table is read
/// and written once a cell, and narrower roots are less of it to move.
struct Table {
    n: usize,
    /// `roots`: the best roots; `costs`: `c(i, j)` at `at(i, j)`, the
    /// same packing.
    buf: Buffers,
}

/// The table's two large buffers. A table of `KEEP_CELLS` cells or fewer
/// takes the ones its thread kept when they are large enough, and the
/// thread keeps its buffers when it is dropped; a larger table has its own
/// and leaves the kept ones alone. So a thread keeps the buffers of its
/// largest table within the bound, and repeated compiles neither allocate
/// them, nor zero them, nor fault their pages in again, and the allocator
/// no longer hands a compile's other lists memory a freed table left cold
/// (this alone, in the project's benchmark: 0.92 x on the three large sets
/// under SPEED, and 1-3 us less on every SIZE compile, which builds no
/// tree). Every cell a table reads it has written first, so what a buffer
/// held before is never seen.
#[derive(Default)]
struct Buffers {
    costs: Vec<f64>,
    roots: Vec<Root>,
}

/// The largest table whose buffers a thread keeps: 255 intervals,
/// 320 KiB (the corpus's largest, the x86_64 + x32 tree of
/// %file,%network,%process, has 204).
const KEEP_CELLS: usize = 1 << 15;

thread_local! {
    static KEPT: std::cell::Cell<Buffers> = const {
        std::cell::Cell::new(Buffers { costs: Vec::new(), roots: Vec::new() })
    };
}

impl Buffers {
    /// Buffers of `cells` cells at least: the kept ones when they are large
    /// enough, else new ones of exactly that size.
    fn take(cells: usize) -> Buffers {
        if cells <= KEEP_CELLS {
            // While the thread exits its kept buffers may be gone.
            let kept = KEPT.try_with(std::cell::Cell::take).unwrap_or_default();
            debug_assert_eq!(kept.costs.len(), kept.roots.len());
            if kept.costs.len() >= cells {
                return kept;
            }
        }
        Buffers {
            costs: vec![0.0; cells],
            roots: vec![0; cells],
        }
    }

    fn keep(self) {
        // Capacity, not length: what the thread really holds.
        if self.costs.capacity() <= KEEP_CELLS && self.roots.capacity() <= KEEP_CELLS {
            // Nowhere to keep them while the thread exits: dropped.
            let _ = KEPT.try_with(|k| k.set(self));
        }
    }
}

impl Drop for Table {
    fn drop(&mut self) {
        std::mem::take(&mut self.buf).keep();
    }
}

impl Table {
    /// Where row `i` starts: rows `n-1 ..= i+1` come before it.
    fn at(&self, i: usize, j: usize) -> usize {
        (self.n - 1 - i) * (self.n - i) / 2 + (j - i)
    }

    /// Rows are filled bottom-up: row `i` reads only rows below it and its
    /// own left part, so roots and costs are written row by row and the
    /// current row's costs are one contiguous run. Costs are stored row by
    /// row too: a cell's single candidate root (the common case, where
    /// Knuth's bounds meet) moves slowly along a row, so consecutive cells
    /// read one row of costs in order instead of a cache line of another
    /// column each, and the table stays out of the way of the first level
    /// cache.
    fn new(ivs: &[Interval], pre: &[f64]) -> Table {
        let n = ivs.len();
        debug_assert!(n <= DP_LIMIT, "roots and positions are 16 bits");
        let cells = n * (n + 1) / 2;
        let mut buf = Buffers::take(cells);
        // `costs[row[r] + j] = c(r, j)`, wrapping: `row[r]` is where row r
        // starts less r.
        let (costs, root) = (&mut buf.costs, &mut buf.roots);
        let mut row = vec![0usize; n];
        costs[0] = 0.0;
        row[n - 1] = 0usize.wrapping_sub(n - 1);
        root[0] = (n - 1) as Root;
        // Row i + 1's roots (the upper Knuth bound) and row i's: two rows,
        // swapped, and each row copied to the packed roots once done.
        // Written in place like the costs, they made %file's compile
        // slower, not faster (112 against 94 µs, pinned, nine interleaved
        // rounds). The four rows below in one allocation.
        let mut rows = vec![0 as Root; 4 * n];
        let (roots, ends) = rows.split_at_mut(2 * n);
        let (mut up, mut this) = roots.split_at_mut(n);
        up[0] = (n - 1) as Root;
        // For both rows, where the stretch of equal roots holding each
        // cell ends (one past it, within the row): a run of the row below
        // is skipped whole when looking for where a run ends, instead of
        // cell by cell. A cell outside a run is a stretch of its own, which
        // is exact whatever the roots are: only equal roots are skipped.
        let (mut ends_up, mut ends_this) = ends.split_at_mut(n);
        ends_up[0] = 1;
        for i in (0..n - 1).rev() {
            let width = n - i;
            // Row i's costs are written where they stay, after the rows
            // below: a row buffer copied in at the row's end cost ~3% of a
            // compile (perf).
            let start = (n - 1 - i) * (n - i) / 2;
            let (costs, cur) = costs.split_at_mut(start);
            let (costs, cur) = (&*costs, &mut cur[..width]);
            cur[0] = 0.0;
            let (up_row, this_row) = (&up[..width - 1], &mut this[..width]);
            let (up_end, this_end) = (&ends_up[..width - 1], &mut ends_this[..width]);
            let c = |r: usize, j: usize| costs[row[r].wrapping_add(j)];
            // `tail[d] - pre_i = W(i, i + d)`.
            let (pre_i, tail) = (pre[i], &pre[i + 1..=n]);
            this_row[0] = i as Root;
            // Two intervals: the only root is i + 1.
            cur[1] = (tail[1] - pre_i) + (cur[0] + c(i + 1, i + 1));
            this_row[1] = (i + 1) as Root;
            this_end[..2].copy_from_slice(&[1, 2]);
            // root(i, j - 1), unflagged.
            let mut prev = i + 1;
            let mut d = 2;
            while d < width {
                let j = i + d;
                let weight = tail[d] - pre_i;
                // Knuth's bounds, root(i, j-1) <= r <= root(i+1, j) (the
                // latter is never past j).
                let lo = prev;
                let hi = ((up_row[d - 1] & !NOTCH) as usize).max(lo);
                if hi == lo && d > 2 {
                    // Where the bounds meet they mostly go on meeting
                    // (85-88% of the cells over three or more intervals of
                    // the x86_64 + x32 tables of %file, %desc and
                    // %file,%network,%process have the one candidate): a
                    // run of cells with the single root `lo` reads
                    // `c(i, lo - 1)` and one stretch of row `lo`, so it is
                    // one loop with no candidates to compare and no chain
                    // from cell to cell, which the compiler vectorises.
                    // Same operations in the same order as below, so the
                    // same costs to the last bit. (At d = 2 the window is
                    // always two roots; `d > 2` keeps the `jeq` shape's
                    // cell out of a run all the same.)
                    let mut e = d + 1;
                    while e < width && (up_row[e - 1] & !NOTCH) as usize <= lo {
                        e = up_end[e - 1] as usize + 1;
                    }
                    let (left, right) = (cur[lo - 1 - i], row[lo].wrapping_add(i));
                    let right = &costs[right.wrapping_add(d)..right.wrapping_add(e)];
                    for ((out, t), r) in cur[d..e].iter_mut().zip(&tail[d..e]).zip(right) {
                        *out = (t - pre_i) + (left + r);
                    }
                    this_row[d..e].fill(lo as Root);
                    this_end[d..e].fill(e as Root);
                    d = e;
                    continue;
                }
                // c(i, r - 1) + c(r, j) for r in lo..=hi; the first least wins.
                let (mut best, mut best_r) = (cur[lo - 1 - i] + c(lo, j), lo);
                if hi - lo < WIDE {
                    for r in lo + 1..=hi {
                        let x = cur[r - 1 - i] + c(r, j);
                        if x < best {
                            (best, best_r) = (x, r);
                            keep_branch();
                        }
                    }
                } else {
                    let (x, k) = least_wide(&cur[lo - i..hi - i], &row[lo + 1..=hi], costs, j);
                    if x < best {
                        (best, best_r) = (x, lo + 1 + k);
                    }
                }
                let (mut cost, mut flagged) = (weight + best, best_r as Root);
                prev = best_r;
                // The `jeq` shape is flagged in the root; the bounds above
                // read the split under the flag.
                if d == 2 && weight < cost && is_notch(ivs, i) {
                    cost = weight;
                    flagged |= NOTCH;
                }
                cur[d] = cost;
                this_row[d] = flagged;
                this_end[d] = (d + 1) as Root;
                d += 1;
            }
            row[i] = start.wrapping_sub(i);
            root[start..start + width].copy_from_slice(this_row);
            std::mem::swap(&mut up, &mut this);
            std::mem::swap(&mut ends_up, &mut ends_this);
        }
        Table { n, buf }
    }
}

/// Windows of at least this many more roots than one go to [`least_wide`].
const WIDE: usize = 8;

/// The least `left[k] + costs[rows[k] + j]` (candidate `k`'s two subtrees)
/// and the first `k` reaching it. Zero weights leave such wide windows
/// between Knuth's bounds (on the x86 corpus ~4% of the cells hold ~40% of
/// the candidates). Four lanes run side by side, each keeping its first
/// least by a branch, and the least of those, the smaller `k` on ties, is
/// the first least of all: with branches there is no chain from candidate
/// to candidate, but one lane still measured slower (the tables of %file,
/// %desc and %file,%network,%process ~9% slower than with four lanes; two
/// lanes within 2%, eight 5% slower). The last few candidates, fewer than
/// a lane's worth, keep selects.
#[inline(never)]
fn least_wide(left: &[f64], rows: &[usize], costs: &[f64], j: usize) -> (f64, usize) {
    const LANES: usize = 4;
    let (mut best, mut at) = ([f64::INFINITY; LANES], [usize::MAX; LANES]);
    let (l, r) = (left.chunks_exact(LANES), rows.chunks_exact(LANES));
    let (l_rest, r_rest) = (l.remainder(), r.remainder());
    for (n, (x, y)) in l.zip(r).enumerate() {
        for k in 0..LANES {
            let c = x[k] + costs[y[k].wrapping_add(j)];
            if c < best[k] {
                (best[k], at[k]) = (c, n * LANES + k);
                keep_branch();
            }
        }
    }
    let base = left.len() - l_rest.len();
    for (k, (&x, &y)) in l_rest.iter().zip(r_rest).enumerate() {
        let c = x + costs[y.wrapping_add(j)];
        at[k] = if c < best[k] { base + k } else { at[k] };
        best[k] = if c < best[k] { c } else { best[k] };
    }
    let (mut b, mut a) = (best[0], at[0]);
    for k in 1..LANES {
        if best[k] < b || (best[k] == b && at[k] < a) {
            (b, a) = (best[k], at[k]);
        }
    }
    (b, a)
}

/// Keeps the `if` it is in a branch. The winner of a window, selected
/// without a branch, is data the next cell's window starts from, so the
/// cells of a row became one chain of loads and compares; a branch is
/// predicted (mostly the first candidate, or the same lane, keeps the
/// lead) and the next cell starts before this one is decided. Measured on
/// the tables of %file, %desc and %file,%network,%process: 0.89-0.91 x the
/// time with selects. Without this barrier the compiler turns the `if`
/// back into selects; with it (an empty, opaque step, nothing where the
/// branch is not taken) it keeps the branch. That is best effort, not a
/// guarantee, and only speed depends on it: either form picks the same
/// winner.
#[inline(always)]
fn keep_branch() {
    std::hint::black_box(());
}

/// A root, or a position within a row, in [`Table`].
type Root = u16;

/// High bit of a root: this triple is one `jeq`.
const NOTCH: Root = 1 << 15;

// Every root and position fits under the flag.
const _: () = assert!(DP_LIMIT < NOTCH as usize);

fn emit_dp(ivs: &[Interval], t: &Table, i: usize, j: usize, g: &mut Graph) -> NodeId {
    if i == j {
        return g.ret(ivs[i].action);
    }
    let r = t.buf.roots[t.at(i, j)];
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The cost of the tree the table describes, recomputed from its roots.
    fn tree_cost(t: &Table, pre: &[f64], i: usize, j: usize) -> f64 {
        if i == j {
            return 0.0;
        }
        let (r, weight) = (t.buf.roots[t.at(i, j)], pre[j + 1] - pre[i]);
        if r & NOTCH != 0 {
            assert_eq!(j, i + 2, "a notch spans three intervals");
            return weight;
        }
        let r = r as usize;
        assert!(i < r && r <= j, "root {r} outside {i}..={j}");
        weight + tree_cost(t, pre, i, r - 1) + tree_cost(t, pre, r, j)
    }

    /// The recurrence over every root, no bounds: cubic, for reference.
    fn naive(pre: &[f64]) -> f64 {
        let n = pre.len() - 1;
        let mut c = vec![vec![0.0f64; n]; n];
        for d in 1..n {
            for i in 0..n - d {
                let j = i + d;
                let best = (i + 1..=j)
                    .map(|r| c[i][r - 1] + c[r][j])
                    .fold(f64::INFINITY, f64::min);
                c[i][j] = pre[j + 1] - pre[i] + best;
            }
        }
        c[0][n - 1]
    }

    /// The same recurrence, Knuth's bounds and `jeq` shape as [`Table`],
    /// written plainly on a square table: the roots and the costs must be
    /// the same, ties and notches included.
    fn plain(ivs: &[Interval], pre: &[f64]) -> (Vec<Vec<Root>>, Vec<Vec<f64>>) {
        let n = ivs.len();
        let (mut c, mut root) = (vec![vec![0.0f64; n]; n], vec![vec![0 as Root; n]; n]);
        for (i, row) in root.iter_mut().enumerate() {
            row[i] = i as Root;
        }
        for d in 1..n {
            for i in 0..n - d {
                let j = i + d;
                let unflag = |r: Root| (r & !NOTCH) as usize;
                let lo = unflag(root[i][j - 1]).max(i + 1);
                let hi = if d == 1 {
                    j
                } else {
                    unflag(root[i + 1][j]).clamp(lo, j)
                };
                let (mut best, mut best_r) = (f64::INFINITY, lo);
                for r in lo..=hi {
                    let x = c[i][r - 1] + c[r][j];
                    if x < best {
                        (best, best_r) = (x, r);
                    }
                }
                let weight = pre[j + 1] - pre[i];
                (c[i][j], root[i][j]) = (weight + best, best_r as Root);
                if d == 2 && is_notch(ivs, i) && weight < c[i][j] {
                    (c[i][j], root[i][j]) = (weight, best_r as Root | NOTCH);
                }
            }
        }
        (root, c)
    }

    #[test]
    fn wide_windows_find_the_first_least_candidate() {
        let mut next = crate::testing::xorshift64(0x2545_f491_4f6c_dd1d);
        for m in 1..40 {
            for _ in 0..50 {
                // Few distinct values, so that candidates tie.
                let left: Vec<f64> = (0..m).map(|_| (next() % 4) as f64 / 2.0).collect();
                let costs: Vec<f64> = (0..m + 7).map(|_| (next() % 4) as f64 / 2.0).collect();
                let j = 3;
                let rows: Vec<usize> = (0..m)
                    .map(|_| (next() as usize % (m + 7)).wrapping_sub(j))
                    .collect();
                let cost = |k: usize| left[k] + costs[rows[k].wrapping_add(j)];
                let (mut best, mut at) = (cost(0), 0);
                for k in 1..m {
                    if cost(k) < best {
                        (best, at) = (cost(k), k);
                    }
                }
                assert_eq!(
                    least_wide(&left, &rows, &costs, j),
                    (best, at),
                    "{m} candidates"
                );
            }
        }
    }

    #[test]
    fn a_thread_keeps_one_tables_buffers_up_to_a_bound() {
        let table = |n: u32| {
            let ivs: Vec<Interval> = (0..n)
                .map(|k| Interval {
                    lo: k,
                    hi: k,
                    action: k % 2,
                })
                .collect();
            Table::new(&ivs, &prefix(&vec![1.0; n as usize]))
        };
        // What the thread holds: the capacities of its kept buffers.
        let kept = || {
            KEPT.with(|k| {
                let b = k.take();
                let cells = (b.costs.capacity(), b.roots.capacity());
                k.set(b);
                cells
            })
        };
        assert_eq!(kept(), (0, 0));
        drop(table(200));
        assert_eq!(kept(), (20_100, 20_100));
        // A smaller table takes them and gives them back as they were.
        drop(table(10));
        assert_eq!(kept(), (20_100, 20_100));
        // A larger one within the bound has its own, of its size, kept.
        drop(table(210));
        assert_eq!(kept(), (22_155, 22_155));
        // One past the bound has its own too, and the kept ones stay.
        const _: () = assert!(300 * 301 / 2 > KEEP_CELLS);
        drop(table(300));
        assert_eq!(kept(), (22_155, 22_155));
    }

    #[test]
    fn knuth_table_is_the_plain_recurrence_and_optimal_without_notches() {
        let mut next = crate::testing::xorshift64(0x9e37_79b9_7f4a_7c15);
        for round in 0..400 {
            let n = 1 + (next() % 60) as usize;
            // Half the rounds with single numbers between runs of one
            // action (notches), half with none.
            let notches = round % 2 == 0;
            let (mut ivs, mut lo) = (Vec::new(), 0u32);
            for k in 0..n {
                let hi = lo + (next() % 3) as u32 + u32::from(!notches);
                ivs.push(Interval {
                    lo,
                    hi,
                    action: k as u32 % 2,
                });
                lo = hi + 1;
            }
            // Zero, integral and fractional weights, so that ties occur too.
            let w: Vec<f64> = (0..n)
                .map(|_| match next() % 4 {
                    0 => 0.0,
                    1 => 1.0,
                    _ => (next() % 1000) as f64 / 7.0,
                })
                .collect();
            let pre = prefix(&w);
            // Each round's table takes the buffers the round before gave
            // back, larger or smaller: what they held must not show.
            let t = Table::new(&ivs, &pre);
            let (roots, costs) = plain(&ivs, &pre);
            for (i, row) in roots.iter().enumerate() {
                for (j, &r) in row.iter().enumerate().skip(i) {
                    assert_eq!(t.buf.roots[t.at(i, j)], r, "round {round}: root({i}, {j})");
                    // To the bit: the table's faster paths must do the same
                    // arithmetic in the same order.
                    assert_eq!(
                        t.buf.costs[t.at(i, j)].to_bits(),
                        costs[i][j].to_bits(),
                        "round {round}: c({i}, {j})"
                    );
                }
            }
            if !notches {
                let (got, want) = (tree_cost(&t, &pre, 0, n - 1), naive(&pre));
                assert!(
                    (got - want).abs() <= 1e-9 * want.max(1.0),
                    "round {round}, {n} intervals: table {got}, best {want}"
                );
            }
        }
    }
}
