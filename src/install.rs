//! Installing a filter in the tracee-to-be, between fork and execve, and
//! the report that tells the tracer what happened.
//!
//! Everything here may run in the child of a multithreaded tracer, where
//! only async-signal-safe code is allowed: raw syscalls, no allocation, no
//! locks, no stdio, no panics. The errors are plain statuses, never
//! `Error` values with text.

use std::ffi::c_void;

use libc::{c_long, c_ulong, sock_fprog};

use crate::bpf::BPF_MAXINSNS;
use crate::error::status::*;
use crate::error::{Error, Result};

/// Add SECCOMP_FILTER_FLAG_SPEC_ALLOW; dropped when the kernel refuses it.
pub const INSTALL_SPEC_ALLOW: u32 = 0x1;
/// On EACCES, set no_new_privs and retry.
pub const INSTALL_ALLOW_NO_NEW_PRIVS: u32 = 0x2;
const INSTALL_KNOWN: u32 = INSTALL_SPEC_ALLOW | INSTALL_ALLOW_NO_NEW_PRIVS;

const SPEC_ALLOW: u32 = libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW as u32;

/// How the filter went in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Mechanism {
    /// No filter went in.
    None = 0,
    /// seccomp(SECCOMP_SET_MODE_FILTER, flags, prog)
    Seccomp = 1,
    /// prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, prog): kernels without seccomp(2)
    Prctl = 2,
}

/// The step that failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Step {
    /// Nothing failed.
    None = 0,
    /// The arguments were refused before any syscall (flags, program length, NULL).
    Arguments = 1,
    /// `seccomp(SECCOMP_SET_MODE_FILTER)`.
    Seccomp = 2,
    /// `prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER)`.
    Prctl = 3,
    /// `prctl(PR_SET_NO_NEW_PRIVS)`.
    NoNewPrivs = 4,
}

impl Mechanism {
    fn from_u32(v: u32) -> Option<Self> {
        [Self::None, Self::Seccomp, Self::Prctl]
            .into_iter()
            .find(|m| *m as u32 == v)
    }
}

impl Step {
    fn from_u32(v: u32) -> Option<Self> {
        [
            Self::None,
            Self::Arguments,
            Self::Seccomp,
            Self::Prctl,
            Self::NoNewPrivs,
        ]
        .into_iter()
        .find(|s| *s as u32 == v)
    }
}

/// What an install did. `status` is `TRACEFILTER_OK` exactly when the
/// filter is active.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Report {
    /// `TRACEFILTER_OK` (0) or a negative `TRACEFILTER_E_*` status of the C
    /// ABI; [`Report::result`] gives it as an [`Error`].
    pub status: i32,
    /// The filter is active in the child.
    pub installed: bool,
    /// How it went in (or was last tried).
    pub mechanism: Mechanism,
    /// SECCOMP_FILTER_FLAG_* of the last attempt (the successful one on success).
    pub flags: u32,
    /// This install set no_new_privs.
    pub no_new_privs: bool,
    /// The step that failed, [`Step::None`] on success.
    pub failed_step: Step,
    /// errno of the failed step, 0 on success.
    pub error: i32,
}

impl Report {
    /// The report of a call that has not run (or whose child sent nothing).
    pub const EMPTY: Report = Report {
        status: TRACEFILTER_E_NO_REPORT,
        installed: false,
        mechanism: Mechanism::None,
        flags: 0,
        no_new_privs: false,
        failed_step: Step::None,
        error: 0,
    };

    fn failed(mut self, status: i32, step: Step, errno: i32) -> Report {
        self.status = status;
        self.installed = false;
        self.failed_step = step;
        self.error = errno;
        self
    }

    /// The status as a `Result`, for Rust callers.
    pub fn result(&self) -> Result<()> {
        let step = match self.failed_step {
            Step::NoNewPrivs => "PR_SET_NO_NEW_PRIVS",
            Step::Prctl => "prctl(PR_SET_SECCOMP)",
            _ => "seccomp(SECCOMP_SET_MODE_FILTER)",
        };
        match self.status {
            TRACEFILTER_OK => Ok(()),
            TRACEFILTER_E_NULL => Err(Error::Null("prog->filter")),
            TRACEFILTER_E_UNSUPPORTED => Err(Error::Unsupported("seccomp filter mode")),
            TRACEFILTER_E_NEEDS_NO_NEW_PRIVS => Err(Error::NeedsNoNewPrivs),
            TRACEFILTER_E_KERNEL => Err(Error::Kernel {
                step,
                errno: self.error,
            }),
            TRACEFILTER_E_PROGRAM_LENGTH => Err(crate::emulate::CheckError::Length(0).into()),
            _ => Err(Error::Invalid(format!("install status {}", self.status))),
        }
    }
}

/// Size of the report on the wire: the v1 C struct, native byte order.
pub const WIRE_SIZE: usize = 32;

impl Report {
    pub(crate) fn to_wire(&self) -> [u8; WIRE_SIZE] {
        let words: [u32; 8] = [
            WIRE_SIZE as u32,
            self.status as u32,
            self.installed as u32,
            self.mechanism as u32,
            self.flags,
            self.no_new_privs as u32,
            self.failed_step as u32,
            self.error as u32,
        ];
        let mut out = [0u8; WIRE_SIZE];
        for (chunk, w) in out.chunks_exact_mut(4).zip(words) {
            chunk.copy_from_slice(&w.to_ne_bytes());
        }
        out
    }

    /// `None` for bytes no sender of this protocol writes.
    pub fn from_wire(b: &[u8; WIRE_SIZE]) -> Option<Report> {
        let mut w = [0u32; 8];
        for (word, chunk) in w.iter_mut().zip(b.chunks_exact(4)) {
            *word = u32::from_ne_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        }
        if w[0] as usize != WIRE_SIZE || w[2] > 1 || w[5] > 1 {
            return None;
        }
        Some(Report {
            status: w[1] as i32,
            installed: w[2] == 1,
            mechanism: Mechanism::from_u32(w[3])?,
            flags: w[4],
            no_new_privs: w[5] == 1,
            failed_step: Step::from_u32(w[6])?,
            error: w[7] as i32,
        })
    }
}

pub(crate) fn errno() -> i32 {
    // No allocation: an OS error is stored inline.
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

pub(crate) fn seccomp(op: u32, flags: u32, arg: *const c_void) -> std::result::Result<c_long, i32> {
    // SAFETY: seccomp(2) reads `arg` only through copy_from_user: a bad
    // pointer is EFAULT, never undefined behaviour here.
    let r = unsafe { libc::syscall(libc::SYS_seccomp, op as c_ulong, flags as c_ulong, arg) };
    if r < 0 {
        Err(errno())
    } else {
        Ok(r)
    }
}

pub(crate) fn prctl(option: i32, a2: c_ulong, a3: c_ulong) -> std::result::Result<c_long, i32> {
    // SAFETY: as for seccomp: the kernel checks every pointer it is given.
    let r = unsafe {
        libc::syscall(
            libc::SYS_prctl,
            option as c_ulong,
            a2,
            a3,
            0 as c_ulong,
            0 as c_ulong,
        )
    };
    if r < 0 {
        Err(errno())
    } else {
        Ok(r)
    }
}

/// The EFAULT probe: filter mode exists when the kernel gets as far as
/// reading the (NULL) program.
pub(crate) fn filter_mode_available() -> bool {
    prctl(
        libc::PR_SET_SECCOMP,
        libc::SECCOMP_MODE_FILTER as c_ulong,
        0,
    ) == Err(libc::EFAULT)
}

/// Installs `prog` on the calling thread. Never sets no_new_privs unless the
/// kernel asked for it (EACCES) and `flags` allow it: a privileged tracer
/// thus keeps setuid programs working in the tracee.
pub fn install(prog: &sock_fprog, flags: u32) -> Report {
    let mut r = Report {
        status: TRACEFILTER_E_INTERNAL,
        ..Report::EMPTY
    };
    if flags & !INSTALL_KNOWN != 0 {
        return r.failed(TRACEFILTER_E_INVALID, Step::Arguments, libc::EINVAL);
    }
    if prog.filter.is_null() {
        return r.failed(TRACEFILTER_E_NULL, Step::Arguments, libc::EFAULT);
    }
    if prog.len == 0 || prog.len as usize > BPF_MAXINSNS {
        return r.failed(TRACEFILTER_E_PROGRAM_LENGTH, Step::Arguments, libc::EINVAL);
    }
    let arg = prog as *const sock_fprog as *const c_void;
    r.mechanism = Mechanism::Seccomp;
    r.flags = if flags & INSTALL_SPEC_ALLOW != 0 {
        SPEC_ALLOW
    } else {
        0
    };
    // Each retry changes the state for good (flag dropped, mechanism
    // switched, no_new_privs set), so this ends after at most four calls.
    loop {
        let (res, step) = match r.mechanism {
            Mechanism::Prctl => (
                prctl(
                    libc::PR_SET_SECCOMP,
                    libc::SECCOMP_MODE_FILTER as c_ulong,
                    arg as c_ulong,
                ),
                Step::Prctl,
            ),
            _ => (
                seccomp(libc::SECCOMP_SET_MODE_FILTER, r.flags, arg),
                Step::Seccomp,
            ),
        };
        let e = match res {
            Ok(_) => {
                r.status = TRACEFILTER_OK;
                r.installed = true;
                return r;
            }
            Err(e) => e,
        };
        match e {
            libc::EINVAL if r.flags & SPEC_ALLOW != 0 => r.flags &= !SPEC_ALLOW,
            libc::ENOSYS if r.mechanism == Mechanism::Seccomp => {
                r.mechanism = Mechanism::Prctl;
                r.flags = 0;
            }
            libc::EACCES if !r.no_new_privs => {
                // Already set: the refusal is about something else.
                if prctl(libc::PR_GET_NO_NEW_PRIVS, 0, 0) == Ok(1) {
                    return r.failed(TRACEFILTER_E_KERNEL, step, e);
                }
                if flags & INSTALL_ALLOW_NO_NEW_PRIVS == 0 {
                    return r.failed(TRACEFILTER_E_NEEDS_NO_NEW_PRIVS, step, e);
                }
                if let Err(e2) = prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0) {
                    return r.failed(TRACEFILTER_E_KERNEL, Step::NoNewPrivs, e2);
                }
                r.no_new_privs = true;
            }
            libc::EINVAL | libc::ENOSYS if !filter_mode_available() => {
                return r.failed(TRACEFILTER_E_UNSUPPORTED, step, e)
            }
            _ => return r.failed(TRACEFILTER_E_KERNEL, step, e),
        }
    }
}

/// Writes the whole report to `fd`, retrying EINTR and short writes.
/// Async-signal-safe.
pub fn send(fd: i32, report: &Report) -> std::result::Result<(), i32> {
    write_all(fd, &report.to_wire())
}

/// Writes all of `buf` to `fd`, retrying EINTR and short writes; an errno
/// on failure. Async-signal-safe.
pub(crate) fn write_all(fd: i32, buf: &[u8]) -> std::result::Result<(), i32> {
    let mut done = 0;
    while done < buf.len() {
        let rest = &buf[done..];
        // SAFETY: `rest` is valid for reads of its length.
        let n = unsafe { libc::write(fd, rest.as_ptr() as *const c_void, rest.len()) };
        if n < 0 {
            match errno() {
                libc::EINTR => continue,
                e => return Err(e),
            }
        }
        if n == 0 {
            return Err(libc::EIO);
        }
        done += n as usize;
    }
    Ok(())
}

/// Reads one report from `fd`. End of file before the first byte is
/// `NoReport`; a short or malformed report, or a read error, is `Io`.
pub fn receive(fd: i32) -> Result<Report> {
    let mut buf = [0u8; WIRE_SIZE];
    let mut done = 0;
    while done < buf.len() {
        let rest = &mut buf[done..];
        // SAFETY: `rest` is valid for writes of its length.
        let n = unsafe { libc::read(fd, rest.as_mut_ptr() as *mut c_void, rest.len()) };
        if n < 0 {
            match errno() {
                libc::EINTR => continue,
                e => return Err(Error::Io(e)),
            }
        }
        if n == 0 {
            return Err(if done == 0 {
                Error::NoReport
            } else {
                Error::Io(libc::EPROTO)
            });
        }
        done += n as usize;
    }
    Report::from_wire(&buf).ok_or(Error::Io(libc::EPROTO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_round_trip() {
        let r = Report {
            status: TRACEFILTER_E_KERNEL,
            installed: false,
            mechanism: Mechanism::Prctl,
            flags: 4,
            no_new_privs: true,
            failed_step: Step::NoNewPrivs,
            error: libc::EPERM,
        };
        assert_eq!(Report::from_wire(&r.to_wire()), Some(r));
        let mut bad = r.to_wire();
        bad[12] = 9; // mechanism 9
        assert_eq!(Report::from_wire(&bad), None);
        let mut bad = r.to_wire();
        bad[0] = 16; // struct_size
        assert_eq!(Report::from_wire(&bad), None);
    }

    #[test]
    fn arguments_are_checked_before_the_kernel() {
        let insn = libc::sock_filter {
            code: 0x06,
            jt: 0,
            jf: 0,
            k: 0x7fff_0000,
        };
        let ok = sock_fprog {
            len: 1,
            filter: &insn as *const _ as *mut _,
        };
        let r = install(&ok, 0x4);
        assert_eq!(
            (r.status, r.failed_step),
            (TRACEFILTER_E_INVALID, Step::Arguments)
        );
        let null = sock_fprog {
            len: 1,
            filter: std::ptr::null_mut(),
        };
        assert_eq!(install(&null, 0).status, TRACEFILTER_E_NULL);
        for len in [0, 4097] {
            let p = sock_fprog {
                len,
                filter: ok.filter,
            };
            let r = install(&p, 0);
            assert_eq!(r.status, TRACEFILTER_E_PROGRAM_LENGTH);
            assert!(!r.installed);
        }
    }
}
