//! A Rust tracer on the public API alone, as tracexec or lurk would use it:
//! compile with the native syscall table, install in the child between fork
//! and execve, read the report at the exec stop, and resume at every stop as
//! `tracer::step` says. `uname(1)` is traced for its uname(2) with the
//! filter and without it; both runs must decode the same syscalls, the
//! filtered one with a seccomp stop for each and no other.

#[path = "common/skip.rs"]
mod skip;

use std::ffi::CString;

use tracefilter::tracer::{self, Mode, Order, Request, Stop};
use tracefilter::{child, compile, Options, SyscallTable};

/// What the tracer saw.
#[derive(Debug, Default)]
struct Trace {
    /// Syscall numbers whose entry `step` said to decode.
    decoded: Vec<u64>,
    /// Exits of those entries.
    exits: usize,
    /// Syscall numbers at PTRACE_EVENT_SECCOMP stops.
    seccomp_stops: Vec<u64>,
    /// Every stop.
    stops: usize,
    /// The child's report: None when it sent none (the run without filter).
    installed: Option<bool>,
}

/// PTRACE_GET_SYSCALL_INFO (Linux 5.3+): (op, nr); op 1 entry, 2 exit, 3 seccomp.
fn syscall_info(pid: libc::pid_t) -> Option<(u8, u64)> {
    let mut buf = [0u64; 16];
    let r = unsafe {
        libc::ptrace(
            libc::PTRACE_GET_SYSCALL_INFO,
            pid,
            std::mem::size_of_val(&buf),
            buf.as_mut_ptr(),
        )
    };
    (r > 0).then(|| ((buf[0] & 0xff) as u8, buf[3]))
}

/// Traces `/bin/uname` from fork to exit. With `prog`, the child installs
/// it before execve and the tracer switches to seccomp mode once the
/// report says the filter is active.
fn trace(prog: Option<&tracefilter::Program>, order: Order, traced: &[u64]) -> Trace {
    let path = CString::new("/bin/uname").unwrap();
    let argv = [path.as_ptr(), std::ptr::null()];
    let fprog = prog.map(|p| p.fprog()); // everything that allocates: before fork
    let mut fds = [0; 2];
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        // The child: async-signal-safe calls only, then execve.
        unsafe {
            libc::close(fds[0]);
            libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0);
            libc::kill(libc::getpid(), libc::SIGSTOP);
            if let Some(f) = &fprog {
                let report = child::install(f, 0);
                let _ = child::send_report(fds[1], &report);
            }
            let null = libc::open(c"/dev/null".as_ptr(), libc::O_WRONLY);
            libc::dup2(null, 1);
            libc::execv(path.as_ptr(), argv.as_ptr());
            libc::_exit(97);
        }
    }
    unsafe { libc::close(fds[1]) };
    // The timeout: a tracee still running after 30 s is killed, and the
    // loop below then fails on its signal.
    let (done, watch) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if watch
            .recv_timeout(std::time::Duration::from_secs(30))
            .is_err()
        {
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    });
    let mut t = Trace::default();
    let mut mode = Mode::Ptrace; // until the report says otherwise
    let mut request = libc::PTRACE_SYSCALL;
    let mut awaiting_exit = false;
    let mut first = true;
    loop {
        let mut st = 0;
        assert_eq!(unsafe { libc::waitpid(pid, &mut st, libc::__WALL) }, pid);
        if libc::WIFEXITED(st) || libc::WIFSIGNALED(st) {
            let _ = done.send(());
            watchdog.join().unwrap();
            assert!(
                libc::WIFEXITED(st) && libc::WEXITSTATUS(st) == 0,
                "uname ended with wait status {st:#x} (killed after 30 s?)"
            );
            break;
        }
        t.stops += 1;
        let sig = libc::WSTOPSIG(st);
        let event = (st >> 16) & 0xff;
        let mut inject = 0;
        let stop = if sig == libc::SIGTRAP | 0x80 {
            let (op, nr) = syscall_info(pid).expect("PTRACE_GET_SYSCALL_INFO");
            let kind = if op == 1 {
                Stop::SyscallEntry
            } else {
                Stop::SyscallExit
            };
            Some((kind, nr))
        } else if sig == libc::SIGTRAP && event == libc::PTRACE_EVENT_SECCOMP {
            let (op, nr) = syscall_info(pid).expect("PTRACE_GET_SYSCALL_INFO");
            assert_eq!(op, 3);
            t.seccomp_stops.push(nr);
            Some((Stop::Seccomp, nr))
        } else {
            if first {
                first = false;
                assert_eq!(sig, libc::SIGSTOP);
                let opts = libc::PTRACE_O_TRACESYSGOOD
                    | libc::PTRACE_O_TRACESECCOMP
                    | libc::PTRACE_O_EXITKILL
                    | libc::PTRACE_O_TRACEEXEC;
                assert_eq!(
                    unsafe { libc::ptrace(libc::PTRACE_SETOPTIONS, pid, 0, opts) },
                    0
                );
            } else if sig == libc::SIGTRAP && event == libc::PTRACE_EVENT_EXEC {
                // By now the child has written its report or never will.
                match tracer::receive_report(fds[0]) {
                    Ok(r) => {
                        t.installed = Some(r.installed);
                        if r.installed {
                            mode = Mode::Seccomp;
                        }
                    }
                    Err(tracefilter::Error::NoReport) => {}
                    Err(e) => panic!("report: {e}"),
                }
            } else if sig != libc::SIGTRAP {
                inject = sig;
            }
            None
        };
        if let Some((kind, nr)) = stop {
            let r = tracer::step(mode, order, kind, traced.contains(&nr))
                .expect("a known order in seccomp mode");
            if r.decode_entry {
                assert!(!awaiting_exit, "entry decoded twice");
                t.decoded.push(nr);
                awaiting_exit = true;
            } else if kind == Stop::SyscallExit && awaiting_exit {
                t.exits += 1;
                awaiting_exit = false;
            }
            request = match r.request {
                Request::Cont => libc::PTRACE_CONT,
                Request::Syscall => libc::PTRACE_SYSCALL,
            };
        }
        unsafe { libc::ptrace(request, pid, 0, inject) };
    }
    unsafe { libc::close(fds[0]) };
    t
}

/// Whether the running kernel is at least `major.minor`.
fn kernel_at_least(major: u32, minor: u32) -> bool {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut parts = release
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse::<u32>().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0)) >= (major, minor)
}

#[test]
fn a_rust_tracer_sees_the_same_syscalls_with_far_fewer_stops() {
    let Some(table) = SyscallTable::native() else {
        skip::skip("no syscall table for this host's arch");
        return;
    };
    if !std::path::Path::new("/bin/uname").exists() {
        skip::skip("/bin/uname is missing");
        return;
    }
    let mut kernel = tracer::Kernel::NOTHING;
    if let Err(e) = tracer::probe(&mut kernel) {
        panic!("probe: {e}");
    }
    if !(kernel.filter_mode && kernel.ret_trace && kernel.ptrace) {
        skip::skip("no seccomp filter mode, RET_TRACE or ptrace here");
        return;
    }
    if !kernel_at_least(5, 3) {
        skip::skip("PTRACE_GET_SYSCALL_INFO needs Linux 5.3");
        return;
    }
    assert_ne!(kernel.stop_order, Order::Unknown, "{kernel:?}");
    let traced_bits = table.bitmap(&["uname"]).unwrap();
    let prog = compile(&[table.personality(&traced_bits)], &Options::default()).unwrap();
    let traced = [table.number("uname").unwrap() as u64];

    let with = trace(Some(&prog), kernel.stop_order, &traced);
    let without = trace(None, kernel.stop_order, &traced);
    println!("seccomp mode: {with:?}\nptrace mode: {without:?}");
    assert_eq!(with.installed, Some(true), "the filter went in");
    assert_eq!(without.installed, None, "no filter, no report");
    assert!(
        with.decoded.iter().any(|n| traced.contains(n)),
        "uname(1) makes uname(2)"
    );
    assert_eq!(with.decoded, without.decoded);
    assert_eq!(with.exits, with.decoded.len());
    assert_eq!(without.exits, without.decoded.len());
    // Seccomp stops only for traced syscalls, one per decoded entry.
    assert!(with.seccomp_stops.iter().all(|n| traced.contains(n)));
    assert_eq!(with.seccomp_stops.len(), with.decoded.len());
    assert!(without.seccomp_stops.is_empty());
    assert!(
        with.stops * 4 < without.stops,
        "{} stops with the filter, {} without",
        with.stops,
        without.stops
    );
}
