#![allow(non_camel_case_types)]
// The safety contract of each function is its documentation in the header:
// pointers are NULL or valid for what the text says.
#![allow(clippy::missing_safety_doc)]

//! The C ABI. Every function body runs inside `guard!`, so a panic becomes
//! `TRACEFILTER_E_INTERNAL` (or the documented neutral value) and never
//! unwinds into C; pointer checks live in `ptr`. What remains in each
//! function is the plain logic of the call.

mod ptr;
mod status;

use std::ffi::{c_char, c_int, CStr};
use std::mem::size_of;
use std::sync::OnceLock;

use libc::{sock_filter, sock_fprog};

use crate::bpf::Insn;
use crate::compile::{compile_guarded, compile_weighted, Program};
use crate::error::{Error, Result};
use crate::spec::{
    Objective, Options, Personality, Strategy, MAX_NSYSCALLS, MAX_RUNS, MAX_TOTAL_NSYSCALLS,
};
use crate::{disasm, emulate};
pub(crate) use status::Status;

// The C statuses. They stand first in the header; the enum that names
// them, their texts and the mapping from the core's errors are in `status`.

/// Success.
pub const TRACEFILTER_OK: c_int = 0;
/// A required pointer argument is NULL.
pub const TRACEFILTER_E_NULL: c_int = -1;
/// An argument is out of range: count 0 or above TRACEFILTER_MAX_PERSONALITIES,
/// nsyscalls above TRACEFILTER_MAX_NSYSCALLS, an nr_flag that overlaps the numbers,
/// a struct_size below its struct's first published size (or, for a struct
/// the library reads, with bytes past the version it reads that are not 0),
/// a value that is not a seccomp action, an unknown strategy or objective.
pub const TRACEFILTER_E_INVALID: c_int = -2;
/// Two personalities share an audit arch and either the same nr_flag
/// (even when one has nsyscalls 0: the same personality named twice) or
/// number ranges that overlap (an empty range overlaps nothing).
pub const TRACEFILTER_E_OVERLAP: c_int = -3;
/// No program fits in BPF_MAXINSNS instructions: under
/// TRACEFILTER_STRATEGY_AUTO no strategy's program does; under a forced
/// strategy, that strategy's does not (AUTO may still find one).
pub const TRACEFILTER_E_TOO_LARGE: c_int = -4;
/// Out of memory.
pub const TRACEFILTER_E_NO_MEMORY: c_int = -5;
/// A generated program failed verification (a library bug; nothing is returned).
pub const TRACEFILTER_E_VERIFY: c_int = -6;
/// Any other internal error, including a caught panic.
pub const TRACEFILTER_E_INTERNAL: c_int = -7;
/// The forced strategy cannot express this specification at all, whatever
/// the size (bits and jset need a block of 32 numbers they can test; a
/// program too long is TRACEFILTER_E_TOO_LARGE).
pub const TRACEFILTER_E_STRATEGY: c_int = -8;
/// The kernel lacks what the call needs: seccomp filter mode (install,
/// probe_install); PTRACE_GET_SYSCALL_INFO, or a way to rewrite clone's
/// flags on the tracer's arch (untraced_clear).
pub const TRACEFILTER_E_UNSUPPORTED: c_int = -9;
/// The filter needs no_new_privs (the caller lacks CAP_SYS_ADMIN) and
/// TRACEFILTER_INSTALL_ALLOW_NO_NEW_PRIVS was not given; nothing was changed.
pub const TRACEFILTER_E_NEEDS_NO_NEW_PRIVS: c_int = -10;
/// The kernel refused a step; the report holds the step and its errno
/// (ENOMEM: the stack of filters would exceed 32768 instructions).
pub const TRACEFILTER_E_KERNEL: c_int = -11;
/// Reading or writing a report failed, or a short report arrived.
pub const TRACEFILTER_E_IO: c_int = -12;
/// End of file before any report: the child exec'd or died without sending one.
pub const TRACEFILTER_E_NO_REPORT: c_int = -13;
/// A ptrace request failed or gave unexpected stops while probing.
pub const TRACEFILTER_E_PTRACE: c_int = -14;
/// No syscall of that name in the personality's table.
pub const TRACEFILTER_E_UNKNOWN_NAME: c_int = -15;
/// The specification exceeds a limit on its size: more than
/// TRACEFILTER_MAX_TOTAL_NSYSCALLS numbers or more than TRACEFILTER_MAX_RUNS
/// runs over all personalities. Checked before anything is allocated.
pub const TRACEFILTER_E_LIMIT: c_int = -16;
/// Checked program (evaluate, disassemble): length 0 or above BPF_MAXINSNS.
pub const TRACEFILTER_E_PROGRAM_LENGTH: c_int = -20;
/// Checked program: an opcode seccomp does not accept.
pub const TRACEFILTER_E_PROGRAM_OPCODE: c_int = -21;
/// Checked program: a jump leaves the program.
pub const TRACEFILTER_E_PROGRAM_JUMP: c_int = -22;
/// Checked program: a load outside struct seccomp_data or not 4-byte aligned.
pub const TRACEFILTER_E_PROGRAM_LOAD: c_int = -23;
/// Checked program: constant division by zero, shift of 32 or more, scratch index above 15.
pub const TRACEFILTER_E_PROGRAM_OPERAND: c_int = -24;
/// Checked program: scratch memory read before it is written on some path.
pub const TRACEFILTER_E_PROGRAM_SCRATCH: c_int = -25;
/// Checked program: the last instruction is not a return.
pub const TRACEFILTER_E_PROGRAM_NO_RETURN: c_int = -26;

// The core's instruction type is passed to and from C as `struct sock_filter`.
const _: () = assert!(size_of::<Insn>() == size_of::<sock_filter>());
const _: () = assert!(std::mem::align_of::<Insn>() == std::mem::align_of::<sock_filter>());

/// Runs `$body` (a `Result` for the status-returning form) and turns errors
/// and panics into a status.
macro_rules! guard {
    (status, $body:expr) => {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| -> Result<()> { $body })) {
            Ok(Ok(())) => $crate::ffi::TRACEFILTER_OK,
            Ok(Err(e)) => $crate::ffi::Status::from(&e).code(),
            Err(_) => $crate::ffi::TRACEFILTER_E_INTERNAL,
        }
    };
    ($on_panic:expr, $body:expr) => {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| $body)) {
            Ok(v) => v,
            Err(_) => $on_panic,
        }
    };
}

mod actions;
pub use actions::*;
mod kernel;
pub use kernel::*;
mod names;
mod strategy;

/// Most personalities accepted by one call.
pub const TRACEFILTER_MAX_PERSONALITIES: u32 = 64;
/// Largest `nsyscalls` accepted.
pub const TRACEFILTER_MAX_NSYSCALLS: u32 = 1 << 20;
const _: () = assert!(TRACEFILTER_MAX_NSYSCALLS == MAX_NSYSCALLS);
/// Most numbers over all personalities of one call (the sum of their
/// `nsyscalls`): one table with ARM's private syscalls (0x0f0000+) beside
/// a few ordinary ones. Above it: TRACEFILTER_E_LIMIT.
pub const TRACEFILTER_MAX_TOTAL_NSYSCALLS: u32 = 1 << 21;
const _: () = assert!(TRACEFILTER_MAX_TOTAL_NSYSCALLS == MAX_TOTAL_NSYSCALLS);
/// Most runs over all personalities of one call, a run being a maximal
/// range of consecutive numbers of one personality with one action: all
/// traced or all untraced in a bitmap, one value in an action map (a table
/// of n numbers has at most n; real tables have a few thousand). Above it: TRACEFILTER_E_LIMIT. Within the limits a compile
/// fits in 48 MiB of address space and takes well under a second.
pub const TRACEFILTER_MAX_RUNS: u32 = 1 << 18;
const _: () = assert!(TRACEFILTER_MAX_RUNS == MAX_RUNS);

/// Let the objective choose among every strategy that applies.
pub const TRACEFILTER_STRATEGY_AUTO: u32 = 0;
/// Binary search over interval boundaries, balanced by count.
pub const TRACEFILTER_STRATEGY_SEARCH: u32 = 1;
/// A chain of tests for the minority action's runs.
pub const TRACEFILTER_STRATEGY_LINEAR: u32 = 2;
/// Bit masks over blocks of 32 numbers (small; not kernel-cacheable).
pub const TRACEFILTER_STRATEGY_BITS: u32 = 3;
/// Decision tree of least expected cost under the weights.
pub const TRACEFILTER_STRATEGY_TREE: u32 = 4;
/// Single-bit jset decision diagram with range tests (kernel-cacheable).
pub const TRACEFILTER_STRATEGY_JSET: u32 = 5;
const _: () = {
    use crate::spec::Strategy as S;
    assert!(S::Auto.id() == TRACEFILTER_STRATEGY_AUTO);
    assert!(S::Search.id() == TRACEFILTER_STRATEGY_SEARCH);
    assert!(S::Linear.id() == TRACEFILTER_STRATEGY_LINEAR);
    assert!(S::Bits.id() == TRACEFILTER_STRATEGY_BITS);
    assert!(S::Tree.id() == TRACEFILTER_STRATEGY_TREE);
    assert!(S::Jset.id() == TRACEFILTER_STRATEGY_JSET);
};

pub const TRACEFILTER_OBJECTIVE_SPEED: u32 = 0;
pub const TRACEFILTER_OBJECTIVE_SIZE: u32 = 1;

/// One syscall personality of the tracee.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct tracefilter_personality {
    /// `AUDIT_ARCH_*` as seen in `seccomp_data.arch`.
    pub audit_arch: u32,
    /// ORed into every syscall number of this personality: x32 0x40000000, else 0.
    pub nr_flag: u32,
    /// Bit (i % 8) of byte (i / 8) set: syscall i is traced. At least
    /// (nsyscalls + 7) / 8 bytes; may be NULL when nsyscalls is 0.
    pub traced: *const u8,
    /// Number of bits in `traced`; numbers >= nsyscalls are "unknown".
    /// At most TRACEFILTER_MAX_NSYSCALLS.
    pub nsyscalls: u32,
}

/// Compilation options. Always fill with tracefilter_options_init() first:
/// a zeroed struct is not the defaults (0 is SECCOMP_RET_KILL_THREAD).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct tracefilter_options {
    /// sizeof(struct tracefilter_options) as the caller knows it (28, 40,
    /// 48 or more), under the rule of every versioned struct: the library
    /// reads the largest published version that fits (28: up to
    /// objective; 40: up to weights; 48: up to flags), later fields take
    /// their defaults, and every byte past that version up to struct_size
    /// must be 0 (else TRACEFILTER_E_INVALID). Below 28: TRACEFILTER_E_INVALID.
    pub struct_size: u32,
    /// For traced syscalls; default SECCOMP_RET_TRACE.
    pub traced_action: u32,
    /// For untraced syscalls below nsyscalls; default SECCOMP_RET_ALLOW.
    pub allowed_action: u32,
    /// For numbers >= nsyscalls of a listed arch; default SECCOMP_RET_TRACE.
    pub unknown_nr_action: u32,
    /// For any arch not listed; default SECCOMP_RET_TRACE.
    pub unknown_arch_action: u32,
    /// TRACEFILTER_STRATEGY_AUTO (default) or a forced strategy.
    pub strategy: u32,
    /// TRACEFILTER_OBJECTIVE_SPEED (default) or TRACEFILTER_OBJECTIVE_SIZE.
    pub objective: u32,
    /// Entries in `weights`: 0 (the default weights), or the `count` passed
    /// to tracefilter_compile. By default every allowed syscall weighs 1,
    /// except in a personality with an `nr_flag` (x32), where it weighs
    /// 1/16: such a personality shares its arch with the native one, and its
    /// tracees are rare.
    pub weights_count: u32,
    /// Syscall weights for the expected cost the SPEED objective minimises
    /// (and that orders the arch tests), one entry per personality in the
    /// order given to tracefilter_compile: NULL (the default weights for that
    /// personality) or `nsyscalls` finite, non-negative doubles indexed by
    /// syscall number. Weights of traced syscalls are ignored. Owned by the
    /// caller and read only during tracefilter_compile; nothing is kept.
    pub weights: *const *const f64,
    /// TRACEFILTER_COMPILE_* flags; default 0. (Since struct size 48.)
    pub flags: u32,
}

/// Published sizes of `struct tracefilter_options`: the first; with
/// `weights_count` and `weights`; with `flags` (and tail padding).
const OPTIONS_SIZES: [usize; 3] = [28, 40, 48];
const _: () = assert!(size_of::<tracefilter_options>() == OPTIONS_SIZES[2]);

/// tracefilter_options flag: the CLONE_UNTRACED guard. The program also
/// stops the tracee (with the traced action, which must be
/// SECCOMP_RET_TRACE) on every clone whose flags argument has
/// CLONE_UNTRACED in its low 32 bits, and on every clone3 (its flags are in
/// memory, out of BPF's reach). At that stop the tracer calls
/// tracefilter_untraced_clear, and the child is created traced. Every other
/// syscall keeps its action, and the allowed ones stay kernel-cacheable;
/// clone itself is no longer cacheable (the kernel's cache emulator does
/// not know an argument load), and neither is clone3, which now stops.
/// The figures (tracefilter_program_stats) count clone and clone3 as
/// traced. TRACEFILTER_E_INVALID for a personality whose clone number the
/// library does not know (x86_64, i386, x32, aarch64, arm, riscv64,
/// ppc64, ppc64le, s390, s390x, loongarch64 are known) or a traced action
/// other than SECCOMP_RET_TRACE.
pub const TRACEFILTER_COMPILE_GUARD_UNTRACED: u32 = 0x1;
const COMPILE_FLAGS: u32 = TRACEFILTER_COMPILE_GUARD_UNTRACED;

/// Figures for one personality, over its allowed numbers below nsyscalls:
/// the untraced ones of a bitmap, those whose value is exactly
/// SECCOMP_RET_ALLOW in an action map.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct tracefilter_personality_stats {
    pub audit_arch: u32,
    pub nr_flag: u32,
    /// Number of allowed syscalls.
    pub allowed: u32,
    /// Most instructions executed for one of them.
    pub max_executed: u32,
    /// Mean instructions executed over them (0 when there are none).
    pub mean_executed: f64,
    /// 1 when the kernel's action cache proves every one of them allowed;
    /// 1 as well when there are none (vacuously, whatever the actions); never
    /// for a personality with an nr_flag, such as x32. Seen from the
    /// program alone: on x86_64 the kernel also skips the filter for
    /// uretprobe (335) and uprobe (336) whatever it says (see
    /// tracefilter_cacheable).
    pub cacheable: u32,
}

/// Figures of a compiled program.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct tracefilter_stats {
    /// Set by the caller to sizeof(struct tracefilter_stats): 32 or more.
    /// The library writes the largest published version that fits (32:
    /// every field below) and nothing past it; below 32:
    /// TRACEFILTER_E_INVALID.
    pub struct_size: u32,
    /// TRACEFILTER_STRATEGY_* used.
    pub strategy: u32,
    /// Instructions in the program.
    pub length: u32,
    /// 1 when every allowed syscall of every personality without an nr_flag
    /// is kernel-cacheable.
    pub all_cacheable: u32,
    /// Entries in `personalities`, in the order given to tracefilter_compile.
    pub count: usize,
    /// Owned by the program; valid until tracefilter_program_free.
    pub personalities: *const tracefilter_personality_stats,
}

/// Published sizes of `struct tracefilter_stats`.
const STATS_SIZES: [usize; 1] = [32];
const _: () = assert!(size_of::<tracefilter_stats>() == STATS_SIZES[0]);

/// Owned copy of a personality, kept for the statistics.
struct OwnedPersonality {
    audit_arch: u32,
    nr_flag: u32,
    traced: Vec<u8>,
    nsyscalls: u32,
}

impl From<&Personality<'_>> for OwnedPersonality {
    fn from(p: &Personality) -> OwnedPersonality {
        OwnedPersonality {
            audit_arch: p.audit_arch,
            nr_flag: p.nr_flag,
            traced: p.traced.to_vec(),
            nsyscalls: p.nsyscalls,
        }
    }
}

impl OwnedPersonality {
    fn view(&self) -> Personality<'_> {
        Personality {
            audit_arch: self.audit_arch,
            nr_flag: self.nr_flag,
            traced: &self.traced,
            nsyscalls: self.nsyscalls,
        }
    }
}

/// What a program was compiled from, kept for the statistics.
enum OwnedSpec {
    Bitmaps(Vec<OwnedPersonality>),
    Maps(Vec<actions::OwnedMap>),
}

impl OwnedSpec {
    fn stats(&self, program: &Program) -> crate::stats::Stats {
        match self {
            OwnedSpec::Bitmaps(owned) => {
                let views: Vec<Personality> = owned.iter().map(OwnedPersonality::view).collect();
                program.stats(&views)
            }
            OwnedSpec::Maps(owned) => {
                let views: Vec<_> = owned.iter().map(actions::OwnedMap::view).collect();
                program.stats_actions(&views)
            }
        }
    }
}

/// A compiled, verified program (opaque).
pub struct tracefilter_program {
    program: Program,
    fprog: sock_fprog,
    pers: OwnedSpec,
    stats: OnceLock<(u32, Vec<tracefilter_personality_stats>)>,
}

fn default_options() -> tracefilter_options {
    let d = Options::default();
    tracefilter_options {
        struct_size: size_of::<tracefilter_options>() as u32,
        traced_action: d.traced_action,
        allowed_action: d.allowed_action,
        unknown_nr_action: d.unknown_nr_action,
        unknown_arch_action: d.unknown_arch_action,
        strategy: d.strategy.id(),
        objective: TRACEFILTER_OBJECTIVE_SPEED,
        weights_count: 0,
        weights: std::ptr::null(),
        flags: 0,
    }
}

/// The checks both compile entry points make before anything the input
/// sizes is copied: the count, the options and their flags, each
/// personality's nsyscalls and the total. The caller's list and options.
///
/// # Safety
/// `list` is NULL or points to `count` readable elements; `opts` as for
/// [`read_options`].
unsafe fn compile_prologue<'a, T>(
    list: *const T,
    count: usize,
    what: &'static str,
    opts: *const tracefilter_options,
    nsyscalls: impl Fn(&T) -> u32,
) -> Result<(&'a [T], Options, tracefilter_options)> {
    if count == 0 {
        return Err(Error::Invalid("count is 0".into()));
    }
    if count > TRACEFILTER_MAX_PERSONALITIES as usize {
        return Err(Error::Invalid(format!(
            "count {count} exceeds {TRACEFILTER_MAX_PERSONALITIES}"
        )));
    }
    let list = unsafe { ptr::slice(list, count, what) }?;
    let (opts, raw) = unsafe { read_options(opts) }?;
    if raw.flags & !COMPILE_FLAGS != 0 {
        return Err(Error::Invalid(format!(
            "unknown options flags {:#x}",
            raw.flags
        )));
    }
    if let Some(n) = list.iter().map(&nsyscalls).find(|&n| n > MAX_NSYSCALLS) {
        return Err(Error::Invalid(format!(
            "nsyscalls {n} exceeds {MAX_NSYSCALLS}"
        )));
    }
    let total: u64 = list.iter().map(|t| nsyscalls(t) as u64).sum();
    if total > MAX_TOTAL_NSYSCALLS as u64 {
        return Err(Error::Limit(format!(
            "{total} numbers in all exceed {MAX_TOTAL_NSYSCALLS}"
        )));
    }
    Ok((list, opts, raw))
}

/// Reads the caller's options under the rule of [`ptr::Version`].
///
/// # Safety
/// `p` is NULL or points to at least `struct_size` readable bytes.
unsafe fn read_options(p: *const tracefilter_options) -> Result<(Options, tracefilter_options)> {
    let o = if p.is_null() {
        default_options()
    } else {
        unsafe { ptr::read_versioned(p, &OPTIONS_SIZES, "opts", default_options()) }?
    };
    let strategy = Strategy::from_id(o.strategy)
        .ok_or_else(|| Error::Invalid(format!("unknown strategy {}", o.strategy)))?;
    let objective = Objective::from_id(o.objective)
        .ok_or_else(|| Error::Invalid(format!("unknown objective {}", o.objective)))?;
    let opts = Options {
        traced_action: o.traced_action,
        allowed_action: o.allowed_action,
        unknown_nr_action: o.unknown_nr_action,
        unknown_arch_action: o.unknown_arch_action,
        strategy,
        objective,
    };
    Ok((opts, o))
}

/// Borrows the caller's weight arrays for the duration of one compile.
///
/// # Safety
/// As documented on `tracefilter_options::weights`.
unsafe fn read_weights<'a>(
    raw: &tracefilter_options,
    list: &[u32],
) -> Result<Vec<Option<&'a [f64]>>> {
    if raw.weights_count == 0 {
        return Ok(Vec::new());
    }
    if raw.weights_count as usize != list.len() {
        return Err(Error::Invalid(format!(
            "weights_count {} differs from count {}",
            raw.weights_count,
            list.len()
        )));
    }
    let arrays = unsafe { ptr::slice(raw.weights, list.len(), "weights") }?;
    arrays
        .iter()
        .zip(list)
        .map(|(&w, &nsyscalls)| {
            if w.is_null() {
                Ok(None)
            } else {
                Ok(Some(unsafe {
                    ptr::slice(w, nsyscalls as usize, "weights[i]")
                }?))
            }
        })
        .collect()
}

/// Fills `opts` with the defaults and sets `struct_size`. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn tracefilter_options_init(opts: *mut tracefilter_options) {
    guard!((), unsafe { ptr::put(opts, default_options()) })
}

/// Compiles `count` personalities into a verified program. On success
/// `*out` owns it (free with tracefilter_program_free); on failure `*out`
/// is NULL. `opts` NULL means the defaults.
#[no_mangle]
pub unsafe extern "C" fn tracefilter_compile(
    pers: *const tracefilter_personality,
    count: usize,
    opts: *const tracefilter_options,
    out: *mut *mut tracefilter_program,
) -> c_int {
    guard!(status, {
        let out = unsafe { ptr::get_mut(out, "out") }?;
        *out = std::ptr::null_mut();
        let (list, opts, raw) =
            unsafe { compile_prologue(pers, count, "pers", opts, |p| p.nsyscalls) }?;
        let mut owned = Vec::with_capacity(list.len());
        for p in list {
            let bytes = p.nsyscalls.div_ceil(8) as usize;
            let traced = unsafe { ptr::slice(p.traced, bytes, "traced") }?;
            let mut copy = Vec::new();
            copy.try_reserve_exact(bytes).map_err(|_| Error::NoMemory)?;
            copy.extend_from_slice(traced);
            owned.push(OwnedPersonality {
                audit_arch: p.audit_arch,
                nr_flag: p.nr_flag,
                traced: copy,
                nsyscalls: p.nsyscalls,
            });
        }
        let views: Vec<Personality> = owned.iter().map(OwnedPersonality::view).collect();
        let sizes: Vec<u32> = list.iter().map(|p| p.nsyscalls).collect();
        let weights = unsafe { read_weights(&raw, &sizes) }?;
        let program = if raw.flags & TRACEFILTER_COMPILE_GUARD_UNTRACED != 0 {
            let program = compile_guarded(&views, &opts, &weights)?;
            // The figures see clone and clone3 as the program does: traced.
            let plan = crate::clone_guard::Plan::new(&views, &opts)?;
            let marked = plan.personalities(&views).iter().map(Into::into).collect();
            drop(views);
            owned = marked;
            program
        } else {
            compile_weighted(&views, &opts, &weights)?
        };
        *out = boxed_program(program, OwnedSpec::Bitmaps(owned));
        Ok(())
    })
}

/// The C handle of a compiled program.
fn boxed_program(program: Program, pers: OwnedSpec) -> *mut tracefilter_program {
    let mut boxed = Box::new(tracefilter_program {
        fprog: sock_fprog {
            len: 0,
            filter: std::ptr::null_mut(),
        },
        program,
        pers,
        stats: OnceLock::new(),
    });
    // The instructions live in the boxed program and never move or change.
    boxed.fprog = sock_fprog {
        len: boxed.program.insns().len() as u16,
        filter: boxed.program.insns().as_ptr() as *mut sock_filter,
    };
    Box::into_raw(boxed)
}

/// The program, ready for seccomp(2). Valid until tracefilter_program_free;
/// NULL for NULL.
#[no_mangle]
pub unsafe extern "C" fn tracefilter_program_fprog(
    prog: *const tracefilter_program,
) -> *const sock_fprog {
    guard!(
        std::ptr::null(),
        match unsafe { prog.as_ref() } {
            Some(p) => &p.fprog as *const sock_fprog,
            None => std::ptr::null(),
        }
    )
}

/// Frees a program. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn tracefilter_program_free(prog: *mut tracefilter_program) {
    if !prog.is_null() {
        guard!((), drop(unsafe { Box::from_raw(prog) }))
    }
}

/// Fills `out` with the program's figures (computed on first call, with the
/// emulator). `out->struct_size` must be set by the caller (see
/// struct tracefilter_stats).
#[no_mangle]
pub unsafe extern "C" fn tracefilter_program_stats(
    prog: *const tracefilter_program,
    out: *mut tracefilter_stats,
) -> c_int {
    guard!(status, {
        let p = unsafe { ptr::get(prog, "prog") }?;
        let version = unsafe { ptr::version(out, &STATS_SIZES, "out") }?;
        let (all, per) = p.stats.get_or_init(|| {
            let s = p.pers.stats(&p.program);
            let per = s
                .personalities
                .iter()
                .map(|q| tracefilter_personality_stats {
                    audit_arch: q.audit_arch,
                    nr_flag: q.nr_flag,
                    allowed: q.allowed,
                    max_executed: q.max_executed,
                    mean_executed: q.mean_executed,
                    cacheable: q.cacheable as u32,
                })
                .collect();
            (s.all_cacheable as u32, per)
        });
        let stats = tracefilter_stats {
            struct_size: 0, // not written
            strategy: p.program.strategy().id(),
            length: p.program.insns().len() as u32,
            all_cacheable: *all,
            count: per.len(),
            personalities: per.as_ptr(),
        };
        unsafe { ptr::write_versioned(out, version, stats) };
        Ok(())
    })
}

/// The instructions of any C program, after the checks that need no checker.
///
/// # Safety
/// `prog` is NULL or a valid `sock_fprog` whose `filter` holds `len` entries.
unsafe fn c_program<'a>(prog: *const sock_fprog) -> Result<&'a [Insn]> {
    let f = unsafe { ptr::get(prog, "prog") }?;
    if f.len == 0 || f.len as usize > crate::bpf::BPF_MAXINSNS {
        return Err(emulate::CheckError::Length(f.len as usize).into());
    }
    unsafe { ptr::slice(f.filter as *const Insn, f.len as usize, "prog->filter") }
}

/// Runs any program on `{ .nr = nr, .arch = arch }` (other fields 0) the way
/// the kernel would. Programs the kernel refuses give a
/// TRACEFILTER_E_PROGRAM_* status. `action` and `executed` may be NULL.
#[no_mangle]
pub unsafe extern "C" fn tracefilter_evaluate(
    prog: *const sock_fprog,
    arch: u32,
    nr: u32,
    action: *mut u32,
    executed: *mut u32,
) -> c_int {
    guard!(status, {
        let insns = unsafe { c_program(prog) }?;
        emulate::check(insns)?;
        let r = emulate::run(insns, &emulate::SeccompData::new(arch, nr));
        unsafe {
            ptr::put(action, r.action);
            ptr::put(executed, r.executed);
        }
        Ok(())
    })
}

/// Like tracefilter_evaluate, and tells whether the kernel's action cache
/// (Linux 5.11+) proves `nr` of `arch` allowed, so that it never runs the
/// filter for it. `*cacheable` is 1 or 0; always 0 for numbers outside the
/// kernel's cache bitmap (whose size is the arch's syscall count) whatever
/// the program: x32 numbers (AUDIT_ARCH_X86_64 with __X32_SYSCALL_BIT in
/// `nr`) and negative ones (`nr` of 0x80000000 and up).
///
/// Both functions answer for the program alone. The kernel makes an
/// exception on x86_64: seccomp_is_const_allow() in kernel/seccomp.c
/// (seccomp_uprobe_exception()) reports uretprobe (335; the syscall exists
/// since Linux 6.11, the exception since commit cf6cb56ef244, 6.14, also in
/// 6.12/6.13 stable) and uprobe (336; syscall and exception, commit
/// 89d1d8434d24, since 6.18) of AUDIT_ARCH_X86_64 as always allowed
/// before looking at the filter, so the action cache lets them through and
/// no filter ever runs for them. Traced or not, they never give a seccomp
/// stop; a tracer sees them only in ptrace mode. They are meant for the
/// kernel's own uprobe trampolines (arch/x86/kernel/uprobes.c): called from
/// anywhere else, uretprobe raises SIGILL and uprobe fails (ENXIO on 6.18).
#[no_mangle]
pub unsafe extern "C" fn tracefilter_cacheable(
    prog: *const sock_fprog,
    arch: u32,
    nr: u32,
    cacheable: *mut u32,
) -> c_int {
    guard!(status, {
        let insns = unsafe { c_program(prog) }?;
        emulate::check(insns)?;
        let out = unsafe { ptr::get_mut(cacheable, "cacheable") }?;
        *out = emulate::kernel_caches(insns, arch, nr) as u32;
        Ok(())
    })
}

/// Writes a listing of any program (one instruction a line, then a line
/// starting "; invalid program:" if the kernel would refuse it) like
/// snprintf: at most `size` bytes including the NUL, and returns the length
/// of the whole listing. `buf` may be NULL when `size` is 0.
#[no_mangle]
pub unsafe extern "C" fn tracefilter_disassemble(
    prog: *const sock_fprog,
    buf: *mut c_char,
    size: usize,
) -> usize {
    guard!(0, {
        let text = match unsafe { ptr::get(prog, "prog") } {
            Err(_) => "; invalid program: NULL\n".to_string(),
            Ok(f) => match unsafe { ptr::slice(f.filter as *const Insn, f.len as usize, "filter") }
            {
                Ok(insns) => disasm::disassemble(insns),
                Err(_) => "; invalid program: filter is NULL\n".to_string(),
            },
        };
        if !buf.is_null() && size > 0 {
            let n = text.len().min(size - 1);
            unsafe {
                std::ptr::copy_nonoverlapping(text.as_ptr(), buf as *mut u8, n);
                *buf.add(n) = 0;
            }
        }
        text.len()
    })
}

/// A static, NUL-terminated text for any status; "unknown status" otherwise.
#[no_mangle]
pub extern "C" fn tracefilter_strerror(status: c_int) -> *const c_char {
    Status::from_code(status)
        .map_or(c"unknown status", Status::text)
        .as_ptr()
}

/// The library version, e.g. "0.1.0".
#[no_mangle]
pub extern "C" fn tracefilter_version() -> *const c_char {
    const V: &CStr =
        match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
            Ok(v) => v,
            Err(_) => c"unknown",
        };
    V.as_ptr()
}
