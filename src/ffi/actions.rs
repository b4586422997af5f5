//! Per-syscall actions: `tracefilter_compile_actions`, the general form of
//! `tracefilter_compile` for tracers whose filter returns more than two
//! values (PRoot's `SECCOMP_RET_TRACE | FILTER_SYSEXIT` beside
//! `SECCOMP_RET_TRACE | 0`, sydbox's `SECCOMP_RET_TRACE | nr`).

use std::ffi::c_int;

use super::*;
use crate::compile::{compile_actions_guarded, compile_actions_weighted};
use crate::spec::ActionMap;

/// One personality given as a full seccomp return value per syscall
/// number. An array element like struct tracefilter_personality (not
/// versioned).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct tracefilter_action_map {
    /// `AUDIT_ARCH_*` as seen in `seccomp_data.arch`.
    pub audit_arch: u32,
    /// ORed into every number of this personality: x32 0x40000000, else 0.
    pub nr_flag: u32,
    /// `actions[nr]`, nr < nsyscalls: the filter's full 32-bit return value
    /// for that number, data bits included (e.g. SECCOMP_RET_TRACE | 1,
    /// SECCOMP_RET_TRACE | 0, SECCOMP_RET_ALLOW); NULL only when nsyscalls
    /// is 0. The action part (SECCOMP_RET_ACTION_FULL) must be one the
    /// kernel knows; the data bits are passed through as given. Only a
    /// value of exactly SECCOMP_RET_ALLOW counts as allowed in the
    /// figures (tracefilter_program_stats): it is the only one the
    /// kernel's action cache proves.
    pub actions: *const u32,
    /// Numbers >= nsyscalls get opts->unknown_nr_action; at most
    /// TRACEFILTER_MAX_NSYSCALLS.
    pub nsyscalls: u32,
}

/// Owned copy of an action map, kept for the statistics.
pub(super) struct OwnedMap {
    audit_arch: u32,
    nr_flag: u32,
    actions: Vec<u32>,
}

impl From<&ActionMap<'_>> for OwnedMap {
    fn from(m: &ActionMap) -> OwnedMap {
        OwnedMap {
            audit_arch: m.audit_arch,
            nr_flag: m.nr_flag,
            actions: m.actions.to_vec(),
        }
    }
}

impl OwnedMap {
    pub(super) fn view(&self) -> ActionMap<'_> {
        ActionMap {
            audit_arch: self.audit_arch,
            nr_flag: self.nr_flag,
            actions: &self.actions,
        }
    }
}

/// As tracefilter_compile, with action maps instead of bitmaps: the program
/// returns exactly `actions[nr]` (data bits included) for every number of
/// every map, opts->unknown_nr_action for the other numbers of their
/// arches and opts->unknown_arch_action for other arches; any number of
/// distinct values. From opts it uses unknown_nr_action,
/// unknown_arch_action, strategy, objective, weights (one array per map,
/// weighing the numbers whose value is SECCOMP_RET_ALLOW) and flags;
/// allowed_action is not used (nor checked), traced_action only as the value of the
/// CLONE_UNTRACED guard's stops when TRACEFILTER_COMPILE_GUARD_UNTRACED is
/// set: then every clone whose value is ALLOW or LOG returns traced_action
/// when its flags carry CLONE_UNTRACED (its own value otherwise), and every
/// clone3 whose value is ALLOW or LOG returns traced_action; other values
/// stay. The figures then count those clones and clone3 as not allowed.
///
/// Statuses: TRACEFILTER_E_NULL (maps or out NULL, actions NULL with
/// nsyscalls > 0); TRACEFILTER_E_INVALID (a value whose action part is not
/// KILL_PROCESS, KILL_THREAD, TRAP, ERRNO, USER_NOTIF, TRACE, LOG or ALLOW;
/// count 0 or above TRACEFILTER_MAX_PERSONALITIES; nsyscalls above
/// TRACEFILTER_MAX_NSYSCALLS; bad options as for tracefilter_compile);
/// TRACEFILTER_E_OVERLAP; TRACEFILTER_E_LIMIT (more than
/// TRACEFILTER_MAX_TOTAL_NSYSCALLS numbers or TRACEFILTER_MAX_RUNS runs of
/// equal values); TRACEFILTER_E_TOO_LARGE; TRACEFILTER_E_STRATEGY (bits or
/// jset forced on maps where no block of 32 numbers is worth their test:
/// for bits, a block needs three boundaries between just two values, so
/// maps whose blocks all mix three or more values or few boundaries are
/// refused; the other blocks of a map bits serves are compared as in
/// search, whatever their values); TRACEFILTER_E_NO_MEMORY;
/// TRACEFILTER_E_VERIFY. On failure `*out` is NULL.
#[no_mangle]
pub unsafe extern "C" fn tracefilter_compile_actions(
    maps: *const tracefilter_action_map,
    count: usize,
    opts: *const tracefilter_options,
    out: *mut *mut tracefilter_program,
) -> c_int {
    guard!(status, {
        let out = unsafe { ptr::get_mut(out, "out") }?;
        *out = std::ptr::null_mut();
        let (list, opts, raw) =
            unsafe { compile_prologue(maps, count, "maps", opts, |m| m.nsyscalls) }?;
        let mut owned = Vec::with_capacity(list.len());
        for m in list {
            let actions = unsafe { ptr::slice(m.actions, m.nsyscalls as usize, "actions") }?;
            let mut copy = Vec::new();
            copy.try_reserve_exact(actions.len())
                .map_err(|_| Error::NoMemory)?;
            copy.extend_from_slice(actions);
            owned.push(OwnedMap {
                audit_arch: m.audit_arch,
                nr_flag: m.nr_flag,
                actions: copy,
            });
        }
        let views: Vec<ActionMap> = owned.iter().map(OwnedMap::view).collect();
        let sizes: Vec<u32> = list.iter().map(|m| m.nsyscalls).collect();
        let weights = unsafe { read_weights(&raw, &sizes) }?;
        let program = if raw.flags & TRACEFILTER_COMPILE_GUARD_UNTRACED != 0 {
            let program = compile_actions_guarded(&views, &opts, &weights)?;
            // The figures see clone and clone3 as the program does: stopped.
            let plan = crate::clone_guard::Plan::for_maps(&views, &opts)?;
            let marked = plan.maps(&views).iter().map(Into::into).collect();
            drop(views);
            owned = marked;
            program
        } else {
            compile_actions_weighted(&views, &opts, &weights)?
        };
        *out = boxed_program(program, OwnedSpec::Maps(owned));
        Ok(())
    })
}
