//! Decision intervals: the whole input reduced to, per audit arch, a sorted
//! partition of all 2^32 syscall numbers into maximal runs with one action.
//!
//! Everything downstream (strategies, verification, statistics) works on
//! this form only. A second personality on the same arch, such as x32 beside
//! x86_64, is nothing but more intervals of that arch.

use crate::clone_guard::Guard;
use crate::error::{Error, Result};
use crate::spec::{self, ActionMap, Options, Personality, Table};

/// Numbers `lo..=hi` get `action`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Interval {
    pub lo: u32,
    pub hi: u32,
    pub action: u32,
}

/// The decisions for one audit arch: intervals covering `0..=u32::MAX`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArchDecisions {
    pub arch: u32,
    pub intervals: Vec<Interval>,
}

impl ArchDecisions {
    /// The action for `nr`.
    #[cfg(test)]
    pub fn action(&self, nr: u32) -> u32 {
        let i = self.intervals.partition_point(|iv| iv.hi < nr);
        self.intervals[i].action
    }

    /// The index of the interval holding `nr`.
    pub fn index_of(&self, nr: u32) -> usize {
        self.intervals.partition_point(|iv| iv.hi < nr)
    }

    /// Gives `nr` alone `action`, splitting its interval.
    pub fn isolate(&mut self, nr: u32, action: u32) {
        let i = self.index_of(nr);
        let iv = self.intervals[i];
        let mut parts = Vec::with_capacity(3);
        if iv.lo < nr {
            parts.push(Interval { hi: nr - 1, ..iv });
        }
        parts.push(Interval {
            lo: nr,
            hi: nr,
            action,
        });
        if nr < iv.hi {
            parts.push(Interval { lo: nr + 1, ..iv });
        }
        self.intervals.splice(i..=i, parts);
    }
}

/// The whole specification: arches in dispatch order, and the action for
/// every arch not listed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decisions {
    pub archs: Vec<ArchDecisions>,
    pub other_arch: u32,
    /// Actions that stand for an argument test ([`crate::clone_guard`]);
    /// empty unless the CLONE_UNTRACED guard is on.
    pub guards: Vec<Guard>,
}

impl Decisions {
    /// Validates and normalises. Arches keep the order in which the caller
    /// first names them: by convention the native personality comes first.
    pub fn new(pers: &[Personality], opts: &Options) -> Result<Decisions> {
        opts.validate()?;
        spec::validate(pers)?;
        Decisions::by_arch(pers, opts, arch_intervals)
    }

    /// [`Decisions::new`] for action maps: the same normal form, each run
    /// of equal values one interval.
    pub fn from_maps(maps: &[ActionMap], opts: &Options) -> Result<Decisions> {
        opts.validate()?;
        spec::validate_maps(maps)?;
        Decisions::by_arch(maps, opts, map_intervals)
    }

    /// The arches in the order the caller first names them, each with its
    /// personalities' intervals in nr_flag order.
    fn by_arch<T: Table>(
        tables: &[T],
        opts: &Options,
        intervals: fn(&[&T], &Options) -> Result<Vec<Interval>>,
    ) -> Result<Decisions> {
        let mut archs: Vec<u32> = Vec::new();
        for t in tables {
            if !archs.contains(&t.audit_arch()) {
                archs.push(t.audit_arch());
            }
        }
        let archs = archs
            .into_iter()
            .map(|arch| {
                let mut same: Vec<&T> = tables.iter().filter(|t| t.audit_arch() == arch).collect();
                same.sort_by_key(|t| t.nr_flag());
                Ok(ArchDecisions {
                    arch,
                    intervals: intervals(&same, opts)?,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Decisions {
            archs,
            other_arch: opts.unknown_arch_action,
            guards: Vec::new(),
        })
    }

    pub fn arch(&self, arch: u32) -> Option<&ArchDecisions> {
        self.archs.iter().find(|a| a.arch == arch)
    }

    /// The specified action for any (arch, nr).
    #[cfg(test)]
    pub fn action(&self, arch: u32, nr: u32) -> u32 {
        self.arch(arch).map_or(self.other_arch, |a| a.action(nr))
    }

    /// Puts the arches in dispatch order, heaviest first by `weight` (one
    /// per arch, in the current order), so that most syscalls pass the
    /// fewest arch tests; the sort is stable, so equal weights keep the
    /// caller's order.
    pub fn order_by(&mut self, weight: &[f64]) {
        let mut order: Vec<usize> = (0..self.archs.len()).collect();
        order.sort_by(|&a, &b| weight[b].total_cmp(&weight[a]));
        self.archs = order.iter().map(|&i| self.archs[i].clone()).collect();
    }

    /// Total number of intervals over all arches.
    pub fn interval_count(&self) -> usize {
        self.archs.iter().map(|a| a.intervals.len()).sum()
    }
}

/// Appends `lo..=hi` with `action`, merging with the previous run when the
/// action is the same. Callers append in increasing order without gaps.
fn push(out: &mut Vec<Interval>, lo: u32, hi: u32, action: u32) {
    match out.last_mut() {
        Some(last) if last.action == action => last.hi = hi,
        _ => out.push(Interval { lo, hi, action }),
    }
}

/// `same` holds the personalities of one arch, sorted by flag and disjoint.
fn arch_intervals(same: &[&Personality], opts: &Options) -> Result<Vec<Interval>> {
    // The largest allocation the input sizes (up to spec::MAX_RUNS), made
    // fallibly: a run and a gap before it per personality, and the tail.
    let mut out = Vec::new();
    let most: usize = same.iter().map(|p| p.runs() as usize + 1).sum::<usize>() + 1;
    out.try_reserve_exact(most).map_err(|_| Error::NoMemory)?;
    let mut next: u64 = 0; // first number not yet covered
    for p in same {
        if p.nsyscalls == 0 {
            continue;
        }
        let base = p.nr_flag;
        if (base as u64) > next {
            push(&mut out, next as u32, base - 1, opts.unknown_nr_action);
        }
        let action = |traced: bool| {
            if traced {
                opts.traced_action
            } else {
                opts.allowed_action
            }
        };
        let mut run_start = 0u32;
        let mut run_traced = p.is_traced(0);
        let mut i = 1u32;
        while i < p.nsyscalls {
            // Whole bytes that continue the current run are skipped at once.
            let byte = p.traced[(i / 8) as usize];
            let uniform = if run_traced { 0xff } else { 0x00 };
            if i % 8 == 0 && byte == uniform && i + 8 <= p.nsyscalls {
                i += 8;
                continue;
            }
            let t = p.is_traced(i);
            if t != run_traced {
                push(
                    &mut out,
                    base | run_start,
                    base | (i - 1),
                    action(run_traced),
                );
                run_start = i;
                run_traced = t;
            }
            i += 1;
        }
        push(
            &mut out,
            base | run_start,
            base | (p.nsyscalls - 1),
            action(run_traced),
        );
        next = base as u64 + p.nsyscalls as u64;
    }
    if next <= u32::MAX as u64 {
        push(&mut out, next as u32, u32::MAX, opts.unknown_nr_action);
    }
    Ok(out)
}

/// [`arch_intervals`] for the action maps of one arch, sorted by flag and
/// disjoint.
fn map_intervals(same: &[&ActionMap], opts: &Options) -> Result<Vec<Interval>> {
    let mut out = Vec::new();
    let most: usize = same.iter().map(|m| m.runs() as usize + 1).sum::<usize>() + 1;
    out.try_reserve_exact(most).map_err(|_| Error::NoMemory)?;
    let mut next: u64 = 0; // first number not yet covered
    for m in same {
        if m.actions.is_empty() {
            continue;
        }
        let base = m.nr_flag;
        if (base as u64) > next {
            push(&mut out, next as u32, base - 1, opts.unknown_nr_action);
        }
        for (i, &a) in m.actions.iter().enumerate() {
            let nr = base | i as u32;
            push(&mut out, nr, nr, a);
        }
        next = base as u64 + m.actions.len() as u64;
    }
    if next <= u32::MAX as u64 {
        push(&mut out, next as u32, u32::MAX, opts.unknown_nr_action);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bpf::*;

    const T: u32 = SECCOMP_RET_TRACE;
    const A: u32 = SECCOMP_RET_ALLOW;

    fn iv(lo: u32, hi: u32, action: u32) -> Interval {
        Interval { lo, hi, action }
    }

    #[test]
    fn bitmap_runs_and_unknown_tail() {
        let bits = [0b0000_0110u8, 0xff, 0x01];
        let p = Personality {
            audit_arch: 7,
            nr_flag: 0,
            traced: &bits,
            nsyscalls: 20,
        };
        let d = Decisions::new(&[p], &Options::default()).unwrap();
        assert_eq!(
            d.archs[0].intervals,
            vec![
                iv(0, 0, A),
                iv(1, 2, T),
                iv(3, 7, A),
                iv(8, 16, T),
                iv(17, 19, A),
                iv(20, u32::MAX, T)
            ]
        );
        assert_eq!(d.action(7, 9), T);
        assert_eq!(d.action(7, 18), A);
        assert_eq!(d.action(8, 18), T);
    }

    #[test]
    fn x32_is_more_intervals_of_the_same_arch() {
        let bits = [0u8; 1];
        let opts = Options {
            unknown_nr_action: SECCOMP_RET_KILL_PROCESS,
            ..Options::default()
        };
        let x64 = Personality {
            audit_arch: 1,
            nr_flag: 0,
            traced: &bits,
            nsyscalls: 4,
        };
        let x32 = Personality {
            audit_arch: 1,
            nr_flag: 0x4000_0000,
            traced: &[0b10],
            nsyscalls: 3,
        };
        let d = Decisions::new(&[x32, x64], &opts).unwrap();
        let k = SECCOMP_RET_KILL_PROCESS;
        assert_eq!(
            d.archs[0].intervals,
            vec![
                iv(0, 3, A),
                iv(4, 0x3fff_ffff, k),
                iv(0x4000_0000, 0x4000_0000, A),
                iv(0x4000_0001, 0x4000_0001, T),
                iv(0x4000_0002, 0x4000_0002, A),
                iv(0x4000_0003, u32::MAX, k)
            ]
        );
    }

    #[test]
    fn full_range_personality_has_no_unknown_tail() {
        // The flag's low bits are clear, so 0x8000_0000 + 2^20 fits easily;
        // an empty personality leaves everything unknown.
        let p = Personality {
            audit_arch: 1,
            nr_flag: 0,
            traced: &[],
            nsyscalls: 0,
        };
        let d = Decisions::new(&[p], &Options::default()).unwrap();
        assert_eq!(d.archs[0].intervals, vec![iv(0, u32::MAX, T)]);
        let bits = [0u8; 1];
        let p = Personality {
            audit_arch: 1,
            nr_flag: 0xffff_fff8,
            traced: &bits,
            nsyscalls: 8,
        };
        let d = Decisions::new(&[p], &Options::default()).unwrap();
        assert_eq!(
            d.archs[0].intervals,
            vec![iv(0, 0xffff_fff7, T), iv(0xffff_fff8, u32::MAX, A)]
        );
    }
}
