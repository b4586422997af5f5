//! Linear matching with ranges, reverse-set style: per arch, the runs of
//! every action but one are tested in ascending order and everything else
//! falls through to that one action, chosen to need the fewest tests.
//!
//! Smallest for sets of one or two syscalls (three instructions for one
//! traced number in a table); its executed count grows with the set, so it
//! wins only on size. Kernel-cacheable: `jeq`, `jge`, `jgt` only.

use super::{dispatch, refuse_per_boundary, Matcher, Shape};
use crate::error::Result;
use crate::program::{Graph, NodeId};
use crate::set::{ArchDecisions, Decisions, Interval};
use crate::weights::ArchWeights;

pub(crate) struct Linear;

impl Matcher for Linear {
    fn build(&self, d: &Decisions, _: &ArchWeights, g: &mut Graph) -> Result<NodeId> {
        refuse_per_boundary(d)?;
        dispatch(d, g, |a, _, g| Ok(chain(a, g)))
    }

    fn depths(&self, a: &ArchDecisions) -> Option<Vec<u32>> {
        Some(comparisons(a))
    }

    /// One comparison a run, by the constant it tests first.
    fn shape(&self, a: &ArchDecisions) -> Option<Shape> {
        let constants = first_constants(a);
        Some(Shape {
            comparisons: constants.len(),
            constants,
            other_tests: 0,
        })
    }

    fn compares_boundaries_only(&self) -> bool {
        true
    }
}

/// Comparisons needed to test one run in the chain.
fn tests(iv: &Interval) -> usize {
    if iv.lo == iv.hi || iv.lo == 0 || iv.hi == u32::MAX {
        1
    } else {
        2
    }
}

/// The action the chain falls through to: the one whose runs would cost
/// the most tests; ties go to the first seen.
fn default_action(a: &ArchDecisions) -> u32 {
    // (action, tests), in order of first appearance; a spec has few actions.
    let mut cost: Vec<(u32, usize)> = Vec::new();
    for iv in &a.intervals {
        match cost.iter_mut().find(|(act, _)| *act == iv.action) {
            Some((_, c)) => *c += tests(iv),
            None => cost.push((iv.action, tests(iv))),
        }
    }
    let mut best = cost[0];
    for &c in &cost[1..] {
        if c.1 > best.1 {
            best = c;
        }
    }
    best.0
}

/// The constant of the first test of a run in the chain: `jeq lo` for a
/// single number, `jge lo` for a run to the top, else `jgt hi`.
fn first_test(iv: &Interval) -> u32 {
    if iv.lo == iv.hi || iv.hi == u32::MAX {
        iv.lo
    } else {
        iv.hi
    }
}

fn chain(a: &ArchDecisions, g: &mut Graph) -> NodeId {
    let default = default_action(a);
    let fall = g.ret(default);
    let mut next = fall;
    for iv in a.intervals.iter().rev().filter(|iv| iv.action != default) {
        // Numbers below `iv.lo` reaching this test are in no later run, so
        // they take the default.
        let (hit, k) = (g.ret(iv.action), first_test(iv));
        next = if iv.lo == iv.hi {
            g.jeq(k, hit, next)
        } else if iv.hi == u32::MAX {
            g.jge(k, hit, next)
        } else if iv.lo == 0 {
            g.jgt(k, next, hit)
        } else {
            let inside = g.jge(iv.lo, hit, fall);
            g.jgt(k, next, inside)
        };
    }
    next
}

/// A lower bound on the comparisons each interval's numbers pass in the
/// chain [`chain`] makes, without building it: a number passes every run
/// of the chain below it with at least one test (nothing on that path can
/// be decided by the range of A: the runs ascend and only `jgt` taken or
/// `jeq` not taken lead on), plus one test to be matched or to leave.
fn comparisons(a: &ArchDecisions) -> Vec<u32> {
    let default = default_action(a);
    let mut below = 0u32;
    let last_run = a.intervals.iter().rposition(|iv| iv.action != default);
    a.intervals
        .iter()
        .enumerate()
        .map(|(k, iv)| {
            if iv.action != default {
                below += 1;
                below
            } else {
                // Some run above is still tested on the way out.
                below + u32::from(last_run.is_some_and(|l| l > k))
            }
        })
        .collect()
}

/// The constant of the first test of each run of the chain [`chain`]
/// makes, for a floor on its length: each such test is reached by the
/// run's own numbers and by numbers that go on, so none is decided by the
/// range of A, except for the last interval's single test, which numbers
/// below may all have left before (with three actions).
fn first_constants(a: &ArchDecisions) -> Vec<u32> {
    let default = default_action(a);
    let mut out: Vec<u32> = a
        .intervals
        .iter()
        .filter(|iv| iv.action != default)
        .map(first_test)
        .collect();
    if a.intervals.last().is_some_and(|iv| iv.action != default) {
        out.pop();
    }
    out
}
