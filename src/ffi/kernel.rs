//! C ABI of the kernel side: install, report pipe, probe, tracer protocol.
//!
//! tracefilter_install and tracefilter_report_send run between fork and
//! execve: their wrappers use only the panic guard (no allocation unless a
//! panic happens, which the install path has no way to cause) and errors
//! without heap data.

use std::ffi::c_int;
use std::mem::size_of;

use libc::sock_fprog;

use super::ptr::{self, Version};
use super::*;
use crate::clone_stop;
use crate::error::{Error, Result};
use crate::install::{self, Failure, Mechanism, Report, Step};
use crate::probe::{self, Kernel};
use crate::protocol::{self, Mode, Order, Request, Stop};

/// tracefilter_install flag: also pass SECCOMP_FILTER_FLAG_SPEC_ALLOW (no
/// forced speculative-store-bypass mitigation for the tracee); dropped and
/// retried without when the kernel refuses it (EINVAL).
pub const TRACEFILTER_INSTALL_SPEC_ALLOW: u32 = 0x1;
/// tracefilter_install flag: when the kernel refuses the filter with EACCES
/// (caller without CAP_SYS_ADMIN), set PR_SET_NO_NEW_PRIVS and retry.
/// Without it the install stops with TRACEFILTER_E_NEEDS_NO_NEW_PRIVS.
pub const TRACEFILTER_INSTALL_ALLOW_NO_NEW_PRIVS: u32 = 0x2;
const _: () = assert!(TRACEFILTER_INSTALL_SPEC_ALLOW == install::INSTALL_SPEC_ALLOW);
const _: () =
    assert!(TRACEFILTER_INSTALL_ALLOW_NO_NEW_PRIVS == install::INSTALL_ALLOW_NO_NEW_PRIVS);

pub const TRACEFILTER_MECHANISM_NONE: u32 = 0;
/// seccomp(SECCOMP_SET_MODE_FILTER, flags, prog)
pub const TRACEFILTER_MECHANISM_SECCOMP: u32 = 1;
/// prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, prog), when seccomp(2) is ENOSYS
pub const TRACEFILTER_MECHANISM_PRCTL: u32 = 2;

pub const TRACEFILTER_STEP_NONE: u32 = 0;
/// The arguments were refused before any syscall.
pub const TRACEFILTER_STEP_ARGUMENTS: u32 = 1;
pub const TRACEFILTER_STEP_SECCOMP: u32 = 2;
pub const TRACEFILTER_STEP_PRCTL: u32 = 3;
pub const TRACEFILTER_STEP_NO_NEW_PRIVS: u32 = 4;

const _: () = assert!(
    TRACEFILTER_MECHANISM_NONE == Mechanism::None as u32
        && TRACEFILTER_MECHANISM_SECCOMP == Mechanism::Seccomp as u32
        && TRACEFILTER_MECHANISM_PRCTL == Mechanism::Prctl as u32
        && TRACEFILTER_STEP_NONE == Step::None as u32
        && TRACEFILTER_STEP_ARGUMENTS == Step::Arguments as u32
        && TRACEFILTER_STEP_SECCOMP == Step::Seccomp as u32
        && TRACEFILTER_STEP_PRCTL == Step::Prctl as u32
        && TRACEFILTER_STEP_NO_NEW_PRIVS == Step::NoNewPrivs as u32
);

pub const TRACEFILTER_ORDER_UNKNOWN: u32 = 0;
/// Linux < 4.8: the seccomp stop comes before the syscall-entry stop.
pub const TRACEFILTER_ORDER_SECCOMP_FIRST: u32 = 1;
/// Linux >= 4.8: the seccomp stop comes after the syscall-entry stop.
pub const TRACEFILTER_ORDER_ENTRY_FIRST: u32 = 2;

/// The filter is (or may be) active and the tracer resumes with PTRACE_CONT
/// between traced syscalls.
pub const TRACEFILTER_MODE_SECCOMP: u32 = 1;
/// Plain ptrace: every resume is PTRACE_SYSCALL. Correct whether or not a
/// filter is active (given PTRACE_O_TRACESECCOMP): the fallback.
pub const TRACEFILTER_MODE_PTRACE: u32 = 2;

/// A PTRACE_EVENT_SECCOMP stop.
pub const TRACEFILTER_STOP_SECCOMP: u32 = 1;
pub const TRACEFILTER_STOP_SYSCALL_ENTRY: u32 = 2;
pub const TRACEFILTER_STOP_SYSCALL_EXIT: u32 = 3;

/// What tracefilter_install did. Set `struct_size` to
/// sizeof(struct tracefilter_install_report) (or use
/// tracefilter_install_report_init). The rule of every versioned struct:
/// below the first published size (32) TRACEFILTER_E_INVALID; the library
/// writes the largest published version that fits in `struct_size` and
/// nothing past it, and never changes `struct_size`; reading a report
/// (tracefilter_report_send), it reads that version, and every byte past
/// it up to `struct_size` must be 0.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct tracefilter_install_report {
    pub struct_size: u32,
    /// The call's return value.
    pub status: i32,
    /// 1 when the filter is active.
    pub installed: u32,
    /// TRACEFILTER_MECHANISM_* of the last attempt.
    pub mechanism: u32,
    /// SECCOMP_FILTER_FLAG_* of the last attempt (of the success, if any).
    pub flags: u32,
    /// 1 if this call set PR_SET_NO_NEW_PRIVS.
    pub no_new_privs: u32,
    /// TRACEFILTER_STEP_* that failed, TRACEFILTER_STEP_NONE on success.
    pub failed_step: u32,
    /// errno of the failed step, 0 on success.
    pub error: i32,
}

/// Published sizes of `struct tracefilter_install_report`.
const REPORT_SIZES: [usize; 1] = [32];
const _: () = assert!(size_of::<tracefilter_install_report>() == REPORT_SIZES[0]);

impl From<&Report> for tracefilter_install_report {
    fn from(r: &Report) -> Self {
        tracefilter_install_report {
            struct_size: size_of::<Self>() as u32,
            status: Status::of_install(r.status).code(),
            installed: r.installed as u32,
            mechanism: r.mechanism as u32,
            flags: r.flags,
            no_new_privs: r.no_new_privs as u32,
            failed_step: r.failed_step as u32,
            error: r.error,
        }
    }
}

impl tracefilter_install_report {
    /// The report this struct stands for; `None` for values no install
    /// writes.
    fn to_report(self) -> Option<Report> {
        let status = Status::from_code(self.status)?.install_outcome()?;
        if self.installed > 1 || self.no_new_privs > 1 || (self.installed == 1) != status.is_ok() {
            return None;
        }
        Some(Report {
            status,
            installed: self.installed == 1,
            mechanism: Mechanism::from_u32(self.mechanism)?,
            flags: self.flags,
            no_new_privs: self.no_new_privs == 1,
            failed_step: Step::from_u32(self.failed_step)?,
            error: self.error,
        })
    }
}

/// The caller's report, if any: its version (`None` for NULL), or the
/// status that refuses it.
///
/// # Safety
/// `report` is NULL or points to at least `struct_size` writable bytes.
unsafe fn report_version(report: *const tracefilter_install_report) -> Result<Option<Version>> {
    if report.is_null() {
        return Ok(None);
    }
    unsafe { ptr::version(report, &REPORT_SIZES, "report") }.map(Some)
}

/// Runs an install-like call and hands its report to an optional caller's
/// struct: the prologue and epilogue of tracefilter_install and
/// tracefilter_probe_install. Allocates nothing (the install path).
///
/// # Safety
/// As for [`report_version`].
unsafe fn with_report(
    report: *mut tracefilter_install_report,
    call: impl FnOnce() -> Report,
) -> c_int {
    let version = match unsafe { report_version(report) } {
        Ok(v) => v,
        Err(e) => return Status::from(&e).code(),
    };
    let r = call();
    if let Some(v) = version {
        unsafe { ptr::write_versioned(report, v, (&r).into()) };
    }
    Status::of_install(r.status).code()
}

/// What the kernel offers (tracefilter_probe). `struct_size` as for
/// struct tracefilter_install_report: 32 or more; the library writes the
/// largest published version that fits (32: every field below).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct tracefilter_kernel {
    pub struct_size: u32,
    /// 1 if seccomp filter mode works (prctl EFAULT probe).
    pub filter_mode: u32,
    /// 1 if the seccomp(2) syscall exists (Linux 3.17+).
    pub seccomp_syscall: u32,
    /// 1 if SECCOMP_RET_TRACE is available (SECCOMP_GET_ACTION_AVAIL, or
    /// filter mode on kernels before 4.14, which lack that operation).
    pub ret_trace: u32,
    /// SECCOMP_FILTER_FLAG_* the kernel accepts.
    pub filter_flags: u32,
    /// 1 if this process may trace its children (YAMA, containers, filters).
    pub ptrace: u32,
    /// TRACEFILTER_ORDER_*.
    pub stop_order: u32,
    /// errno of the first probe step that failed, 0 if none.
    pub error: i32,
}

/// Published sizes of `struct tracefilter_kernel`.
const KERNEL_SIZES: [usize; 1] = [32];
const _: () = assert!(size_of::<tracefilter_kernel>() == KERNEL_SIZES[0]);

/// How to resume at one stop (tracefilter_protocol_step).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct tracefilter_resume {
    /// PTRACE_CONT or PTRACE_SYSCALL.
    pub request: u32,
    /// 1: this stop is the entry of a syscall to print.
    pub decode_entry: u32,
}

/// Fills `report` with an empty report (status TRACEFILTER_E_NO_REPORT,
/// nothing installed) and sets `struct_size`. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn tracefilter_install_report_init(report: *mut tracefilter_install_report) {
    guard!((), unsafe { ptr::put(report, (&Report::EMPTY).into()) })
}

/// Installs the filter `prog` on the calling thread, for the tracee between
/// fork and execve. Async-signal-safe: raw syscalls only, no allocation, no
/// locks. Tries seccomp(SECCOMP_SET_MODE_FILTER); on ENOSYS
/// prctl(PR_SET_SECCOMP); on EACCES sets PR_SET_NO_NEW_PRIVS and retries only
/// with TRACEFILTER_INSTALL_ALLOW_NO_NEW_PRIVS (never up front, so that a
/// privileged tracer keeps setuid programs working in the tracee).
///
/// Returns TRACEFILTER_OK exactly when the filter is active. Else:
/// TRACEFILTER_E_NULL (prog or prog->filter NULL), TRACEFILTER_E_INVALID
/// (unknown flag bits, report->struct_size too small),
/// TRACEFILTER_E_PROGRAM_LENGTH (len 0 or above BPF_MAXINSNS),
/// TRACEFILTER_E_NEEDS_NO_NEW_PRIVS, TRACEFILTER_E_UNSUPPORTED (no filter
/// mode), TRACEFILTER_E_KERNEL (see report->failed_step and ->error; ENOMEM:
/// the stack of filters would exceed 32768 instructions). The caller then
/// traces without the filter.
///
/// `report` may be NULL; else its struct_size must be set.
#[no_mangle]
pub unsafe extern "C" fn tracefilter_install(
    prog: *const sock_fprog,
    flags: u32,
    report: *mut tracefilter_install_report,
) -> c_int {
    guard!(TRACEFILTER_E_INTERNAL, unsafe {
        with_report(report, || match prog.as_ref() {
            Some(p) => install::install(p, flags),
            None => Report {
                status: Err(Failure::Null),
                failed_step: Step::Arguments,
                error: libc::EFAULT,
                ..Report::EMPTY
            },
        })
    })
}

/// Writes `report` to `fd` (the write end of a pipe2(O_CLOEXEC) pipe), whole,
/// retrying EINTR. Async-signal-safe. The child calls it after
/// tracefilter_install, success or failure, and then execs. TRACEFILTER_E_IO
/// if the write fails (then the tracer sees TRACEFILTER_E_NO_REPORT);
/// TRACEFILTER_E_INVALID, with nothing written, for a report no install
/// writes (a status tracefilter_install does not return, `installed` not
/// 1 exactly when the status is TRACEFILTER_OK, an unknown mechanism or
/// step): the tracer then sees no report and falls back to ptrace mode.
#[no_mangle]
pub unsafe extern "C" fn tracefilter_report_send(
    fd: c_int,
    report: *const tracefilter_install_report,
) -> c_int {
    guard!(status, {
        let caller = unsafe {
            ptr::read_versioned(report, &REPORT_SIZES, "report", (&Report::EMPTY).into())
        }?;
        let r = caller
            .to_report()
            .ok_or(Error::InvalidArg("report holds values no install writes"))?;
        install::send(fd, &r).map_err(Error::Io)
    })
}

/// Reads the child's report from `fd` (the read end, after the tracer closed
/// its copy of the write end). TRACEFILTER_OK with `*report` filled;
/// TRACEFILTER_E_NO_REPORT on end of file (the child exec'd or died without
/// sending: whether a filter is active is unknown, trace in ptrace mode);
/// TRACEFILTER_E_IO on a short report or a read error. EINTR is retried.
///
/// Call it once the child has reached its PTRACE_EVENT_EXEC stop or died,
/// never while it may be stopped: its write may itself be a traced syscall
/// waiting for the tracer.
#[no_mangle]
pub unsafe extern "C" fn tracefilter_report_receive(
    fd: c_int,
    report: *mut tracefilter_install_report,
) -> c_int {
    guard!(status, {
        let version = unsafe { ptr::version(report, &REPORT_SIZES, "report") }?;
        let r = install::receive(fd)
            .map_err(Error::Io)?
            .ok_or(Error::NoReport)?;
        unsafe { ptr::write_versioned(report, version, (&r).into()) };
        Ok(())
    })
}

fn kernel_to_c(k: &Kernel) -> tracefilter_kernel {
    tracefilter_kernel {
        struct_size: size_of::<tracefilter_kernel>() as u32,
        filter_mode: k.filter_mode as u32,
        seccomp_syscall: k.seccomp_syscall as u32,
        ret_trace: k.ret_trace as u32,
        filter_flags: k.filter_flags,
        ptrace: k.ptrace as u32,
        stop_order: order_id(k.stop_order),
        error: k.error,
    }
}

fn order_id(o: Order) -> u32 {
    match o {
        Order::Unknown => TRACEFILTER_ORDER_UNKNOWN,
        Order::SeccompFirst => TRACEFILTER_ORDER_SECCOMP_FIRST,
        Order::EntryFirst => TRACEFILTER_ORDER_ENTRY_FIRST,
    }
}

/// Probes the kernel (see struct tracefilter_kernel). The stop order comes
/// from tracing a throwaway grandchild through a one-syscall RET_TRACE
/// filter. Leaves no child or zombie and changes no signal disposition; a
/// SIGCHLD handler of the host that reaps every child does not disturb it.
/// TRACEFILTER_OK when every probe ran (a missing feature is a 0 field and
/// `error`); TRACEFILTER_E_KERNEL (fork, pipe) or TRACEFILTER_E_PTRACE (the
/// tracing experiment went wrong) with the fields learnt so far.
#[no_mangle]
pub unsafe extern "C" fn tracefilter_probe(out: *mut tracefilter_kernel) -> c_int {
    guard!(status, {
        let version = unsafe { ptr::version(out, &KERNEL_SIZES, "out") }?;
        let mut k = Kernel::NOTHING;
        let r = probe::probe(&mut k);
        unsafe { ptr::write_versioned(out, version, kernel_to_c(&k)) };
        r
    })
}

/// Installs `prog` with `flags` in a throwaway child and returns that
/// install's status, with its report in `report` (may be NULL).
/// TRACEFILTER_E_NO_REPORT if the child died before installing;
/// TRACEFILTER_E_KERNEL with failed_step TRACEFILTER_STEP_NONE and the
/// errno if the throwaway child could not be made (mmap, fork).
#[no_mangle]
pub unsafe extern "C" fn tracefilter_probe_install(
    prog: *const sock_fprog,
    flags: u32,
    report: *mut tracefilter_install_report,
) -> c_int {
    guard!(TRACEFILTER_E_INTERNAL, {
        let Some(p) = (unsafe { prog.as_ref() }) else {
            return TRACEFILTER_E_NULL;
        };
        unsafe { with_report(report, || probe::probe_install(p, flags)) }
    })
}

fn parse(mode: u32, order: u32, stop: u32) -> Result<(Mode, Order, Stop)> {
    let mode = match mode {
        TRACEFILTER_MODE_SECCOMP => Mode::Seccomp,
        TRACEFILTER_MODE_PTRACE => Mode::Ptrace,
        _ => return Err(Error::InvalidArg("unknown mode")),
    };
    let order = match order {
        TRACEFILTER_ORDER_UNKNOWN => Order::Unknown,
        TRACEFILTER_ORDER_SECCOMP_FIRST => Order::SeccompFirst,
        TRACEFILTER_ORDER_ENTRY_FIRST => Order::EntryFirst,
        _ => return Err(Error::InvalidArg("unknown order")),
    };
    let stop = match stop {
        TRACEFILTER_STOP_SECCOMP => Stop::Seccomp,
        TRACEFILTER_STOP_SYSCALL_ENTRY => Stop::SyscallEntry,
        TRACEFILTER_STOP_SYSCALL_EXIT => Stop::SyscallExit,
        _ => return Err(Error::InvalidArg("unknown stop")),
    };
    Ok((mode, order, stop))
}

/// How to resume the tracee at a stop, and whether the stop is the entry of
/// a syscall to print (docs/protocol.md). `traced`: the tracer prints this
/// syscall. Pure. TRACEFILTER_E_INVALID for unknown values and for
/// TRACEFILTER_MODE_SECCOMP with TRACEFILTER_ORDER_UNKNOWN (use ptrace mode
/// then); `*out` is unchanged on error.
#[no_mangle]
pub unsafe extern "C" fn tracefilter_protocol_step(
    mode: u32,
    order: u32,
    stop: u32,
    traced: c_int,
    out: *mut tracefilter_resume,
) -> c_int {
    guard!(status, {
        let out = unsafe { ptr::get_mut(out, "out") }?;
        let (mode, order, stop) = parse(mode, order, stop)?;
        let r = protocol::step(mode, order, stop, traced != 0)
            .ok_or(Error::InvalidArg("seccomp mode needs a known stop order"))?;
        // PTRACE_* are c_uint in glibc's bindings, c_int elsewhere.
        #[allow(clippy::unnecessary_cast)]
        let request = match r.request {
            Request::Cont => libc::PTRACE_CONT as u32,
            Request::Syscall => libc::PTRACE_SYSCALL as u32,
        };
        *out = tracefilter_resume {
            request,
            decode_entry: r.decode_entry as u32,
        };
        Ok(())
    })
}

/// tracefilter_untraced_clear flag: rewrite clone's flags through the
/// register set even where PTRACE_SET_SYSCALL_INFO exists (for tests).
pub const TRACEFILTER_UNTRACED_NO_SET_SYSCALL_INFO: u32 = 0x1;
/// tracefilter_untraced_clear flag: rewrite clone3's flags with
/// PTRACE_POKEDATA even where process_vm_writev works (for tests).
pub const TRACEFILTER_UNTRACED_NO_VM_WRITEV: u32 = 0x2;
/// tracefilter_untraced_clear result: nothing to do (not a clone or clone3
/// stop, or CLONE_UNTRACED not set).
pub const TRACEFILTER_UNTRACED_NONE: u32 = 0;
/// tracefilter_untraced_clear result: CLONE_UNTRACED cleared in clone's
/// flags argument.
pub const TRACEFILTER_UNTRACED_CLONE: u32 = 1;
/// tracefilter_untraced_clear result: CLONE_UNTRACED cleared in clone3's
/// struct clone_args, in the tracee's memory.
pub const TRACEFILTER_UNTRACED_CLONE3: u32 = 2;
const _: () = assert!(
    TRACEFILTER_UNTRACED_NO_SET_SYSCALL_INFO == clone_stop::NO_SET_SYSCALL_INFO
        && TRACEFILTER_UNTRACED_NO_VM_WRITEV == clone_stop::NO_VM_WRITEV
        && TRACEFILTER_UNTRACED_NONE == clone_stop::Outcome::Nothing as u32
        && TRACEFILTER_UNTRACED_CLONE == clone_stop::Outcome::Clone as u32
        && TRACEFILTER_UNTRACED_CLONE3 == clone_stop::Outcome::Clone3 as u32
);

/// The tracer's half of TRACEFILTER_COMPILE_GUARD_UNTRACED: call it at
/// every seccomp stop of tracee `pid` (it is cheap on any other syscall).
/// If the tracee is entering clone with CLONE_UNTRACED in its flags, or
/// clone3 with it in its struct clone_args, the flag is cleared: the
/// kernel's recheck after the stop lets the syscall through, and the child
/// is created traced and reported through
/// PTRACE_O_TRACECLONE/TRACEFORK/TRACEVFORK. Also works at a syscall-entry
/// stop (on arm64 before Linux 6.16 the guard's seccomp stop still follows
/// it, and a second call at one stop reports the clone again). A tracer
/// that prints clone's flags should do so before this call.
///
/// clone: PTRACE_SET_SYSCALL_INFO (Linux 6.16+), else the register set
/// (x86_64 tracers: x86_64, x32 and i386 tracees; aarch64 tracers: aarch64
/// and arm tracees). clone3:
/// process_vm_writev, else PTRACE_POKEDATA. Needs PTRACE_GET_SYSCALL_INFO
/// (Linux 5.3+).
///
/// `*result` (may be NULL) gets TRACEFILTER_UNTRACED_*. Returns
/// TRACEFILTER_OK; TRACEFILTER_E_INVALID for unknown flags;
/// TRACEFILTER_E_UNSUPPORTED when the kernel or the tracer's arch lacks a
/// way to read or rewrite the flags (the child then escapes, as without the
/// guard); TRACEFILTER_E_PTRACE (the tracee is not in a ptrace stop of
/// this tracer, or died) or TRACEFILTER_E_KERNEL (the tracee's memory
/// could not be written) otherwise.
#[no_mangle]
pub unsafe extern "C" fn tracefilter_untraced_clear(
    pid: c_int,
    flags: u32,
    result: *mut u32,
) -> c_int {
    guard!(status, {
        let outcome = clone_stop::clear(pid, flags)?;
        unsafe { ptr::put(result, outcome as u32) };
        Ok(())
    })
}
