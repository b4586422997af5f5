//! The CLONE_UNTRACED guard on the real kernel (strace issue #303): a
//! tracee under a guarded program (tracing openat) clones with
//! CLONE_UNTRACED, by clone and by clone3, and its child opens a file.
//! Without the tracer's tracefilter_untraced_clear the child escapes and its
//! openat fails with ENOSYS (the hole, shown so that the test can fail);
//! with it, the tracer is told of the child, sees its openat stop, and the
//! openat succeeds, through each of the helper's mechanisms.

use std::sync::Mutex;

use libc::{c_int, c_long, pid_t};
use tracefilter::ffi::*;
use tracefilter::SyscallTable;
use tracefilter::{compile_guarded, Options, Personality};

static FORK: Mutex<()> = Mutex::new(());

const CLONE_UNTRACED: u64 = 0x0080_0000;

#[derive(Clone, Copy, PartialEq)]
enum How {
    Clone,
    Clone3,
}

/// What the tracer saw.
#[derive(Debug, Default, PartialEq)]
struct Seen {
    /// The tracee's exit code: its child's openat errno, 0 on success.
    exit: i32,
    /// PTRACE_EVENT_FORK/VFORK/CLONE stops.
    forks: u32,
    /// Results of tracefilter_untraced_clear other than NONE.
    cleared: Vec<u32>,
    /// Seccomp stops of processes other than the tracee.
    child_stops: u32,
}

fn native_table() -> Option<SyscallTable> {
    if cfg!(target_arch = "x86_64") {
        SyscallTable::by_name("x86_64")
    } else if cfg!(target_arch = "aarch64") {
        SyscallTable::by_name("aarch64")
    } else if cfg!(target_arch = "riscv64") {
        SyscallTable::by_name("riscv64")
    } else {
        None
    }
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// The tracee's child: openat, then exit with its errno (0 on success).
fn grandchild() -> ! {
    let r = unsafe {
        libc::syscall(
            libc::SYS_openat,
            libc::AT_FDCWD,
            c"/".as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY,
        )
    };
    let code = if r < 0 { errno() } else { 0 };
    unsafe { libc::syscall(libc::SYS_exit_group, code) };
    unreachable!()
}

/// The tracee: stops for the tracer, installs the program, clones.
fn tracee(fprog: &libc::sock_fprog, how: How) -> ! {
    unsafe {
        libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0);
        libc::kill(libc::getpid(), libc::SIGSTOP);
    }
    let rc = unsafe {
        tracefilter_install(
            fprog,
            TRACEFILTER_INSTALL_ALLOW_NO_NEW_PRIVS,
            std::ptr::null_mut(),
        )
    };
    if rc != TRACEFILTER_OK {
        unsafe { libc::_exit(100) };
    }
    let pid: c_long = match how {
        How::Clone => unsafe {
            libc::syscall(
                libc::SYS_clone,
                CLONE_UNTRACED | libc::SIGCHLD as u64,
                0usize,
                0usize,
                0usize,
                0usize,
            )
        },
        How::Clone3 => {
            let mut args = [0u64; 11]; // struct clone_args, CLONE_ARGS_SIZE_VER2
            args[0] = CLONE_UNTRACED;
            args[4] = libc::SIGCHLD as u64; // exit_signal
            unsafe { libc::syscall(libc::SYS_clone3, args.as_mut_ptr(), 88usize) }
        }
    };
    if pid == 0 {
        grandchild();
    }
    if pid < 0 {
        unsafe { libc::_exit(101) };
    }
    let mut st = 0;
    unsafe { libc::wait4(pid as pid_t, &mut st, libc::__WALL, std::ptr::null_mut()) };
    let code = if libc::WIFEXITED(st) {
        libc::WEXITSTATUS(st)
    } else {
        102
    };
    unsafe { libc::_exit(code) }
}

/// Traces `tracee`; with `clear`, calls tracefilter_untraced_clear with
/// `flags` at every seccomp stop. Runs in a forked child of the test, which
/// reports through a pipe.
fn run(how: How, clear: bool, flags: u32) -> Result<Seen, String> {
    let t = native_table().ok_or("no native personality table")?;
    let n = t.size();
    let mut bits = vec![0u8; n.div_ceil(8) as usize];
    let openat = t.number("openat").ok_or("no openat")?;
    bits[(openat / 8) as usize] |= 1 << (openat % 8);
    let pers = Personality {
        audit_arch: t.audit_arch,
        nr_flag: 0,
        traced: &bits,
        nsyscalls: n,
    };
    let prog = compile_guarded(&[pers], &Options::default(), &[]).map_err(|e| e.to_string())?;
    let fprog = libc::sock_fprog {
        len: prog.insns().len() as u16,
        filter: prog.insns().as_ptr() as *mut libc::sock_filter,
    };

    let _lock = FORK.lock().unwrap_or_else(|e| e.into_inner());
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        unsafe { libc::alarm(20) };
        tracee(&fprog, how);
    }
    let mut seen = Seen::default();
    let mut st = 0;
    if unsafe { libc::waitpid(pid, &mut st, libc::__WALL) } != pid || !libc::WIFSTOPPED(st) {
        return Err("the tracee did not stop".into());
    }
    let opts = libc::PTRACE_O_TRACESECCOMP
        | libc::PTRACE_O_EXITKILL
        | libc::PTRACE_O_TRACEFORK
        | libc::PTRACE_O_TRACEVFORK
        | libc::PTRACE_O_TRACECLONE;
    if unsafe { libc::ptrace(libc::PTRACE_SETOPTIONS, pid, 0, opts) } != 0 {
        unsafe { libc::kill(pid, libc::SIGKILL) };
        return Err(format!("PTRACE_SETOPTIONS: errno {}", errno()));
    }
    unsafe { libc::ptrace(libc::PTRACE_CONT, pid, 0, 0) };
    loop {
        let w = unsafe { libc::waitpid(-1, &mut st, libc::__WALL) };
        if w < 0 {
            break;
        }
        if libc::WIFEXITED(st) || libc::WIFSIGNALED(st) {
            if w == pid {
                seen.exit = if libc::WIFEXITED(st) {
                    libc::WEXITSTATUS(st)
                } else {
                    1000 + libc::WTERMSIG(st)
                };
            }
            continue;
        }
        let sig = libc::WSTOPSIG(st);
        let event = (st >> 16) & 0xff;
        let mut inject = 0;
        if sig == libc::SIGTRAP && event == libc::PTRACE_EVENT_SECCOMP {
            if w != pid {
                seen.child_stops += 1;
            }
            if clear {
                let mut result = u32::MAX;
                let rc = unsafe { tracefilter_untraced_clear(w, flags, &mut result) };
                if rc != TRACEFILTER_OK {
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                    return Err(format!("tracefilter_untraced_clear: {rc}"));
                }
                if result != TRACEFILTER_UNTRACED_NONE {
                    seen.cleared.push(result);
                }
            }
        } else if sig == libc::SIGTRAP
            && [
                libc::PTRACE_EVENT_FORK,
                libc::PTRACE_EVENT_VFORK,
                libc::PTRACE_EVENT_CLONE,
            ]
            .contains(&event)
        {
            seen.forks += 1;
        } else if sig != libc::SIGSTOP && sig != libc::SIGTRAP {
            inject = sig;
        }
        unsafe { libc::ptrace(libc::PTRACE_CONT, w, 0, inject as c_long) };
    }
    Ok(seen)
}

fn skip_reason() -> Option<String> {
    let r = unsafe { libc::prctl(libc::PR_SET_SECCOMP, libc::SECCOMP_MODE_FILTER, 0, 0, 0) };
    if r == 0 || errno() != libc::EFAULT {
        return Some("seccomp filter mode is not available".into());
    }
    if native_table().is_none() {
        return Some("no syscall table for this arch".into());
    }
    // ptrace may be forbidden (YAMA, containers): try it in a child.
    let pid = {
        let _lock = FORK.lock().unwrap_or_else(|e| e.into_inner());
        unsafe { libc::fork() }
    };
    if pid == 0 {
        let r = unsafe { libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0) };
        unsafe { libc::_exit((r != 0) as c_int) };
    }
    let mut st = 0;
    unsafe { libc::waitpid(pid, &mut st, 0) };
    (!libc::WIFEXITED(st) || libc::WEXITSTATUS(st) != 0)
        .then(|| "this process may not be traced (PTRACE_TRACEME refused)".into())
}

/// Runs the case in a forked child (ptrace state stays out of the test
/// process) and returns what it saw.
fn traced(how: How, clear: bool, flags: u32) -> Seen {
    let mut fds = [0 as c_int; 2];
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    let pid = {
        let _lock = FORK.lock().unwrap_or_else(|e| e.into_inner());
        unsafe { libc::fork() }
    };
    if pid == 0 {
        unsafe { libc::alarm(30) };
        let out = match run(how, clear, flags) {
            Ok(s) => format!(
                "{} {} {} {}",
                s.exit,
                s.forks,
                s.child_stops,
                s.cleared
                    .iter()
                    .map(|c| c.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            Err(e) => format!("error {e}"),
        };
        unsafe {
            libc::write(fds[1], out.as_ptr() as *const _, out.len());
            libc::_exit(0)
        };
    }
    unsafe { libc::close(fds[1]) };
    let mut buf = vec![0u8; 4096];
    let n = unsafe { libc::read(fds[0], buf.as_mut_ptr() as *mut _, buf.len()) };
    unsafe { libc::close(fds[0]) };
    let mut st = 0;
    unsafe { libc::waitpid(pid, &mut st, 0) };
    let text = String::from_utf8_lossy(&buf[..n.max(0) as usize]).to_string();
    assert!(!text.starts_with("error"), "{text}");
    let f: Vec<&str> = text.split(' ').collect();
    assert_eq!(f.len(), 4, "tracer child said {text:?}");
    Seen {
        exit: f[0].parse().unwrap(),
        forks: f[1].parse().unwrap(),
        child_stops: f[2].parse().unwrap(),
        cleared: f[3]
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().unwrap())
            .collect(),
    }
}

#[test]
fn without_the_helper_the_untraced_child_gets_enosys() {
    if let Some(why) = skip_reason() {
        eprintln!("SKIP: {why}");
        return;
    }
    for how in [How::Clone, How::Clone3] {
        let s = traced(how, false, 0);
        assert_eq!(s.exit, libc::ENOSYS, "the escaped child's openat");
        assert_eq!(s.forks, 0, "the tracer saw the untraced child");
        assert_eq!(s.child_stops, 0);
    }
}

#[test]
fn the_helper_brings_the_child_under_the_tracer() {
    if let Some(why) = skip_reason() {
        eprintln!("SKIP: {why}");
        return;
    }
    for (how, flags, want) in [
        (How::Clone, 0, TRACEFILTER_UNTRACED_CLONE),
        (How::Clone3, 0, TRACEFILTER_UNTRACED_CLONE3),
        (
            How::Clone3,
            TRACEFILTER_UNTRACED_NO_VM_WRITEV,
            TRACEFILTER_UNTRACED_CLONE3,
        ),
    ] {
        let s = traced(how, true, flags);
        assert_eq!(s.cleared, vec![want], "flags {flags:#x}");
        assert_eq!(s.exit, 0, "the child's openat (flags {flags:#x})");
        assert_eq!(s.forks, 1, "fork event (flags {flags:#x})");
        assert_eq!(
            s.child_stops, 1,
            "the child's openat stop (flags {flags:#x})"
        );
    }
}

#[cfg(target_arch = "x86_64")]
#[test]
fn the_register_path_works_too() {
    if let Some(why) = skip_reason() {
        eprintln!("SKIP: {why}");
        return;
    }
    let s = traced(How::Clone, true, TRACEFILTER_UNTRACED_NO_SET_SYSCALL_INFO);
    assert_eq!(s.cleared, vec![TRACEFILTER_UNTRACED_CLONE]);
    assert_eq!(s.exit, 0);
    assert_eq!(s.forks, 1);
    assert_eq!(s.child_stops, 1);
}

#[test]
fn the_helper_checks_its_arguments() {
    let mut r = 7u32;
    // Unknown flags are refused before any ptrace request.
    assert_eq!(
        unsafe { tracefilter_untraced_clear(1, 0x80, &mut r) },
        TRACEFILTER_E_INVALID
    );
    assert_eq!(r, 7);
    // A process this one does not trace.
    let rc = unsafe { tracefilter_untraced_clear(libc::getpid(), 0, std::ptr::null_mut()) };
    assert!(
        rc == TRACEFILTER_E_PTRACE || rc == TRACEFILTER_E_UNSUPPORTED,
        "{rc}"
    );
}
