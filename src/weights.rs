//! Syscall weights: how much each allowed syscall counts in the expected
//! cost of a program. By default every allowed syscall of a personality
//! counts the same: 1 for a personality without an nr_flag, 1/16 for one
//! with a flag (x32). x32 shares its arch, and so its search tree, with
//! x86_64; the kernel never caches it and few systems run it, so at equal
//! weight its 500-odd numbers would cost every x86_64 syscall a comparison.
//! A caller who knows the tracee's profile passes its own weights.
//!
//! Strategies see weights per decision interval, the only granularity they
//! work at; selection sees them per syscall, through the emulator.

use crate::error::{Error, Result};
use crate::set::Decisions;
use crate::spec::Table;

/// Optional per-syscall weights, one list per personality in the same
/// order, indexed by syscall number (without the flag): how much each
/// allowed syscall counts in the expected cost the `tree` strategy and the
/// speed objective minimize, e.g. how often the tracee makes it. `None` for
/// a personality (or an empty list for all) is uniform: 1 per allowed
/// syscall, 1/16 for a personality with an nr_flag (x32, which the kernel
/// never caches and few systems run). A list needs at least `nsyscalls`
/// finite, non-negative entries ([`Error::Invalid`](crate::Error::Invalid)
/// otherwise).
pub type SyscallWeights<'a> = [Option<&'a [f64]>];

/// A weight for intervals that hold no allowed syscall: small enough not to
/// matter against one allowed syscall, large enough that the tree does not
/// push the traced numbers arbitrarily deep.
const EPSILON: f64 = 1e-3;

pub(crate) fn validate<T: Table>(pers: &[T], w: &SyscallWeights) -> Result<()> {
    if w.is_empty() {
        return Ok(());
    }
    if w.len() != pers.len() {
        return Err(Error::Invalid(format!(
            "{} weight arrays for {} personalities",
            w.len(),
            pers.len()
        )));
    }
    for (i, (p, w)) in pers.iter().zip(w).enumerate() {
        let Some(w) = w else { continue };
        if w.len() < p.nsyscalls() as usize {
            return Err(Error::Invalid(format!(
                "personality {i}: {} weights for {} syscalls",
                w.len(),
                p.nsyscalls()
            )));
        }
        if let Some(x) = w[..p.nsyscalls() as usize]
            .iter()
            .find(|x| !x.is_finite() || **x < 0.0)
        {
            return Err(Error::Invalid(format!(
                "personality {i}: weight {x} is not a finite non-negative number"
            )));
        }
    }
    Ok(())
}

/// Default weight of an allowed syscall of a personality with an nr_flag.
pub(crate) const FLAGGED_WEIGHT: f64 = 1.0 / 16.0;

/// The weight of syscall `i` of `pers[p]`.
pub(crate) fn syscall_weight<T: Table>(w: &SyscallWeights, pers: &[T], p: usize, i: u32) -> f64 {
    match w.get(p) {
        Some(Some(w)) => w[i as usize],
        _ if pers[p].nr_flag() != 0 => FLAGGED_WEIGHT,
        _ => 1.0,
    }
}

/// Weights per interval of each arch of a `Decisions`, in its arch order.
#[derive(Clone, Debug, PartialEq)]
pub struct ArchWeights {
    /// What strategies balance: the allowed weight, never below `EPSILON`.
    pub intervals: Vec<Vec<f64>>,
    /// The exact allowed weight, for the expected cost.
    pub allowed: Vec<Vec<f64>>,
    /// Whether the interval holds an allowed syscall of a personality
    /// without an nr_flag (one the kernel's cache must prove).
    pub native: Vec<Vec<bool>>,
}

impl ArchWeights {
    pub(crate) fn new<T: Table>(d: &Decisions, pers: &[T], w: &SyscallWeights) -> ArchWeights {
        let mut out = ArchWeights {
            intervals: Vec::new(),
            allowed: Vec::new(),
            native: Vec::new(),
        };
        // Without weight lists every allowed syscall of a personality
        // weighs the same power of two, so an interval's sum is its count
        // of allowed numbers times that weight, exactly as if summed one by
        // one (every partial sum is a small multiple of 1/16).
        let uniform = w.iter().all(Option::is_none);
        for a in &d.archs {
            let mut sums = vec![0.0f64; a.intervals.len()];
            let mut native = vec![false; a.intervals.len()];
            for (pi, p) in pers.iter().enumerate() {
                if p.audit_arch() != a.arch || p.nsyscalls() == 0 {
                    continue;
                }
                if uniform {
                    // The flag has no bit in common with the numbers
                    // (`spec::validate`), so `flag | i` is `flag + i`.
                    let (flag, weight) = (p.nr_flag(), syscall_weight(&[], pers, pi, 0));
                    let last = flag + (p.nsyscalls() - 1);
                    let mut k = a.index_of(flag);
                    loop {
                        let iv = a.intervals[k];
                        let n = p.allowed_in(iv.lo.max(flag) - flag, iv.hi.min(last) - flag);
                        if n > 0 {
                            sums[k] += f64::from(n) * weight;
                            native[k] |= flag == 0;
                        }
                        if iv.hi >= last {
                            break;
                        }
                        k += 1;
                    }
                    continue;
                }
                // Numbers ascend, so the interval index only moves forward.
                let mut k = a.index_of(p.nr_flag());
                // `syscall_weight`, its choice made once per personality:
                // this runs for every number of every compile.
                let list = match w.get(pi) {
                    Some(Some(list)) => Some(*list),
                    _ => None,
                };
                let unlisted = syscall_weight(&[], pers, pi, 0);
                for i in 0..p.nsyscalls() {
                    let nr = p.nr_flag() | i;
                    while a.intervals[k].hi < nr {
                        k += 1;
                    }
                    if p.allowed(i) {
                        sums[k] += list.map_or(unlisted, |l| l[i as usize]);
                        native[k] |= p.nr_flag() == 0;
                    }
                }
            }
            out.intervals.push(
                sums.iter()
                    .map(|&s| if s > 0.0 { s } else { EPSILON })
                    .collect(),
            );
            out.allowed.push(sums);
            out.native.push(native);
        }
        out
    }

    /// Total weight of each arch.
    pub fn arch_totals(&self) -> Vec<f64> {
        self.intervals.iter().map(|v| v.iter().sum()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{Options, Personality};

    #[test]
    fn uniform_weights_counted_per_interval_are_the_sums_number_by_number() {
        let mut next = crate::testing::xorshift32(0x2545_f491);
        for round in 0..50u32 {
            let bits: Vec<u8> = (0..240)
                .map(|_| {
                    let x = next();
                    // Long runs and scattered numbers both.
                    if round % 2 == 0 {
                        (x & (x >> 11)) as u8
                    } else {
                        [0x00, 0xff][(x >> 9) as usize % 2]
                    }
                })
                .collect();
            let n = 300 + round * 7;
            let pers = [
                Personality {
                    audit_arch: 7,
                    nr_flag: 0,
                    traced: &bits[..80],
                    nsyscalls: n.min(640),
                },
                Personality {
                    audit_arch: 7,
                    nr_flag: 0x4000_0000,
                    traced: &bits[80..160],
                    nsyscalls: 600,
                },
                Personality {
                    audit_arch: 9,
                    nr_flag: 0,
                    traced: &bits[160..],
                    nsyscalls: 1 + round * 11,
                },
            ];
            for p in &pers {
                for (from, to) in [(0, p.nsyscalls - 1), (3, 17), (8, 15), (5, 5), (9, 200)] {
                    let to = to.min(p.nsyscalls - 1);
                    if from <= to {
                        let want = (from..=to).filter(|&i| !p.is_traced(i)).count() as u32;
                        assert_eq!(p.allowed_in(from, to), want, "{from}..={to}");
                    }
                }
            }
            let d = Decisions::new(&pers, &Options::default()).unwrap();
            let (one, sixteenth) = (vec![1.0; 640], vec![FLAGGED_WEIGHT; 640]);
            let lists = [Some(&one[..]), Some(&sixteenth[..]), Some(&one[..])];
            assert_eq!(
                ArchWeights::new(&d, &pers, &[]),
                ArchWeights::new(&d, &pers, &lists),
                "round {round}"
            );
        }
    }
}
