//! What the kernel offers a tracer: seccomp filter support, flags,
//! RET_TRACE, ptrace, and the order of the seccomp and syscall-entry stops.
//!
//! The stop order needs a traced child. It runs two processes down: a
//! "prober" child of the caller traces a "tracee" grandchild and sends the
//! result back through a pipe. The caller thus has one child to reap and
//! learns the result from the pipe, not from wait statuses, so a host
//! SIGCHLD handler that reaps children (waitpid(-1)) cannot steal it; the
//! prober resets SIGCHLD to the default in itself only. Every child ends
//! in `_exit` and never returns into the caller's code.

use std::ffi::c_void;

use libc::{c_int, c_ulong, pid_t, sock_filter, sock_fprog};

use crate::bpf::*;
use crate::error::{Error, Result};
use crate::install::{
    self, decode, encode, errno, filter_mode_available, prctl, read_full, seccomp, write_all,
    Failure, Report, Step,
};
use crate::protocol::Order;

/// SECCOMP_FILTER_FLAG_* known to this library, probed one by one.
const FLAGS: [u32; 6] = [1, 2, 4, 8, 16, 32];
const FLAG_NEW_LISTENER: u32 = 8;
const FLAG_WAIT_KILLABLE_RECV: u32 = 32;

/// The prober gives up after this many seconds (a tracee stuck in a way
/// the kernel should never allow); the caller then sees E_PTRACE.
const WATCHDOG_SECONDS: u32 = 10;

/// What the kernel offers, as [`probe`] found it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Kernel {
    /// Seccomp filter mode (`CONFIG_SECCOMP_FILTER`).
    pub filter_mode: bool,
    /// The seccomp(2) syscall (Linux 3.17+); without it install uses prctl(2).
    pub seccomp_syscall: bool,
    /// `SECCOMP_RET_TRACE` is available.
    pub ret_trace: bool,
    /// The `SECCOMP_FILTER_FLAG_*` bits seccomp(2) accepts.
    pub filter_flags: u32,
    /// ptrace works from this process (not denied by Yama or a sandbox).
    pub ptrace: bool,
    /// The order of the seccomp and syscall-entry stops.
    pub stop_order: Order,
    /// errno of the first probe step that failed, 0 if none.
    pub error: i32,
}

impl Kernel {
    /// Nothing known: every field false or zero.
    pub const NOTHING: Kernel = Kernel {
        filter_mode: false,
        seccomp_syscall: false,
        ret_trace: false,
        filter_flags: 0,
        ptrace: false,
        stop_order: Order::Unknown,
        error: 0,
    };

    fn fail(&mut self, e: i32) {
        if self.error == 0 {
            self.error = e;
        }
    }
}

/// Probes everything. `out` holds what was learnt even on error; the error
/// says the probe itself could not run (fork, pipe) or the stop-order
/// experiment went wrong (E_PTRACE). A kernel that simply lacks a feature is
/// not an error: its field is 0 and `error` has the errno.
pub fn probe(out: &mut Kernel) -> Result<()> {
    *out = Kernel::NOTHING;
    out.filter_mode = filter_mode_available();
    if !out.filter_mode {
        out.fail(
            install::prctl(
                libc::PR_SET_SECCOMP,
                libc::SECCOMP_MODE_FILTER as c_ulong,
                0,
            )
            .err()
            .unwrap_or(0),
        );
    }
    // With a NULL program, seccomp(2) checks the flags, then faults on the
    // copy: EFAULT means "accepted", before any privilege check.
    match seccomp(libc::SECCOMP_SET_MODE_FILTER, 0, std::ptr::null()) {
        Err(libc::ENOSYS) => out.fail(libc::ENOSYS),
        _ => out.seccomp_syscall = true,
    }
    if out.seccomp_syscall {
        for f in FLAGS {
            // WAIT_KILLABLE_RECV is refused without NEW_LISTENER.
            let with = if f == FLAG_WAIT_KILLABLE_RECV {
                f | FLAG_NEW_LISTENER
            } else {
                f
            };
            if seccomp(libc::SECCOMP_SET_MODE_FILTER, with, std::ptr::null()) == Err(libc::EFAULT) {
                out.filter_flags |= f;
            }
        }
        let action: u32 = SECCOMP_RET_TRACE;
        match seccomp(
            libc::SECCOMP_GET_ACTION_AVAIL,
            0,
            &action as *const u32 as *const c_void,
        ) {
            Ok(_) => out.ret_trace = true,
            // Before 4.14 the operation is unknown (EINVAL), and RET_TRACE
            // has existed as long as filter mode.
            Err(libc::EINVAL) => out.ret_trace = out.filter_mode,
            Err(e) => out.fail(e),
        }
    } else {
        out.ret_trace = out.filter_mode;
    }
    let r = stop_order(out.filter_mode && out.ret_trace)?;
    out.ptrace = r.ptrace;
    out.stop_order = r.order;
    if r.error != 0 {
        out.fail(r.error);
    }
    if r.unexpected {
        return Err(Error::Ptrace(r.error));
    }
    Ok(())
}

/// Installs `prog` in a throwaway child and returns its report: status
/// `NoReport` when the child died before installing, `Kernel` with step
/// `None` and the errno when no child could be made (mmap, fork). The child
/// stores the report in a shared page rather than writing it to a pipe: the
/// program may trace write(2) (and exit_group(2)), which fail with ENOSYS in
/// a child without a tracer.
pub fn probe_install(prog: &sock_fprog, flags: u32) -> Report {
    const PAGE: usize = 4096;
    // SAFETY: a fresh anonymous mapping, checked below.
    let page = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            PAGE,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if page == libc::MAP_FAILED {
        return Report::EMPTY.failed(Failure::Kernel, Step::None, errno());
    }
    // The child writes one `Report` over the empty one. Even a child killed
    // halfway leaves valid values: every field is written whole (an enum is
    // one byte, an integer one aligned store), from one report or the other.
    let slot = page as *mut Report;
    const _: () = assert!(std::mem::size_of::<Report>() <= PAGE);
    // SAFETY: the page is ours, writable, page-aligned and large enough.
    unsafe { slot.write(Report::EMPTY) };
    let result = match fork() {
        Err(e) => Report::EMPTY.failed(Failure::Kernel, Step::None, e),
        Ok(0) => child(|| {
            let r = install::install(prog, flags);
            // SAFETY: the shared page outlives this child.
            unsafe { slot.write(r) };
            0
        }),
        Ok(pid) => {
            reap(pid);
            // SAFETY: the child is gone; nobody else writes the page.
            unsafe { slot.read() }
        }
    };
    // SAFETY: unmapping what we mapped; no reference to it remains.
    unsafe { libc::munmap(page, PAGE) };
    result
}

/// Outcome of the stop-order experiment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Experiment {
    ptrace: bool,
    order: Order,
    error: i32,
    /// Something a working kernel never does happened.
    unexpected: bool,
}

const EXPERIMENT_SIZE: usize = 16;

impl Experiment {
    fn to_wire(self) -> [u8; EXPERIMENT_SIZE] {
        let order = match self.order {
            Order::Unknown => 0u32,
            Order::SeccompFirst => 1,
            Order::EntryFirst => 2,
        };
        let w = [
            self.ptrace as u32,
            order,
            self.error as u32,
            self.unexpected as u32,
        ];
        let mut b = [0u8; EXPERIMENT_SIZE];
        encode(&w, &mut b);
        b
    }

    fn from_wire(b: &[u8; EXPERIMENT_SIZE]) -> Experiment {
        let mut w = [0u32; 4];
        decode(b, &mut w);
        Experiment {
            ptrace: w[0] == 1,
            order: match w[1] {
                1 => Order::SeccompFirst,
                2 => Order::EntryFirst,
                _ => Order::Unknown,
            },
            error: w[2] as i32,
            unexpected: w[3] != 0,
        }
    }
}

fn stop_order(with_filter: bool) -> Result<Experiment> {
    let mut fds = [0 as c_int; 2];
    // SAFETY: `fds` has room for the two descriptors.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(Error::Kernel {
            step: "pipe2",
            errno: errno(),
        });
    }
    let [rfd, wfd] = fds;
    let pid = match fork() {
        Err(e) => {
            close(rfd);
            close(wfd);
            return Err(Error::Kernel {
                step: "fork",
                errno: e,
            });
        }
        Ok(0) => child(|| {
            close(rfd);
            // SAFETY: plain signal-state calls on this throwaway process.
            unsafe {
                libc::signal(libc::SIGCHLD, libc::SIG_DFL);
                libc::alarm(WATCHDOG_SECONDS);
            }
            let _ = prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as c_ulong, 0);
            let e = experiment(with_filter);
            let b = e.to_wire();
            let _ = write_all(wfd, &b);
            0
        }),
        Ok(pid) => pid,
    };
    close(wfd);
    let mut b = [0u8; EXPERIMENT_SIZE];
    let got = read_full(rfd, &mut b);
    close(rfd);
    reap(pid);
    match got {
        Ok(EXPERIMENT_SIZE) => Ok(Experiment::from_wire(&b)),
        Ok(_) => Err(Error::Ptrace(0)),
        Err(e) => Err(Error::Io(e)),
    }
}

/// A filter that traces getppid only: nothing the tracee needs before the
/// tracer has set PTRACE_O_TRACESECCOMP.
const PROBE_FILTER: [sock_filter; 4] = [
    sock_filter {
        code: BPF_LD | BPF_W | BPF_ABS,
        jt: 0,
        jf: 0,
        k: SECCOMP_DATA_NR,
    },
    sock_filter {
        code: BPF_JMP | BPF_JEQ | BPF_K,
        jt: 0,
        jf: 1,
        k: libc::SYS_getppid as u32,
    },
    sock_filter {
        code: BPF_RET | BPF_K,
        jt: 0,
        jf: 0,
        k: SECCOMP_RET_TRACE,
    },
    sock_filter {
        code: BPF_RET | BPF_K,
        jt: 0,
        jf: 0,
        k: SECCOMP_RET_ALLOW,
    },
];

/// Tracee exit codes: 1..=127 the install failed with that errno,
/// 128 + errno PTRACE_TRACEME failed.
const TRACEME_FAILED: i32 = 128;

fn tracee(with_filter: bool) -> i32 {
    let _ = prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as c_ulong, 0);
    // SAFETY: raw syscalls without pointers.
    unsafe {
        if libc::syscall(libc::SYS_ptrace, libc::PTRACE_TRACEME as c_ulong, 0, 0, 0) < 0 {
            return TRACEME_FAILED + errno().clamp(1, 127);
        }
    }
    if with_filter {
        let prog = sock_fprog {
            len: PROBE_FILTER.len() as u16,
            filter: PROBE_FILTER.as_ptr() as *mut sock_filter,
        };
        // A throwaway process: no_new_privs costs nothing here.
        let r = install::install(&prog, install::INSTALL_ALLOW_NO_NEW_PRIVS);
        if !r.installed {
            return r.error.clamp(1, 127);
        }
    }
    // Not raise(): glibc's raise calls gettid and more.
    // SAFETY: raw syscalls without pointers.
    unsafe {
        let me = libc::syscall(libc::SYS_getpid);
        libc::syscall(libc::SYS_kill, me, libc::SIGSTOP as c_ulong);
        libc::syscall(libc::SYS_getppid);
    }
    0
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Seen {
    Seccomp,
    Syscall,
}

/// Runs in the prober: traces one tracee through its getppid.
fn experiment(with_filter: bool) -> Experiment {
    let mut e = Experiment {
        ptrace: false,
        order: Order::Unknown,
        error: 0,
        unexpected: false,
    };
    let pid = match fork() {
        Err(err) => {
            e.error = err;
            e.unexpected = true;
            return e;
        }
        Ok(0) => child(|| tracee(with_filter)),
        Ok(pid) => pid,
    };
    let mut seen: [Option<Seen>; 2] = [None, None];
    let mut n = 0;
    let mut started = false;
    loop {
        let status = match wait(pid) {
            Ok(s) => s,
            Err(err) => {
                e.error = err;
                e.unexpected = true;
                break;
            }
        };
        if libc::WIFEXITED(status) || libc::WIFSIGNALED(status) {
            let code = if libc::WIFEXITED(status) {
                libc::WEXITSTATUS(status)
            } else {
                0
            };
            if code >= TRACEME_FAILED {
                e.error = code - TRACEME_FAILED;
            } else if code > 0 {
                // Traced, but the filter did not go in.
                e.ptrace = true;
                e.error = code;
            } else {
                e.unexpected = true;
            }
            return e; // already reaped
        }
        let sig = libc::WSTOPSIG(status);
        let what = if !started && sig == libc::SIGSTOP {
            started = true;
            e.ptrace = true;
            let opts =
                libc::PTRACE_O_TRACESYSGOOD | libc::PTRACE_O_TRACESECCOMP | libc::PTRACE_O_EXITKILL;
            if let Err(err) = ptrace(libc::PTRACE_SETOPTIONS, pid, opts as c_ulong) {
                e.error = err;
                e.unexpected = true;
                break;
            }
            None
        } else if sig == (libc::SIGTRAP | 0x80) {
            Some(Seen::Syscall)
        } else if status >> 8 == (libc::SIGTRAP | (libc::PTRACE_EVENT_SECCOMP << 8)) {
            Some(Seen::Seccomp)
        } else {
            e.unexpected = true;
            break;
        };
        if let Some(s) = what {
            if let Some(slot) = seen.get_mut(n) {
                *slot = Some(s);
            }
            n += 1;
            if n == 2 || !with_filter {
                break;
            }
        }
        if let Err(err) = ptrace(libc::PTRACE_SYSCALL, pid, 0) {
            e.error = err;
            e.unexpected = true;
            break;
        }
    }
    e.order = match seen {
        [Some(Seen::Seccomp), Some(Seen::Syscall)] => Order::SeccompFirst,
        [Some(Seen::Syscall), Some(Seen::Seccomp)] => Order::EntryFirst,
        _ => Order::Unknown,
    };
    if with_filter && e.order == Order::Unknown && !e.unexpected {
        e.unexpected = true;
    }
    // SAFETY: signalling our own child.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    reap(pid);
    e
}

fn fork() -> std::result::Result<pid_t, i32> {
    // SAFETY: the child only runs `child`, which never returns.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        Err(errno())
    } else {
        Ok(pid)
    }
}

/// Runs `f` in a forked child and exits with its code: the child never
/// returns into the caller, not even by a panic.
fn child(f: impl FnOnce() -> i32) -> ! {
    let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or(127);
    // SAFETY: _exit is always safe to call.
    unsafe { libc::_exit(code) }
}

fn ptrace(req: libc::c_uint, pid: pid_t, data: c_ulong) -> std::result::Result<(), i32> {
    // SAFETY: requests with integer data only.
    let r = unsafe {
        libc::syscall(
            libc::SYS_ptrace,
            req as c_ulong,
            pid as c_ulong,
            0 as c_ulong,
            data,
        )
    };
    if r < 0 {
        Err(errno())
    } else {
        Ok(())
    }
}

/// Waits for a state change of exactly `pid`, retrying EINTR.
fn wait(pid: pid_t) -> std::result::Result<c_int, i32> {
    let mut status = 0;
    loop {
        // SAFETY: `status` is a valid out pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::__WALL) };
        if r == pid {
            return Ok(status);
        }
        match errno() {
            libc::EINTR => continue,
            e => return Err(e),
        }
    }
}

/// Waits until `pid` is gone. ECHILD means someone else (a host's SIGCHLD
/// handler) reaped it already: gone too.
fn reap(pid: pid_t) {
    while let Ok(status) = wait(pid) {
        if libc::WIFEXITED(status) || libc::WIFSIGNALED(status) {
            return;
        }
        // A stopped tracee: make sure it dies.
        // SAFETY: signalling our own child.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
}

fn close(fd: c_int) {
    // SAFETY: closing a descriptor this module created.
    unsafe { libc::close(fd) };
}
