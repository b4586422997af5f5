//! The child's side: between `fork` and `execve`, install the filter and
//! tell the tracer what happened.
//!
//! # Async-signal safety
//!
//! After `fork` in a multithreaded tracer, the child may only call
//! async-signal-safe functions (signal-safety(7)): another thread may have
//! held the allocator's or stdio's lock at the fork, and that lock stays
//! held forever in the child. [`install`] and [`send_report`] make raw
//! syscalls only: no allocation, no locks, no stdio, no panics. Prepare
//! everything that allocates before the fork: compile the [`Program`]
//! and take its [`Program::fprog`] in the parent; the child only reads it.
//!
//! # Fallback
//!
//! [`install`] never aborts and never sets `no_new_privs` unless the kernel
//! asks for it (EACCES without CAP_SYS_ADMIN) and the caller allowed it with
//! [`INSTALL_ALLOW_NO_NEW_PRIVS`]: `no_new_privs` would stop setuid programs
//! from gaining privileges in the tracee. It falls back from seccomp(2) to
//! prctl(2) on kernels without seccomp(2) and drops
//! `SECCOMP_FILTER_FLAG_SPEC_ALLOW` when the kernel refuses it. Whatever the
//! outcome, the child should send the [`Report`] and `execve` anyway: a
//! tracer that learns the filter is not active uses plain ptrace (see
//! [`crate::tracer`]), which is correct with or without a filter.
//!
//! [`Program`]: crate::Program
//! [`Program::fprog`]: crate::Program::fprog
//!
//! # Example
//!
//! The whole round trip, with `_exit` standing in for `execve`:
//!
//! ```
//! use tracefilter::{child, compile, tracer, Options, SyscallTable};
//!
//! let table = SyscallTable::native().expect("a host with a syscall table");
//! let traced = table.bitmap(&["getppid"])?;
//! let prog = compile(&[table.personality(&traced)], &Options::default())?;
//! let fprog = prog.fprog(); // everything that allocates: before fork
//!
//! let mut fds = [0; 2];
//! assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
//! match unsafe { libc::fork() } {
//!     0 => {
//!         // The child: async-signal-safe calls only.
//!         let report = child::install(&fprog, child::INSTALL_SPEC_ALLOW);
//!         let _ = child::send_report(fds[1], &report);
//!         unsafe { libc::_exit(0) } // a tracee would execve here
//!     }
//!     pid => {
//!         assert!(pid > 0);
//!         unsafe { libc::close(fds[1]) };
//!         let report = tracer::receive_report(fds[0])?;
//!         let mut status = 0;
//!         assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
//!         unsafe { libc::close(fds[0]) };
//!         // With the filter, resume with PTRACE_CONT between seccomp stops;
//!         // without it (old kernel, container policy), stay in ptrace mode.
//!         let mode = if report.installed { tracer::Mode::Seccomp } else { tracer::Mode::Ptrace };
//!         assert_eq!(report.installed, report.result().is_ok());
//!         # let _ = mode;
//!     }
//! }
//! # Ok::<(), tracefilter::Error>(())
//! ```

pub use crate::install::{
    install, Failure, InstallError, Mechanism, Outcome, Report, Step, INSTALL_ALLOW_NO_NEW_PRIVS,
    INSTALL_SPEC_ALLOW,
};

use crate::error::{Error, Result};

/// Writes `report` to `fd` (the write end of a pipe2(O_CLOEXEC) pipe), whole,
/// retrying EINTR; [`Error::Io`] with the errno on failure (the tracer then
/// sees no report). Async-signal-safe: call it after [`install`], success or
/// failure, and then execve.
pub fn send_report(fd: std::os::raw::c_int, report: &Report) -> Result<()> {
    crate::install::send(fd, report).map_err(Error::Io)
}
