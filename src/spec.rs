//! What the caller asks for: personalities with their traced bitmaps, and the
//! options that pick actions, strategy and objective.

use crate::bpf::*;
use crate::error::{Error, Result};

/// Numbers at or above this many bits per personality are refused. It keeps
/// a bitmap at 128 KiB and still covers ARM's private syscalls (0x0f0000+).
pub const MAX_NSYSCALLS: u32 = 1 << 20;

/// Most numbers over all personalities of one spec: one table with ARM's
/// private syscalls beside a few ordinary ones. Everything a compile
/// allocates or scans grows with the numbers or the runs; these two limits
/// keep the worst case within 48 MiB and well under a second.
pub const MAX_TOTAL_NSYSCALLS: u32 = 1 << 21;

/// Most runs (maximal ranges of consecutive numbers of one personality with
/// one action: all traced or all untraced in a bitmap, one value in an
/// action map) over all personalities. A real table of n numbers has at
/// most n runs; the largest (MIPS n32) has under 6,500.
pub const MAX_RUNS: u32 = 1 << 18;

/// One syscall personality: an audit arch, the flag its numbers carry, and
/// which of its numbers are traced.
#[derive(Clone, Copy, Debug)]
pub struct Personality<'a> {
    /// The audit arch of its syscalls (`AUDIT_ARCH_*` of linux/audit.h).
    pub audit_arch: u32,
    /// A flag every number of this personality carries in `seccomp_data.nr`
    /// (x32: `0x40000000`); 0 for the others.
    pub nr_flag: u32,
    /// Bit `i % 8` of byte `i / 8`: syscall `i` is traced. At least
    /// `nsyscalls.div_ceil(8)` bytes; bits at or above `nsyscalls` are ignored.
    pub traced: &'a [u8],
    /// Numbers `0..nsyscalls` (before the flag) are this personality's; any
    /// other number of its arch gets `unknown_nr_action`.
    pub nsyscalls: u32,
}

impl Personality<'_> {
    /// Whether syscall `i` (without the flag) is traced. Panics when the
    /// bitmap does not cover `i < nsyscalls` (a spec [`compile`](crate::compile) refuses).
    pub fn is_traced(&self, i: u32) -> bool {
        i < self.nsyscalls && self.traced[(i / 8) as usize] & (1 << (i % 8)) != 0
    }

    /// Maximal runs of traced or of untraced numbers, counted a byte at a
    /// time without allocating.
    pub fn runs(&self) -> u32 {
        if self.nsyscalls == 0 {
            return 0;
        }
        let bytes = self.nsyscalls.div_ceil(8) as usize;
        let mut changes = 0;
        // The previous number's bit, shifted in below each byte: bit i of
        // `b ^ (b << 1 | prev)` is set where number i differs from i - 1.
        let mut prev = self.traced[0] & 1;
        for (i, &b) in self.traced[..bytes].iter().enumerate() {
            let mut diff = b ^ (b << 1 | prev);
            if i == bytes - 1 && self.nsyscalls % 8 != 0 {
                diff &= (1u8 << (self.nsyscalls % 8)) - 1;
            }
            changes += diff.count_ones();
            prev = b >> 7;
        }
        1 + changes
    }

    /// The numbers this personality defines, as seen in `seccomp_data.nr`.
    pub fn range(&self) -> std::ops::Range<u64> {
        let lo = self.nr_flag as u64;
        lo..lo + self.nsyscalls as u64
    }
}

/// One personality given as a full seccomp return value per syscall number
/// (data bits included), for [`compile_actions`](crate::compile_actions):
/// the general form of a [`Personality`], whose bitmap stands for
/// `traced_action` and `allowed_action`.
///
/// Any number of distinct values may appear. A value whose action part
/// (`SECCOMP_RET_ACTION_FULL`) is not one the kernel knows is an
/// [`Error::Invalid`]. Only a value of exactly `SECCOMP_RET_ALLOW` counts as
/// allowed in the figures ([`Program::stats_actions`](crate::Program::stats_actions)):
/// the kernel's action cache proves nothing else (kernel/seccomp.c,
/// seccomp_is_const_allow(), compares the return with SECCOMP_RET_ALLOW).
#[derive(Clone, Copy, Debug)]
pub struct ActionMap<'a> {
    /// The audit arch of its syscalls (`AUDIT_ARCH_*` of linux/audit.h).
    pub audit_arch: u32,
    /// A flag every number of this personality carries in `seccomp_data.nr`
    /// (x32: `0x40000000`); 0 for the others.
    pub nr_flag: u32,
    /// `actions[i]`: what the filter returns for number `i` (before the
    /// flag). Its length is the number of syscalls; any other number of
    /// its arch gets `unknown_nr_action`. At most 2^20
    /// (`TRACEFILTER_MAX_NSYSCALLS`).
    pub actions: &'a [u32],
}

impl ActionMap<'_> {
    /// Maximal runs of equal values.
    pub fn runs(&self) -> u32 {
        if self.actions.is_empty() {
            return 0;
        }
        1 + self.actions.windows(2).filter(|w| w[0] != w[1]).count() as u32
    }
}

/// What the pipeline needs of either form of personality: its numbers, and
/// which of them count as allowed (measured by the figures and weighed by
/// the expected cost).
pub(crate) trait Table {
    fn audit_arch(&self) -> u32;
    fn nr_flag(&self) -> u32;
    fn nsyscalls(&self) -> u32;
    /// Whether number `i < nsyscalls` counts as allowed.
    fn allowed(&self, i: u32) -> bool;
    /// Maximal runs of numbers with one action.
    fn runs(&self) -> u32;

    /// The numbers it defines, as seen in `seccomp_data.nr`.
    fn range(&self) -> std::ops::Range<u64> {
        let lo = self.nr_flag() as u64;
        lo..lo + self.nsyscalls() as u64
    }

    /// How many numbers of `from..=to` (all below `nsyscalls`) count as
    /// allowed.
    fn allowed_in(&self, from: u32, to: u32) -> u32 {
        (from..=to).filter(|&i| self.allowed(i)).count() as u32
    }
}

impl Table for Personality<'_> {
    /// A byte of the bitmap at a time: uniform weights are counted per
    /// interval this way on every compile.
    fn allowed_in(&self, from: u32, to: u32) -> u32 {
        let (first, last) = ((from / 8) as usize, (to / 8) as usize);
        let low = 0xffu8 << (from % 8);
        let high = 0xffu8 >> (7 - to % 8);
        let traced = if first == last {
            (self.traced[first] & low & high).count_ones()
        } else {
            (self.traced[first] & low).count_ones()
                + self.traced[first + 1..last]
                    .iter()
                    .map(|b| b.count_ones())
                    .sum::<u32>()
                + (self.traced[last] & high).count_ones()
        };
        to - from + 1 - traced
    }

    fn audit_arch(&self) -> u32 {
        self.audit_arch
    }
    fn nr_flag(&self) -> u32 {
        self.nr_flag
    }
    fn nsyscalls(&self) -> u32 {
        self.nsyscalls
    }
    fn allowed(&self, i: u32) -> bool {
        !self.is_traced(i)
    }
    fn runs(&self) -> u32 {
        Personality::runs(self)
    }
}

impl Table for ActionMap<'_> {
    fn audit_arch(&self) -> u32 {
        self.audit_arch
    }
    fn nr_flag(&self) -> u32 {
        self.nr_flag
    }
    fn nsyscalls(&self) -> u32 {
        self.actions.len() as u32
    }
    fn allowed(&self, i: u32) -> bool {
        self.actions[i as usize] == SECCOMP_RET_ALLOW
    }
    fn runs(&self) -> u32 {
        ActionMap::runs(self)
    }
}

/// A matching strategy. `Auto` lets the objective choose.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Strategy {
    /// Every strategy is tried and the best for the objective kept.
    Auto,
    /// Binary search over interval boundaries, balanced by interval count.
    Search,
    /// Per arch, a chain of tests for the minority action's runs, falling
    /// through to the majority action.
    Linear,
    /// Blocks of 32 numbers tested by `1 << (nr & 31)` against a mask, behind
    /// a search over blocks. Small, never kernel-cacheable.
    Bits,
    /// The alphabetic decision tree of least expected executed instructions
    /// under the syscall weights (uniform over allowed syscalls by default).
    Tree,
    /// A decision diagram over the bits of `nr` with single-bit `jset`
    /// tests, hybridised with range tests: kernel-cacheable.
    Jset,
}

impl Strategy {
    /// Every concrete strategy, in the order ties are broken.
    pub const ALL: [Strategy; 5] = [
        Strategy::Tree,
        Strategy::Search,
        Strategy::Jset,
        Strategy::Linear,
        Strategy::Bits,
    ];

    pub(crate) fn from_id(id: u32) -> Option<Strategy> {
        match id {
            0 => Some(Strategy::Auto),
            1 => Some(Strategy::Search),
            2 => Some(Strategy::Linear),
            3 => Some(Strategy::Bits),
            4 => Some(Strategy::Tree),
            5 => Some(Strategy::Jset),
            _ => None,
        }
    }

    pub(crate) const fn id(self) -> u32 {
        match self {
            Strategy::Auto => 0,
            Strategy::Search => 1,
            Strategy::Linear => 2,
            Strategy::Bits => 3,
            Strategy::Tree => 4,
            Strategy::Jset => 5,
        }
    }

    /// The name (`search`, `tree`, ...), as the C ABI and the tools spell it.
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Auto => "auto",
            Strategy::Search => "search",
            Strategy::Linear => "linear",
            Strategy::Bits => "bits",
            Strategy::Tree => "tree",
            Strategy::Jset => "jset",
        }
    }
}

/// What "best program" means when several strategies apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Objective {
    /// Kernel-cacheable first, then fewest executed instructions, then size.
    Speed,
    /// Fewest instructions.
    Size,
}

impl Objective {
    pub(crate) fn from_id(id: u32) -> Option<Objective> {
        match id {
            0 => Some(Objective::Speed),
            1 => Some(Objective::Size),
            _ => None,
        }
    }
}

/// Actions, strategy and objective of a compile. `Default` is what a
/// tracer wants: `SECCOMP_RET_TRACE` for the traced syscalls and for
/// numbers and arches no personality defines, `SECCOMP_RET_ALLOW` for the
/// rest, every strategy tried, the speed objective.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// Returned for the traced syscalls.
    pub traced_action: u32,
    /// Returned for the others.
    pub allowed_action: u32,
    /// Returned for numbers of a known arch that no personality defines.
    pub unknown_nr_action: u32,
    /// Returned for arches no personality has.
    pub unknown_arch_action: u32,
    /// A forced strategy, or [`Strategy::Auto`].
    pub strategy: Strategy,
    /// What the best program is.
    pub objective: Objective,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            traced_action: SECCOMP_RET_TRACE,
            allowed_action: SECCOMP_RET_ALLOW,
            unknown_nr_action: SECCOMP_RET_TRACE,
            unknown_arch_action: SECCOMP_RET_TRACE,
            strategy: Strategy::Auto,
            objective: Objective::Speed,
        }
    }
}

impl Options {
    pub(crate) fn validate(&self) -> Result<()> {
        for (name, value) in [
            ("traced_action", self.traced_action),
            ("allowed_action", self.allowed_action),
            ("unknown_nr_action", self.unknown_nr_action),
            ("unknown_arch_action", self.unknown_arch_action),
        ] {
            if !action_is_valid(value) {
                return Err(Error::Invalid(format!(
                    "{name} {value:#010x} is not a seccomp action"
                )));
            }
        }
        Ok(())
    }
}

/// Checks each personality alone and all of them together.
pub fn validate(pers: &[Personality]) -> Result<()> {
    for (i, p) in pers.iter().enumerate() {
        if p.nsyscalls > MAX_NSYSCALLS {
            return Err(Error::Invalid(format!(
                "personality {i}: nsyscalls {} exceeds the maximum {MAX_NSYSCALLS}",
                p.nsyscalls
            )));
        }
        if (p.traced.len() as u64) * 8 < p.nsyscalls as u64 {
            return Err(Error::Invalid(format!(
                "personality {i}: bitmap of {} bytes is shorter than nsyscalls {}",
                p.traced.len(),
                p.nsyscalls
            )));
        }
    }
    validate_tables(pers)
}

/// Checks each action map alone and all of them together.
pub fn validate_maps(maps: &[ActionMap]) -> Result<()> {
    for (i, m) in maps.iter().enumerate() {
        if m.actions.len() > MAX_NSYSCALLS as usize {
            return Err(Error::Invalid(format!(
                "action map {i}: {} actions exceed the maximum {MAX_NSYSCALLS}",
                m.actions.len()
            )));
        }
        if let Some((nr, v)) = m
            .actions
            .iter()
            .enumerate()
            .find(|(_, &v)| !action_part_is_known(v))
        {
            return Err(Error::Invalid(format!(
                "action map {i}: value {v:#010x} of number {nr} is not a seccomp action"
            )));
        }
    }
    validate_tables(maps)
}

/// Whether the kernel knows the action part of `value`; the data bits are
/// the caller's (they mean something for TRACE, ERRNO and TRAP only, and
/// the kernel ignores them elsewhere).
pub(crate) const fn action_part_is_known(value: u32) -> bool {
    action_is_valid(value & SECCOMP_RET_ACTION_FULL)
}

/// The checks both forms share: flags, overlaps and limits.
fn validate_tables<T: Table>(pers: &[T]) -> Result<()> {
    if pers.is_empty() {
        return Err(Error::Invalid("no personality given".into()));
    }
    for (i, p) in pers.iter().enumerate() {
        // Every bit a number below nsyscalls can have must be clear in the
        // flag, or `i | nr_flag` would fold distinct syscalls together.
        if p.nsyscalls() > 0 {
            let span = u32::MAX
                .checked_shr((p.nsyscalls() - 1).leading_zeros())
                .unwrap_or(0);
            if p.nr_flag() & span != 0 {
                return Err(Error::Invalid(format!(
                    "personality {i}: nr_flag {:#x} overlaps syscall numbers below {}",
                    p.nr_flag(),
                    p.nsyscalls()
                )));
            }
        }
        for (j, q) in pers[..i].iter().enumerate() {
            if q.audit_arch() != p.audit_arch() {
                continue;
            }
            // A repeated flag is an error even for an empty personality (the
            // caller named one twice); an empty range overlaps nothing else.
            let (a, b) = (p.range(), q.range());
            let overlap = !a.is_empty() && !b.is_empty() && a.start < b.end && b.start < a.end;
            if q.nr_flag() == p.nr_flag() || overlap {
                return Err(Error::Overlap(format!(
                    "personalities {j} and {i} share audit arch {:#x} and overlapping numbers",
                    p.audit_arch()
                )));
            }
        }
    }
    check_limits(pers)
}

/// The limits on the size of a spec ([`MAX_TOTAL_NSYSCALLS`], [`MAX_RUNS`]),
/// checked before anything is built from it.
pub(crate) fn check_limits<T: Table>(pers: &[T]) -> Result<()> {
    let total: u64 = pers.iter().map(|p| p.nsyscalls() as u64).sum();
    if total > MAX_TOTAL_NSYSCALLS as u64 {
        return Err(Error::Limit(format!(
            "{total} numbers in all exceed the maximum {MAX_TOTAL_NSYSCALLS}"
        )));
    }
    let runs: u64 = pers.iter().map(|p| p.runs() as u64).sum();
    if runs > MAX_RUNS as u64 {
        return Err(Error::Limit(format!(
            "{runs} runs of numbers with one action exceed the maximum {MAX_RUNS}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pers(arch: u32, flag: u32, traced: &[u8], n: u32) -> Personality<'_> {
        Personality {
            audit_arch: arch,
            nr_flag: flag,
            traced,
            nsyscalls: n,
        }
    }

    #[test]
    fn flag_must_not_overlap_numbers() {
        let bits = [0u8; 64];
        assert!(validate(&[pers(1, 0x4000_0000, &bits, 512)]).is_ok());
        assert!(validate(&[pers(1, 0x100, &bits, 256)]).is_ok());
        assert!(matches!(
            validate(&[pers(1, 0x100, &bits, 257)]),
            Err(Error::Invalid(_))
        ));
        assert!(matches!(
            validate(&[pers(1, 1, &bits, 2)]),
            Err(Error::Invalid(_))
        ));
        assert!(validate(&[pers(1, 1, &bits, 1)]).is_ok());
    }

    #[test]
    fn same_arch_needs_disjoint_numbers() {
        let bits = [0u8; 64];
        let x64 = pers(1, 0, &bits, 400);
        let x32 = pers(1, 0x4000_0000, &bits, 400);
        assert!(validate(&[x64, x32]).is_ok());
        assert!(matches!(validate(&[x64, x64]), Err(Error::Overlap(_))));
        assert!(matches!(
            validate(&[pers(1, 0, &bits, 0), pers(1, 0, &bits, 0)]),
            Err(Error::Overlap(_))
        ));
        assert!(matches!(
            validate(&[pers(1, 0x100, &bits, 8), pers(1, 0, &bits, 300)]),
            Err(Error::Overlap(_))
        ));
        assert!(validate(&[pers(1, 0, &bits, 400), pers(2, 0, &bits, 400)]).is_ok());
        // An empty personality overlaps nothing, but its flag is still taken.
        assert!(validate(&[pers(1, 0x100, &bits, 0), pers(1, 0, &bits, 300)]).is_ok());
        assert!(matches!(
            validate(&[pers(1, 0, &bits, 300), pers(1, 0, &bits, 0)]),
            Err(Error::Overlap(_))
        ));
    }

    #[test]
    fn runs_are_counted_exactly() {
        let mut next = crate::testing::xorshift32(0x2545_f491);
        for n in 0..200u32 {
            let bits: Vec<u8> = (0..n.div_ceil(8) + 1)
                .map(|_| {
                    let x = next();
                    (x >> (x % 3 * 8)) as u8
                })
                .collect();
            let p = pers(1, 0, &bits, n);
            let want = (0..n)
                .filter(|&i| i == 0 || p.is_traced(i) != p.is_traced(i - 1))
                .count() as u32;
            assert_eq!(p.runs(), want, "n {n}");
        }
    }

    #[test]
    fn limits_are_errors_of_their_own() {
        let bits = vec![0x55u8; (MAX_RUNS / 8) as usize + 1];
        assert!(validate(&[pers(1, 0, &bits, MAX_RUNS)]).is_ok());
        assert!(matches!(
            validate(&[pers(1, 0, &bits, MAX_RUNS + 1)]),
            Err(Error::Limit(_))
        ));
        let none = vec![0u8; (MAX_NSYSCALLS / 8) as usize];
        let full = pers(1, 0, &none, MAX_NSYSCALLS);
        assert!(validate(&[full, pers(2, 0, &none, MAX_NSYSCALLS)]).is_ok());
        assert!(matches!(
            validate(&[full, pers(2, 0, &none, MAX_NSYSCALLS), pers(3, 0, &none, 1)]),
            Err(Error::Limit(_))
        ));
    }

    #[test]
    fn sizes() {
        let bits = [0u8; 2];
        assert!(matches!(validate(&[]), Err(Error::Invalid(_))));
        assert!(matches!(
            validate(&[pers(1, 0, &bits, 17)]),
            Err(Error::Invalid(_))
        ));
        assert!(validate(&[pers(1, 0, &bits, 16)]).is_ok());
        assert!(matches!(
            validate(&[pers(1, 0, &[], MAX_NSYSCALLS + 1)]),
            Err(Error::Invalid(_))
        ));
    }
}
