//! The CLONE_UNTRACED guard: a program that also stops the tracee on every
//! clone whose flags carry CLONE_UNTRACED and on every clone3.
//!
//! A tracee that clones with CLONE_UNTRACED creates a child the tracer never
//! sees (PTRACE_O_TRACECLONE does not apply to it), and the child keeps the
//! filter: with no tracer, every syscall the filter traces fails with ENOSYS.
//! With the guard, such a clone stops at a seccomp stop, where the tracer
//! clears the flag (`tracefilter_untraced_clear`); the kernel's recheck
//! after that stop lets the clone through (a trace on a recheck does not
//! stop again), the clone runs with the new flags, and the child is
//! reported like any other. clone3 passes its flags in memory that BPF
//! cannot read, so every clone3 stops.
//!
//! How it is built: the guarded syscalls are marked traced for every
//! strategy and every figure (they are no longer run at full speed), and
//! clone's number gets an action of its own, a sentinel that no caller's
//! action equals. Each strategy isolates it like any other action; the
//! graph expands the sentinel's return into `ld [flags' low word]; jset
//! #CLONE_UNTRACED, traced, allowed`. Only clone's path loads an argument,
//! so every other syscall keeps its action and its cacheability; clone
//! itself becomes uncacheable (the kernel's cache emulator treats an
//! argument load as unknown).
//!
//! The proof: [`prove`] checks that every argument load is one of the
//! guard's, directly followed by its `jset` whose both targets return, and
//! then proves the program twice with the load replaced by the constant
//! `CLONE_UNTRACED`, and by 0, against the decisions with the sentinel
//! replaced by the traced and by the allowed action. Such a load is the last
//! one on its path and its value meets only the `jset`, so every value of
//! the argument takes one of the two proven paths.

use crate::arch::*;
use crate::bpf::*;
use crate::error::{Error, Result};
use crate::names::Table;
use crate::set::Decisions;
use crate::spec::{ActionMap, Options, Personality};

/// `CLONE_UNTRACED` (include/uapi/linux/sched.h).
pub(crate) const CLONE_UNTRACED: u32 = 0x0080_0000;

/// The audit arch flag of little-endian arches (include/uapi/linux/audit.h).
const AUDIT_ARCH_LE: u32 = 0x4000_0000;

/// One guarded return: numbers whose decision is `sentinel` return `hit`
/// when the word at `offset` has a bit of `mask`, else `miss`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Guard {
    pub sentinel: u32,
    pub offset: u32,
    pub mask: u32,
    pub hit: u32,
    pub miss: u32,
}

/// clone's and clone3's numbers (without the nr_flag) and the index of
/// clone's flags argument for one personality, or None when unknown.
///
/// The flags are clone's first argument everywhere except on s390 and
/// s390x, where the kernel is built with CONFIG_CLONE_BACKWARDS2 and clone
/// takes `(newsp, clone_flags, ...)` (kernel/fork.c, the SYSCALL_DEFINE5 of
/// clone; arch/s390/Kconfig selects CLONE_BACKWARDS2). The numbers come
/// from the name tables, or for the arches without one from their syscall
/// tables (arch/s390/kernel/syscalls/syscall.tbl,
/// arch/powerpc/kernel/syscalls/syscall.tbl, and the generic
/// include/uapi/asm-generic/unistd.h for loongarch64).
pub fn clone_numbers(audit_arch: u32, nr_flag: u32) -> Option<(u32, Option<u32>, u32)> {
    let index = match audit_arch {
        AUDIT_ARCH_S390 | AUDIT_ARCH_S390X => 1,
        _ => 0,
    };
    if let Some(t) = Table::by_arch(audit_arch, nr_flag) {
        return Some((t.number("clone")?, t.number("clone3"), index));
    }
    let (clone, clone3) = match (audit_arch, nr_flag) {
        (AUDIT_ARCH_S390X | AUDIT_ARCH_S390 | AUDIT_ARCH_PPC64 | AUDIT_ARCH_PPC64LE, 0) => {
            (120, 435)
        }
        (AUDIT_ARCH_LOONGARCH64, 0) => (220, 435),
        _ => return None,
    };
    Some((clone, Some(clone3), index))
}

/// Offset in `struct seccomp_data` of the low 32 bits of argument `index`:
/// `args[]` are `__u64` in the kernel's byte order (include/uapi/linux/seccomp.h),
/// so on a big-endian arch the low word is the second one.
pub fn low_word_offset(audit_arch: u32, index: u32) -> u32 {
    let be = audit_arch & AUDIT_ARCH_LE == 0;
    SECCOMP_DATA_ARGS + 8 * index + if be { 4 } else { 0 }
}

/// Sentinel actions, equal to none of `opts`' actions nor any action of `d`.
fn sentinels(opts: &Options, d: &Decisions) -> impl Iterator<Item = u32> {
    let mut used = vec![
        opts.traced_action,
        opts.allowed_action,
        opts.unknown_nr_action,
        opts.unknown_arch_action,
    ];
    used.extend(
        d.archs
            .iter()
            .flat_map(|a| a.intervals.iter().map(|iv| iv.action)),
    );
    used.sort_unstable();
    used.dedup();
    (0xc10e..=0xffff)
        .map(|data| SECCOMP_RET_TRACE | data)
        .filter(move |s| used.binary_search(s).is_err())
}

/// Whether a clone (or clone3) with this action runs on without a stop, so
/// that the guard must stop it: ALLOW and LOG. Any other action already
/// stops it, fails it or kills, and stays as the caller asked.
fn runs_on(action: u32) -> bool {
    matches!(
        action & SECCOMP_RET_ACTION_FULL,
        SECCOMP_RET_ALLOW | SECCOMP_RET_LOG
    )
}

/// The personalities as the guarded program sees them: clone and clone3
/// marked traced in owned bitmaps, and the numbers whose decision becomes a
/// guard.
pub struct Plan {
    traced: Vec<Vec<u8>>,
    /// Action maps with the guarded syscalls given `traced_action` (empty
    /// for bitmaps).
    actions: Vec<Vec<u32>>,
    /// (audit arch, nr as in seccomp_data, flags' low-word offset, action
    /// without the flag) of every clone that was allowed.
    clones: Vec<(u32, u32, u32, u32)>,
}

impl Plan {
    /// Fails with `Error::Invalid` when a personality's clone number is
    /// unknown, or the traced action does not stop the tracee for a tracer
    /// (the guard needs SECCOMP_RET_TRACE).
    pub fn new(pers: &[Personality], opts: &Options) -> Result<Plan> {
        if opts.traced_action & SECCOMP_RET_ACTION_FULL != SECCOMP_RET_TRACE {
            return Err(Error::Invalid(format!(
                "the CLONE_UNTRACED guard needs a SECCOMP_RET_TRACE traced_action, not {:#010x}",
                opts.traced_action
            )));
        }
        let mut plan = Plan {
            traced: Vec::with_capacity(pers.len()),
            actions: Vec::new(),
            clones: Vec::new(),
        };
        for (i, p) in pers.iter().enumerate() {
            let mut bits = p.traced[..p.nsyscalls.div_ceil(8) as usize].to_vec();
            if p.nsyscalls > 0 {
                let (clone, clone3, index) =
                    clone_numbers(p.audit_arch, p.nr_flag).ok_or_else(|| {
                        Error::Invalid(format!(
                            "personality {i}: clone's number for audit arch {:#x} (nr flag {:#x}) is unknown to the CLONE_UNTRACED guard",
                            p.audit_arch, p.nr_flag
                        ))
                    })?;
                if clone < p.nsyscalls && !p.is_traced(clone) {
                    bits[(clone / 8) as usize] |= 1 << (clone % 8);
                    plan.clones.push((
                        p.audit_arch,
                        p.nr_flag | clone,
                        low_word_offset(p.audit_arch, index),
                        opts.allowed_action,
                    ));
                }
                if let Some(c3) = clone3.filter(|&c3| c3 < p.nsyscalls) {
                    bits[(c3 / 8) as usize] |= 1 << (c3 % 8);
                }
            }
            plan.traced.push(bits);
        }
        Ok(plan)
    }

    /// [`Plan::new`] for action maps: a clone whose action is ALLOW or LOG
    /// returns `traced_action` when its flags carry CLONE_UNTRACED and keeps
    /// its action otherwise; a clone3 whose action is ALLOW or LOG returns
    /// `traced_action`. Other actions stay.
    pub fn for_maps(maps: &[ActionMap], opts: &Options) -> Result<Plan> {
        if opts.traced_action & SECCOMP_RET_ACTION_FULL != SECCOMP_RET_TRACE {
            return Err(Error::Invalid(format!(
                "the CLONE_UNTRACED guard needs a SECCOMP_RET_TRACE traced_action, not {:#010x}",
                opts.traced_action
            )));
        }
        let mut plan = Plan {
            traced: Vec::new(),
            actions: Vec::with_capacity(maps.len()),
            clones: Vec::new(),
        };
        for (i, m) in maps.iter().enumerate() {
            let mut actions = Vec::new();
            actions
                .try_reserve_exact(m.actions.len())
                .map_err(|_| Error::NoMemory)?;
            actions.extend_from_slice(m.actions);
            if !actions.is_empty() {
                let (clone, clone3, index) =
                    clone_numbers(m.audit_arch, m.nr_flag).ok_or_else(|| {
                        Error::Invalid(format!(
                            "action map {i}: clone's number for audit arch {:#x} (nr flag {:#x}) is unknown to the CLONE_UNTRACED guard",
                            m.audit_arch, m.nr_flag
                        ))
                    })?;
                if let Some(a) = actions.get_mut(clone as usize).filter(|a| runs_on(**a)) {
                    plan.clones.push((
                        m.audit_arch,
                        m.nr_flag | clone,
                        low_word_offset(m.audit_arch, index),
                        *a,
                    ));
                    *a = opts.traced_action;
                }
                if let Some(a) = clone3
                    .and_then(|c3| actions.get_mut(c3 as usize))
                    .filter(|a| runs_on(**a))
                {
                    *a = opts.traced_action;
                }
            }
            plan.actions.push(actions);
        }
        Ok(plan)
    }

    /// `maps` as the guarded program sees them (see [`Plan::for_maps`]).
    pub fn maps<'a>(&'a self, maps: &[ActionMap]) -> Vec<ActionMap<'a>> {
        maps.iter()
            .zip(&self.actions)
            .map(|(m, actions)| ActionMap { actions, ..*m })
            .collect()
    }

    /// `pers` with the guarded syscalls traced.
    pub fn personalities<'a>(&'a self, pers: &[Personality]) -> Vec<Personality<'a>> {
        pers.iter()
            .zip(&self.traced)
            .map(|(p, bits)| Personality { traced: bits, ..*p })
            .collect()
    }

    /// Gives every allowed clone its guard's sentinel. `d` comes from
    /// [`Plan::personalities`], where those numbers are traced.
    pub fn apply(&self, d: &mut Decisions, opts: &Options) {
        // One guard per flags offset and action without the flag (with a
        // bitmap, that action is always `allowed_action`).
        let mut keys: Vec<(u32, u32)> = self.clones.iter().map(|c| (c.2, c.3)).collect();
        keys.sort_unstable();
        keys.dedup();
        let sentinels: Vec<u32> = sentinels(opts, d).take(keys.len()).collect();
        for (&(offset, miss), &s) in keys.iter().zip(&sentinels) {
            d.guards.push(Guard {
                sentinel: s,
                offset,
                mask: CLONE_UNTRACED,
                hit: opts.traced_action,
                miss,
            });
            for &(arch, nr, ..) in self.clones.iter().filter(|c| (c.2, c.3) == (offset, miss)) {
                if let Some(a) = d.archs.iter_mut().find(|a| a.arch == arch) {
                    a.isolate(nr, s);
                }
            }
        }
    }
}

/// Proves `prog` against `d`, guards included (see the module comment);
/// the tests prove every intermediate program of the peephole with it.
#[cfg(test)]
pub fn verify(prog: &[Insn], d: &Decisions) -> std::result::Result<(), String> {
    crate::emulate::check(prog).map_err(|e| format!("kernel would reject it: {e}"))?;
    prove(prog, d)
}

/// [`verify`] for a program that passed `emulate::check`, as every
/// compiled program has (`compile::build` checks it): replacing a guard's
/// load by a constant keeps it so.
pub(crate) fn prove(prog: &[Insn], d: &Decisions) -> std::result::Result<(), String> {
    if d.guards.is_empty() {
        return crate::verify::prove(prog, d);
    }
    let is_ret = |pc: usize| prog.get(pc).is_some_and(|i| class(i.code) == BPF_RET);
    for (pc, i) in prog.iter().enumerate() {
        if i.code != BPF_LD | BPF_W | BPF_ABS || i.k == SECCOMP_DATA_NR || i.k == SECCOMP_DATA_ARCH
        {
            continue;
        }
        let Some(g) = d.guards.iter().find(|g| g.offset == i.k) else {
            return Err(format!("instruction {pc} loads offset {}, no guard's", i.k));
        };
        match prog.get(pc + 1) {
            Some(j)
                if j.code == BPF_JMP | BPF_JSET | BPF_K
                    && j.k == g.mask
                    && is_ret(pc + 2 + j.jt as usize)
                    && is_ret(pc + 2 + j.jf as usize) => {}
            _ => {
                return Err(format!(
                    "instruction {pc}: a guard's load not followed by its jset to two returns"
                ))
            }
        }
    }
    for hit in [true, false] {
        let mut p = prog.to_vec();
        for i in p.iter_mut() {
            if let Some(g) = d.guards.iter().find(|g| {
                i.code == BPF_LD | BPF_W | BPF_ABS && i.k == g.offset && i.k >= SECCOMP_DATA_ARGS
            }) {
                *i = Insn::stmt(BPF_LD | BPF_W | BPF_IMM, if hit { g.mask } else { 0 });
            }
        }
        let mut plain = d.clone();
        plain.guards.clear();
        for a in plain.archs.iter_mut() {
            for iv in a.intervals.iter_mut() {
                if let Some(g) = d.guards.iter().find(|g| g.sentinel == iv.action) {
                    iv.action = if hit { g.hit } else { g.miss };
                }
            }
        }
        crate::verify::prove(&p, &plain).map_err(|e| {
            format!(
                "with CLONE_UNTRACED {}: {e}",
                if hit { "set" } else { "clear" }
            )
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_argument_per_personality() {
        // x86_64: clone 56, clone3 435, flags in rdi = args[0], low word first.
        assert_eq!(
            clone_numbers(AUDIT_ARCH_X86_64, 0),
            Some((56, Some(435), 0))
        );
        assert_eq!(clone_numbers(AUDIT_ARCH_I386, 0), Some((120, Some(435), 0)));
        assert_eq!(
            clone_numbers(AUDIT_ARCH_X86_64, X32_SYSCALL_BIT),
            Some((56, Some(435), 0))
        );
        assert_eq!(
            clone_numbers(AUDIT_ARCH_AARCH64, 0),
            Some((220, Some(435), 0))
        );
        // s390x: clone(newsp, flags, ...) and big-endian args.
        assert_eq!(
            clone_numbers(AUDIT_ARCH_S390X, 0),
            Some((120, Some(435), 1))
        );
        assert_eq!(low_word_offset(AUDIT_ARCH_S390X, 1), 16 + 8 + 4);
        assert_eq!(low_word_offset(AUDIT_ARCH_PPC64, 0), 16 + 4);
        assert_eq!(low_word_offset(AUDIT_ARCH_PPC64LE, 0), 16);
        assert_eq!(low_word_offset(AUDIT_ARCH_X86_64, 0), 16);
        assert_eq!(clone_numbers(0x1234, 0), None);
    }
}
