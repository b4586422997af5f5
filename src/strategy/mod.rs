//! Matching strategies. Each turns decision intervals into a labelled
//! program and knows its own figures (a `Matcher`); arch dispatch,
//! layout, peephole and verification are shared.
//!
//! A strategy answers with `Error::Strategy` when it cannot express a
//! specification in its own terms; selection then simply skips it.

mod bits;
mod blocks;
mod jset;
mod linear;
mod search;
mod tree;

use crate::bpf::*;
use crate::error::{Error, Result};
use crate::program::{Graph, NodeId};
use crate::set::{ArchDecisions, Decisions};
use crate::spec::Strategy;
use crate::weights::ArchWeights;

/// A concrete strategy: what [`Strategy`] names but `Auto`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Tree,
    Search,
    Jset,
    Linear,
    Bits,
}

impl Kind {
    /// Every strategy, in the order ties are broken (`Strategy::ALL`).
    pub(crate) const ALL: [Kind; 5] = [
        Kind::Tree,
        Kind::Search,
        Kind::Jset,
        Kind::Linear,
        Kind::Bits,
    ];

    /// The concrete strategy `s` names, `None` for `Auto`.
    pub(crate) fn of(s: Strategy) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.strategy() == s)
    }

    pub(crate) fn strategy(self) -> Strategy {
        match self {
            Kind::Tree => Strategy::Tree,
            Kind::Search => Strategy::Search,
            Kind::Jset => Strategy::Jset,
            Kind::Linear => Strategy::Linear,
            Kind::Bits => Strategy::Bits,
        }
    }

    pub(crate) fn matcher(self) -> &'static dyn Matcher {
        match self {
            Kind::Tree => &tree::Tree,
            Kind::Search => &search::Search,
            Kind::Jset => &jset::Jset,
            Kind::Linear => &linear::Linear,
            Kind::Bits => &bits::Bits,
        }
    }
}

/// One strategy: how it builds, and what it can say of the program it
/// would build without building it, from the same walk.
pub(crate) trait Matcher {
    /// The labelled program.
    fn build(&self, d: &Decisions, w: &ArchWeights, g: &mut Graph) -> Result<NodeId>;

    /// A lower bound on the comparisons the numbers of each interval of
    /// `a` pass in the arch's body, for strategies whose shape follows
    /// from the intervals alone. A body never shrinks to a return unless
    /// the arch has a single interval.
    fn depths(&self, _a: &ArchDecisions) -> Option<Vec<u32>> {
        None
    }

    /// For a floor on the length: the fewest comparisons the arch's body
    /// can have and its other tests.
    fn shape(&self, _a: &ArchDecisions) -> Option<Shape> {
        None
    }

    /// Whether `nr` is compared with interval boundaries only, so that
    /// every number of an interval takes the same path.
    fn compares_boundaries_only(&self) -> bool {
        false
    }

    /// Whether the kernel's action cache can follow the program.
    fn cacheable(&self) -> bool {
        true
    }
}

/// The fewest comparisons an arch's body can have, their constants (a
/// comparison shared between arches has a constant both list) and how many
/// other tests the body needs at least.
pub(crate) struct Shape {
    pub comparisons: usize,
    pub constants: Vec<u32>,
    pub other_tests: usize,
}

impl Shape {
    /// A search over `pieces`, no other test.
    pub(crate) fn of_search<L: PartialEq>(pieces: &[(u32, L)]) -> Shape {
        let (comparisons, constants) = search::fewest_comparisons(pieces);
        Shape {
            comparisons,
            constants,
            other_tests: 0,
        }
    }
}

/// Builds the labelled program of `kind`.
pub(crate) fn build(kind: Kind, d: &Decisions, w: &ArchWeights, g: &mut Graph) -> Result<NodeId> {
    kind.matcher().build(d, w, g)
}

/// Comparison strategies need a comparison per interval boundary, give or
/// take the single numbers a `jeq` handles: hopeless specs are refused
/// before a graph is built for a million intervals.
pub(crate) fn refuse_per_boundary(d: &Decisions) -> Result<()> {
    if d.interval_count() > 2 * BPF_MAXINSNS + d.archs.len() {
        return Err(Error::TooLarge(format!(
            "{} intervals need more than {BPF_MAXINSNS} comparisons",
            d.interval_count()
        )));
    }
    Ok(())
}

/// `ld arch`, then one `jeq` per arch in the order of `d` (which puts the
/// heaviest first), each leading to `ld nr` and the arch's body; any other
/// arch falls through to its action. Identical bodies and returns are one
/// node, so they are shared.
pub(crate) fn dispatch(
    d: &Decisions,
    g: &mut Graph,
    mut body: impl FnMut(&ArchDecisions, usize, &mut Graph) -> Result<NodeId>,
) -> Result<NodeId> {
    let mut next = g.ret(d.other_arch);
    for (i, a) in d.archs.iter().enumerate().rev() {
        let b = body(a, i, g)?;
        let b = g.load(SECCOMP_DATA_NR, b);
        next = g.jeq(a.arch, b, next);
    }
    Ok(g.load(SECCOMP_DATA_ARCH, next))
}

/// Which arches [`dispatch`] tests: an arch whose body is the very return
/// a number of no listed arch gets has no `jeq`, the graph merges it away,
/// and so, from the last arch back, every such arch until one differs.
fn tested_archs(d: &Decisions) -> Vec<bool> {
    let mut jeq = vec![true; d.archs.len()];
    let mut fall = Some(d.other_arch);
    for (i, a) in d.archs.iter().enumerate().rev() {
        match a.intervals.as_slice() {
            [one] if Some(one.action) == fall => jeq[i] = false,
            _ => fall = None,
        }
    }
    jeq
}

/// A lower bound on the weighted mean of executed instructions of the
/// program of `kind`, for the strategies whose comparisons follow from the
/// intervals alone ([`Matcher::depths`]): the arch dispatch is the one
/// [`dispatch`] builds, layout only adds `ja`s and the peephole cannot
/// shorten these paths. `None` for the others.
pub(crate) fn cost_floor(kind: Kind, d: &Decisions, w: &ArchWeights) -> Option<f64> {
    let m = kind.matcher();
    let tests: Vec<Vec<u32>> = d.archs.iter().map(|a| m.depths(a)).collect::<Option<_>>()?;
    let jeq = tested_archs(d);
    if jeq.iter().all(|&j| !j) {
        // The whole program is one return.
        return Some(1.0);
    }
    let (mut num, mut den) = (0.0f64, 0.0f64);
    let mut arch_tests = 0;
    for (ai, a) in d.archs.iter().enumerate() {
        arch_tests += u32::from(jeq[ai]);
        // `ld arch`, the arch tests, `ld nr` unless the body is a return,
        // the comparisons, `ret`.
        let fixed = 2 + arch_tests + u32::from(a.intervals.len() > 1);
        for (k, &t) in tests[ai].iter().enumerate() {
            let wt = w.allowed[ai][k];
            if wt > 0.0 {
                num += wt * f64::from(fixed + t);
                den += wt;
            }
        }
    }
    Some(if den > 0.0 { num / den } else { 0.0 })
}

/// A lower bound on the length of the program of `kind`, for the
/// strategies with a [`Matcher::shape`]. Within an arch every comparison
/// has its own constant; arches may share a subtree, but a shared
/// comparison has a constant that is a boundary of each arch sharing it.
/// Every comparison is reached by numbers going either way, so the
/// peephole decides none of them. Then the other tests (at least one for
/// all arches, shared or not), the arch dispatch, one `ld nr` and one
/// return per action. `None` for the others.
pub(crate) fn length_floor(kind: Kind, d: &Decisions) -> Option<usize> {
    let m = kind.matcher();
    let mut actions: Vec<u32> = vec![d.other_arch];
    let (mut comparisons, mut other_tests) = (0, 0);
    // Each tested arch's constants, ascending.
    let mut boundaries: Vec<Vec<u32>> = Vec::new();
    let mut tested = 0;
    for (a, &j) in d.archs.iter().zip(&tested_archs(d)).rev() {
        for iv in &a.intervals {
            if !actions.contains(&iv.action) {
                actions.push(iv.action);
            }
        }
        let s = m.shape(a)?;
        if !j {
            continue;
        }
        if a.intervals.len() > 1 {
            comparisons += s.comparisons;
            let mut constants = s.constants;
            if !constants.is_sorted() {
                constants.sort_unstable();
            }
            boundaries.push(constants);
            other_tests = other_tests.max(s.other_tests);
        }
        tested += 1;
    }
    if tested == 0 {
        return Some(1);
    }
    // At most one comparison per repeat of a boundary value is shared.
    // The arches' lists ascend already (they follow the intervals), so
    // they are merged rather than sorted as one: under SIZE this runs for
    // every strategy of every compile.
    let total: usize = boundaries.iter().map(Vec::len).sum();
    let distinct = boundaries
        .iter()
        .fold(Vec::new(), |all, list| merge_distinct(&all, list));
    let shared = total - distinct.len();
    let ld_nr = usize::from(total > 0);
    // `ld arch`, the arch tests, `ld nr`, the comparisons, the other
    // tests, the returns.
    Some((1 + tested + ld_nr + comparisons + other_tests + actions.len()).saturating_sub(shared))
}

/// The distinct values of two ascending lists, ascending.
fn merge_distinct(a: &[u32], b: &[u32]) -> Vec<u32> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        let x = match (a.get(i), b.get(j)) {
            (Some(&x), Some(&y)) if x <= y => {
                i += 1;
                j += usize::from(x == y);
                x
            }
            (_, Some(&y)) => {
                j += 1;
                y
            }
            (Some(&x), None) => {
                i += 1;
                x
            }
            (None, None) => unreachable!("the loop ends first"),
        };
        if out.last() != Some(&x) {
            out.push(x);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_lists_hold_the_distinct_values_of_both() {
        let mut next = crate::testing::xorshift32(0x2545_f491);
        let mut list = |n: u32| {
            let mut v: Vec<u32> = (0..n)
                .map(|_| {
                    let x = next();
                    x % 64
                })
                .collect();
            v.sort_unstable();
            v
        };
        for n in 0..40 {
            let (a, b) = (list(n), list(40 - n));
            let mut want: Vec<u32> = a.iter().chain(&b).copied().collect();
            want.sort_unstable();
            want.dedup();
            assert_eq!(merge_distinct(&a, &b), want);
        }
    }
}
