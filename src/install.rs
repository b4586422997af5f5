//! Installing a filter in the tracee-to-be, between fork and execve, and
//! the report that tells the tracer what happened.
//!
//! Everything here may run in the child of a multithreaded tracer, where
//! only async-signal-safe code is allowed: raw syscalls, no allocation, no
//! locks, no stdio, no panics. A failure is a plain [`Failure`] in the
//! [`Report`], never an `Error` value with text; [`Report::result`] gives
//! the typed error, with the step and errno, on the tracer's side.
//!
//! This is also the one home of the syscall layer's pipe helpers: one
//! write loop, one read loop and one record codec (native-endian words),
//! used by the install report and by the probe.

use std::ffi::c_void;

use libc::{c_long, c_ulong, sock_fprog};

use crate::bpf::BPF_MAXINSNS;

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
    pub(crate) fn from_u32(v: u32) -> Option<Self> {
        [Self::None, Self::Seccomp, Self::Prctl]
            .into_iter()
            .find(|m| *m as u32 == v)
    }
}

impl Step {
    pub(crate) fn from_u32(v: u32) -> Option<Self> {
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

/// Why no filter is active after an install.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Unknown flag bits; nothing was tried.
    Flags,
    /// The program's filter pointer is NULL; nothing was tried.
    Null,
    /// The program's length is 0 or above BPF_MAXINSNS; nothing was tried.
    Length,
    /// The kernel wants no_new_privs (EACCES) and the flags did not allow
    /// setting it; nothing was changed.
    NeedsNoNewPrivs,
    /// The kernel has no seccomp filter mode.
    Unsupported,
    /// The kernel refused a step (the report's `failed_step` and `error`).
    Kernel,
    /// Nothing is known: the install has not run, or its child died or
    /// exec'd before reporting.
    NoReport,
}

/// An install's status: `Ok` exactly when the filter is active.
pub type Outcome = std::result::Result<(), Failure>;

/// What an install did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Report {
    /// `Ok` exactly when the filter is active; [`Report::result`] gives the
    /// failure with its step and errno as an error.
    pub status: Outcome,
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

/// A failed install as an error: the whole report's account of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe())]
pub struct InstallError {
    /// Why no filter is active.
    pub failure: Failure,
    /// The step that failed ([`Step::None`] when nothing was tried).
    pub step: Step,
    /// errno of that step, 0 if none.
    pub errno: i32,
}

impl InstallError {
    fn describe(&self) -> String {
        let step = match self.step {
            Step::None => "the install",
            Step::Arguments => "the arguments",
            Step::Seccomp => "seccomp(SECCOMP_SET_MODE_FILTER)",
            Step::Prctl => "prctl(PR_SET_SECCOMP)",
            Step::NoNewPrivs => "prctl(PR_SET_NO_NEW_PRIVS)",
        };
        let errno = self.errno;
        match self.failure {
            Failure::Flags => "invalid argument: unknown install flags".into(),
            Failure::Null => "null pointer argument: prog->filter".into(),
            Failure::Length => format!("invalid program: length is 0 or above {BPF_MAXINSNS}"),
            Failure::NeedsNoNewPrivs => format!(
                "the kernel requires no_new_privs (or CAP_SYS_ADMIN) to install a filter: {step} gave errno {errno}"
            ),
            Failure::Unsupported => {
                format!("not supported by this kernel: seccomp filter mode ({step}: errno {errno})")
            }
            Failure::Kernel => format!("the kernel refused {step}: errno {errno}"),
            Failure::NoReport => "no report: the child exec'd or died before sending it".into(),
        }
    }
}

impl Report {
    /// The report of a call that has not run (or whose child sent nothing).
    pub const EMPTY: Report = Report {
        status: Err(Failure::NoReport),
        installed: false,
        mechanism: Mechanism::None,
        flags: 0,
        no_new_privs: false,
        failed_step: Step::None,
        error: 0,
    };

    pub(crate) fn failed(mut self, failure: Failure, step: Step, errno: i32) -> Report {
        self.status = Err(failure);
        self.installed = false;
        self.failed_step = step;
        self.error = errno;
        self
    }

    /// The status as a `Result`, for Rust callers: every field of the
    /// report that tells why is in the error.
    pub fn result(&self) -> std::result::Result<(), InstallError> {
        self.status.map_err(|failure| InstallError {
            failure,
            step: self.failed_step,
            errno: self.error,
        })
    }
}

impl Failure {
    const ALL: [Failure; 7] = [
        Failure::Flags,
        Failure::Null,
        Failure::Length,
        Failure::NeedsNoNewPrivs,
        Failure::Unsupported,
        Failure::Kernel,
        Failure::NoReport,
    ];
}

/// The report on the pipe: eight native-endian words (child and tracer run
/// the same build). The status is 0 for success, 1 + the [`Failure`]'s
/// index otherwise: a private code, not the C ABI's status.
const WIRE_SIZE: usize = 32;

impl Report {
    fn to_wire(self) -> [u8; WIRE_SIZE] {
        let status = match self.status {
            Ok(()) => 0,
            Err(f) => 1 + f as u32,
        };
        let words = [
            WIRE_SIZE as u32,
            status,
            self.installed as u32,
            self.mechanism as u32,
            self.flags,
            self.no_new_privs as u32,
            self.failed_step as u32,
            self.error as u32,
        ];
        let mut out = [0u8; WIRE_SIZE];
        encode(&words, &mut out);
        out
    }

    /// `None` for bytes no sender writes.
    fn from_wire(b: &[u8; WIRE_SIZE]) -> Option<Report> {
        let mut w = [0u32; WIRE_SIZE / 4];
        decode(b, &mut w);
        let status = match w[1] {
            0 => Ok(()),
            n => Err(*Failure::ALL.get(n as usize - 1)?),
        };
        if w[0] as usize != WIRE_SIZE || w[2] > 1 || w[5] > 1 || (w[2] == 1) != status.is_ok() {
            return None;
        }
        Some(Report {
            status,
            installed: w[2] == 1,
            mechanism: Mechanism::from_u32(w[3])?,
            flags: w[4],
            no_new_privs: w[5] == 1,
            failed_step: Step::from_u32(w[6])?,
            error: w[7] as i32,
        })
    }
}

/// Writes `report` to `fd` (the write end of a pipe2(O_CLOEXEC) pipe), whole,
/// retrying EINTR; the errno on failure. Async-signal-safe: the child calls
/// it after [`install`], success or failure, and then execs.
pub fn send(fd: i32, report: &Report) -> std::result::Result<(), i32> {
    write_all(fd, &report.to_wire())
}

/// Reads the child's report from `fd`: `Ok(None)` on end of file before any
/// byte (the child exec'd or died without sending one), `Err(EPROTO)` for a
/// short or malformed report, `Err(errno)` when the read fails.
pub fn receive(fd: i32) -> std::result::Result<Option<Report>, i32> {
    let mut wire = [0u8; WIRE_SIZE];
    match read_full(fd, &mut wire)? {
        0 => Ok(None),
        WIRE_SIZE => Report::from_wire(&wire).map(Some).ok_or(libc::EPROTO),
        _ => Err(libc::EPROTO),
    }
}

/// Writes `words` into `out` in native byte order: the form of every
/// record this layer passes through a pipe (both ends run the same build).
pub(crate) fn encode(words: &[u32], out: &mut [u8]) {
    for (chunk, w) in out.chunks_exact_mut(4).zip(words) {
        chunk.copy_from_slice(&w.to_ne_bytes());
    }
}

/// The words [`encode`] wrote.
pub(crate) fn decode(bytes: &[u8], words: &mut [u32]) {
    for (w, chunk) in words.iter_mut().zip(bytes.chunks_exact(4)) {
        *w = u32::from_ne_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
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
    let mut r = Report::EMPTY;
    if flags & !INSTALL_KNOWN != 0 {
        return r.failed(Failure::Flags, Step::Arguments, libc::EINVAL);
    }
    if prog.filter.is_null() {
        return r.failed(Failure::Null, Step::Arguments, libc::EFAULT);
    }
    if prog.len == 0 || prog.len as usize > BPF_MAXINSNS {
        return r.failed(Failure::Length, Step::Arguments, libc::EINVAL);
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
                r.status = Ok(());
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
                    return r.failed(Failure::Kernel, step, e);
                }
                if flags & INSTALL_ALLOW_NO_NEW_PRIVS == 0 {
                    return r.failed(Failure::NeedsNoNewPrivs, step, e);
                }
                if let Err(e2) = prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0) {
                    return r.failed(Failure::Kernel, Step::NoNewPrivs, e2);
                }
                r.no_new_privs = true;
            }
            libc::EINVAL | libc::ENOSYS if !filter_mode_available() => {
                return r.failed(Failure::Unsupported, step, e)
            }
            _ => return r.failed(Failure::Kernel, step, e),
        }
    }
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

/// Reads until `buf` is full or end of file, retrying EINTR; the count
/// read, or an errno. Async-signal-safe.
pub(crate) fn read_full(fd: i32, buf: &mut [u8]) -> std::result::Result<usize, i32> {
    let mut done = 0;
    while done < buf.len() {
        let rest = &mut buf[done..];
        // SAFETY: `rest` is valid for writes of its length.
        let n = unsafe { libc::read(fd, rest.as_mut_ptr() as *mut c_void, rest.len()) };
        if n < 0 {
            match errno() {
                libc::EINTR => continue,
                e => return Err(e),
            }
        }
        if n == 0 {
            break;
        }
        done += n as usize;
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip() {
        let words = [32, u32::MAX, 0, 7];
        let mut bytes = [0u8; 16];
        encode(&words, &mut bytes);
        let mut back = [0u32; 4];
        decode(&bytes, &mut back);
        assert_eq!(back, words);
    }

    #[test]
    fn every_report_crosses_the_pipe_and_nothing_else_does() {
        let ok = Report {
            status: Ok(()),
            installed: true,
            mechanism: Mechanism::Seccomp,
            flags: 4,
            no_new_privs: true,
            failed_step: Step::None,
            error: 0,
        };
        let mut reports = vec![ok];
        for f in Failure::ALL {
            reports.push(ok.failed(f, Step::Prctl, libc::EINVAL));
        }
        for r in reports {
            let mut fds = [0; 2];
            assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
            send(fds[1], &r).unwrap();
            unsafe { libc::close(fds[1]) };
            assert_eq!(receive(fds[0]), Ok(Some(r)));
            assert_eq!(receive(fds[0]), Ok(None), "end of file after one report");
            unsafe { libc::close(fds[0]) };
        }
        let mut wire = ok.to_wire();
        wire[8] = 0; // installed without a successful status
        assert_eq!(Report::from_wire(&wire), None);
        let mut wire = ok.to_wire();
        wire[4] = 9; // status beyond the last failure
        assert_eq!(Report::from_wire(&wire), None);
    }

    #[test]
    fn the_error_keeps_the_step_and_errno() {
        let r = Report::EMPTY.failed(Failure::Kernel, Step::NoNewPrivs, libc::EPERM);
        let e = r.result().unwrap_err();
        assert_eq!(
            (e.failure, e.step, e.errno),
            (Failure::Kernel, Step::NoNewPrivs, libc::EPERM)
        );
        assert_eq!(
            e.to_string(),
            format!(
                "the kernel refused prctl(PR_SET_NO_NEW_PRIVS): errno {}",
                libc::EPERM
            )
        );
        assert_eq!(
            Report::EMPTY.result().unwrap_err().failure,
            Failure::NoReport
        );
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
            (Err(Failure::Flags), Step::Arguments)
        );
        let null = sock_fprog {
            len: 1,
            filter: std::ptr::null_mut(),
        };
        assert_eq!(install(&null, 0).status, Err(Failure::Null));
        for len in [0, 4097] {
            let p = sock_fprog {
                len,
                filter: ok.filter,
            };
            let r = install(&p, 0);
            assert_eq!(r.status, Err(Failure::Length));
            assert!(!r.installed);
        }
    }
}
