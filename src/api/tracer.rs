//! The tracer's side: what the kernel offers, the child's report, how to
//! resume at each stop, and the tracer's half of the CLONE_UNTRACED guard.
//!
//! A tracer sets `PTRACE_O_TRACESECCOMP` (and `PTRACE_O_EXITKILL`, and the
//! fork/clone options to follow children) before the child installs the
//! filter, reads the child's [`Report`](crate::child::Report) with
//! [`receive_report`], and then resumes at every stop as [`step`] says: in
//! [`Mode::Seccomp`] only the traced syscalls stop the tracee
//! (`PTRACE_EVENT_SECCOMP`); in
//! [`Mode::Ptrace`] every syscall does, which is correct whether or not a
//! filter is active, and so the answer whenever anything about the filter
//! failed or is unknown. The [`Order`] of the seccomp and syscall-entry
//! stops changed in Linux 4.8; [`probe`] measures it.
//!
//! ```
//! use tracefilter::tracer::{step, Mode, Order, Request, Stop};
//!
//! // Linux 4.8+: the seccomp stop of a traced syscall is its entry; decode
//! // it and catch the exit with PTRACE_SYSCALL.
//! let r = step(Mode::Seccomp, Order::EntryFirst, Stop::Seccomp, true).unwrap();
//! assert_eq!((r.request, r.decode_entry), (Request::Syscall, true));
//! // At the exit, PTRACE_CONT: the tracee runs to the next traced syscall.
//! let r = step(Mode::Seccomp, Order::EntryFirst, Stop::SyscallExit, true).unwrap();
//! assert_eq!(r.request, Request::Cont);
//! // Seccomp mode with an unknown order is no correct tracer.
//! assert!(step(Mode::Seccomp, Order::Unknown, Stop::Seccomp, true).is_none());
//! ```
//!
//! Before the first tracee, a tracer can ask the kernel what it offers;
//! seccomp mode needs filter mode, `SECCOMP_RET_TRACE` and a known order:
//!
//! ```
//! use tracefilter::tracer::{probe, Kernel, Mode, Order};
//!
//! let mut kernel = Kernel::NOTHING;
//! let probed = probe(&mut kernel); // forks a prober and its tracee
//! let mode = match probed {
//!     Ok(()) if kernel.filter_mode && kernel.ret_trace && kernel.stop_order != Order::Unknown => {
//!         Mode::Seccomp
//!     }
//!     _ => Mode::Ptrace,
//! };
//! println!("{kernel:?}: {mode:?}");
//! ```
//!
//! # CLONE_UNTRACED
//!
//! A tracee may create a child with `CLONE_UNTRACED`; the child then runs
//! with the filter but without the tracer, and each of its traced syscalls
//! fails with ENOSYS. A program compiled with
//! [`compile_guarded`](crate::compile_guarded) stops at every clone with
//! that flag and at every clone3; at that stop, [`untraced_clear`] clears
//! the flag, so the child is created traced.

use libc::pid_t;

use crate::error::{Error, Result};
use crate::install::Report;

pub use crate::clone_stop::Outcome as UntracedOutcome;
pub use crate::probe::{probe, probe_install, Kernel};
pub use crate::protocol::{step, Mode, Order, Request, Resume, Stop};

/// Reads the child's install report from `fd` (the read end, once the
/// tracer closed its copy of the write end). [`Error::NoReport`] on end of
/// file (the child exec'd or died without sending one: trace in ptrace
/// mode); [`Error::Io`] on a read error or a short or malformed report.
/// Call it once the child reached its PTRACE_EVENT_EXEC stop or died, never
/// while it may be stopped: its write may itself be a traced syscall.
pub fn receive_report(fd: std::os::raw::c_int) -> Result<Report> {
    match crate::install::receive(fd) {
        Ok(Some(r)) => Ok(r),
        Ok(None) => Err(Error::NoReport),
        Err(errno) => Err(Error::Io(errno)),
    }
}

/// At a seccomp stop (or syscall-entry stop) of `pid`, clears
/// `CLONE_UNTRACED` from the flags of a clone or clone3 that sets it, and
/// says what it did; anything else is left alone
/// ([`UntracedOutcome::Nothing`]). Needs PTRACE_GET_SYSCALL_INFO (Linux
/// 5.3+) and, for clone, PTRACE_SET_SYSCALL_INFO (Linux 6.16+) or an
/// x86_64 or aarch64 tracer; [`Error::Unsupported`](crate::Error::Unsupported)
/// otherwise.
pub fn untraced_clear(pid: pid_t) -> Result<UntracedOutcome> {
    crate::clone_stop::clear(pid, 0)
}
