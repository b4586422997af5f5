//! Linear matching with ranges, reverse-set style: per arch, the runs of
//! every action but one are tested in ascending order and everything else
//! falls through to that one action, chosen to need the fewest tests.
//!
//! Smallest for sets of one or two syscalls (three instructions for one
//! traced number in a table); its executed count grows with the set, so it
//! wins only on size. Kernel-cacheable: `jeq`, `jge`, `jgt` only.

use std::collections::HashMap;

use crate::program::{Graph, NodeId};
use crate::set::{ArchDecisions, Interval};

/// Comparisons needed to test one run in the chain.
fn tests(iv: &Interval) -> usize {
    if iv.lo == iv.hi || iv.lo == 0 || iv.hi == u32::MAX {
        1
    } else {
        2
    }
}

pub fn build(a: &ArchDecisions, g: &mut Graph) -> NodeId {
    let mut cost: HashMap<u32, usize> = HashMap::new();
    for iv in &a.intervals {
        *cost.entry(iv.action).or_default() += tests(iv);
    }
    // The fall-through action saves the most tests; ties go to the first seen.
    let default = a
        .intervals
        .iter()
        .map(|iv| iv.action)
        .max_by_key(|act| {
            (
                cost[act],
                std::cmp::Reverse(a.intervals.iter().position(|iv| iv.action == *act)),
            )
        })
        .expect("intervals cover every number");
    let fall = g.ret(default);
    let mut next = fall;
    for iv in a.intervals.iter().rev().filter(|iv| iv.action != default) {
        // Numbers below `iv.lo` reaching this test are in no later run, so
        // they take the default.
        let hit = g.ret(iv.action);
        next = if iv.lo == iv.hi {
            g.jeq(iv.lo, hit, next)
        } else if iv.hi == u32::MAX {
            g.jge(iv.lo, hit, next)
        } else if iv.lo == 0 {
            g.jgt(iv.hi, next, hit)
        } else {
            let inside = g.jge(iv.lo, hit, fall);
            g.jgt(iv.hi, next, inside)
        };
    }
    next
}
