//! The kernel side on the real kernel: install and its fallbacks (driven by
//! errno injection from an outer filter), the report pipe, the probe, and
//! "no allocation" on the install path. Every test forks; the work that
//! changes a process (filters, no_new_privs, uids) happens in children that
//! report through their exit code.

use std::alloc::{GlobalAlloc, Layout, System};
use std::ffi::CString;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use libc::{c_int, sock_filter, sock_fprog};
#[path = "common/skip.rs"]
mod skip;
use tracefilter::ffi::*;
use tracefilter::{compile, Options, Personality};

/// Counts allocations of this process (each forked child has its own copy).
struct Counting;
static ALLOCS: AtomicUsize = AtomicUsize::new(0);
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::SeqCst);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::SeqCst);
        unsafe { System.realloc(p, l, n) }
    }
}
#[global_allocator]
static GLOBAL: Counting = Counting;

/// One forking test at a time: a child forked while another test thread
/// holds a lock would inherit it held.
static FORK: Mutex<()> = Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    FORK.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(target_arch = "x86_64")]
const NATIVE_ARCH: u32 = 0xC000_003E;
#[cfg(target_arch = "aarch64")]
const NATIVE_ARCH: u32 = 0xC000_00B7;
#[cfg(target_arch = "riscv64")]
const NATIVE_ARCH: u32 = 0xC000_00F3;

const RET: u16 = 0x06;
const LD_ABS_W: u16 = 0x20;
const JEQ: u16 = 0x15;
const JSET: u16 = 0x45;
const ERRNO: u32 = 0x0005_0000;
const ALLOW: u32 = 0x7fff_0000;
const SPEC_ALLOW: u32 = 4;

fn ins(code: u16, jt: u8, jf: u8, k: u32) -> sock_filter {
    sock_filter { code, jt, jf, k }
}

fn fprog(f: &[sock_filter]) -> sock_fprog {
    sock_fprog {
        len: f.len() as u16,
        filter: f.as_ptr() as *mut sock_filter,
    }
}

/// A compiled filter for the native arch tracing getppid only.
fn getppid_program() -> tracefilter::Program {
    let mut bits = vec![0u8; 128];
    let nr = libc::SYS_getppid as usize;
    bits[nr / 8] |= 1 << (nr % 8);
    let p = Personality {
        audit_arch: NATIVE_ARCH,
        nr_flag: 0,
        traced: &bits,
        nsyscalls: 1024,
    };
    compile(&[p], &Options::default()).expect("compiles")
}

fn as_fprog(p: &tracefilter::Program) -> sock_fprog {
    sock_fprog {
        len: p.insns().len() as u16,
        filter: p.insns().as_ptr() as *mut sock_filter,
    }
}

/// Condition on a syscall argument's low 32 bits.
#[derive(Clone, Copy)]
enum Arg {
    Any,
    Eq(usize, u32),
    Set(usize, u32),
}

/// An outer filter: each (syscall, condition, errno) makes the syscall fail
/// with that errno; everything else is allowed.
fn errno_filter(rules: &[(i64, Arg, i32)]) -> Vec<sock_filter> {
    let mut f = Vec::new();
    for &(nr, arg, e) in rules {
        f.push(ins(LD_ABS_W, 0, 0, 0));
        let ret = ins(RET, 0, 0, ERRNO | e as u32);
        match arg {
            Arg::Any => {
                f.push(ins(JEQ, 0, 1, nr as u32));
                f.push(ret);
            }
            Arg::Eq(i, v) | Arg::Set(i, v) => {
                f.push(ins(JEQ, 0, 3, nr as u32));
                // Low word of args[i] (little-endian hosts).
                f.push(ins(LD_ABS_W, 0, 0, 16 + 8 * i as u32));
                let op = if matches!(arg, Arg::Eq(..)) {
                    JEQ
                } else {
                    JSET
                };
                f.push(ins(op, 0, 1, v));
                f.push(ret);
            }
        }
    }
    f.push(ins(RET, 0, 0, ALLOW));
    f
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// Writes to stderr without std's locks (safe in a forked child).
fn say(msg: &str) {
    unsafe { libc::write(2, msg.as_ptr() as *const _, msg.len()) };
}

/// Runs `f` in a forked child; its return value is the exit code. Returns
/// the exit code, or 1000 + signal.
fn in_child(f: impl FnOnce() -> i32) -> i32 {
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork");
    if pid == 0 {
        unsafe { libc::alarm(20) };
        let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or(99);
        unsafe { libc::_exit(code) };
    }
    let mut st = 0;
    assert_eq!(unsafe { libc::waitpid(pid, &mut st, 0) }, pid);
    if libc::WIFEXITED(st) {
        libc::WEXITSTATUS(st)
    } else {
        1000 + libc::WTERMSIG(st)
    }
}

/// Child-side check: on failure, says why and makes the child exit with `code`.
macro_rules! check {
    ($cond:expr, $code:expr) => {
        if !$cond {
            say(concat!("child check failed: ", stringify!($cond), "\n"));
            return $code;
        }
    };
}

fn new_report() -> tracefilter_install_report {
    let mut r = std::mem::MaybeUninit::<tracefilter_install_report>::zeroed();
    unsafe {
        tracefilter_install_report_init(r.as_mut_ptr());
        r.assume_init()
    }
}

fn install(prog: &sock_fprog, flags: u32, r: &mut tracefilter_install_report) -> c_int {
    unsafe { tracefilter_install(prog, flags, r) }
}

fn install_outer(f: &[sock_filter]) -> bool {
    let p = fprog(f);
    unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            0,
            &p as *const sock_fprog,
        ) == 0
    }
}

fn nnp() -> i32 {
    unsafe { libc::prctl(libc::PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) }
}

fn getppid_errno() -> Option<i32> {
    let r = unsafe { libc::syscall(libc::SYS_getppid) };
    (r < 0).then(errno)
}

/// Why kernel tests cannot run here, if they cannot.
fn seccomp_missing() -> Option<&'static str> {
    let r = unsafe { libc::prctl(libc::PR_SET_SECCOMP, libc::SECCOMP_MODE_FILTER, 0, 0, 0) };
    if r == 0 || errno() != libc::EFAULT {
        return Some("seccomp filter mode is not available");
    }
    if unsafe { libc::geteuid() } != 0 {
        return Some("not root: the fault-injection filters need CAP_SYS_ADMIN");
    }
    None
}

macro_rules! skip_without_seccomp {
    () => {
        if let Some(why) = seccomp_missing() {
            skip::skip(why);
            return;
        }
    };
}

#[test]
fn install_traces_only_the_traced_syscall() {
    skip_without_seccomp!();
    let _g = lock();
    let prog = getppid_program();
    let code = in_child(|| {
        let mut r = new_report();
        let st = install(&as_fprog(&prog), TRACEFILTER_INSTALL_SPEC_ALLOW, &mut r);
        check!(st == TRACEFILTER_OK && r.status == TRACEFILTER_OK, 1);
        check!(
            r.installed == 1 && r.mechanism == TRACEFILTER_MECHANISM_SECCOMP,
            2
        );
        check!(r.flags == SPEC_ALLOW, 3);
        check!(r.failed_step == TRACEFILTER_STEP_NONE && r.error == 0, 4);
        // Root: no_new_privs is neither needed nor set.
        check!(r.no_new_privs == 0 && nnp() == 0, 5);
        // RET_TRACE without a tracer: the syscall is skipped with ENOSYS.
        check!(getppid_errno() == Some(libc::ENOSYS), 6);
        check!(unsafe { libc::syscall(libc::SYS_getpid) } > 0, 7);
        0
    });
    assert_eq!(code, 0);
}

#[test]
fn report_may_be_null_and_its_size_is_checked() {
    skip_without_seccomp!();
    let _g = lock();
    let prog = getppid_program();
    let code = in_child(|| {
        let mut small = new_report();
        small.struct_size = 16;
        let p = as_fprog(&prog);
        check!(install(&p, 0, &mut small) == TRACEFILTER_E_INVALID, 1);
        check!(small.status == TRACEFILTER_E_NO_REPORT, 2); // untouched
        check!(getppid_errno().is_none(), 3); // nothing installed
        let st = unsafe { tracefilter_install(&p, 0, std::ptr::null_mut()) };
        check!(st == TRACEFILTER_OK, 4);
        check!(getppid_errno() == Some(libc::ENOSYS), 5);
        // A bigger (future) struct: the tail is left alone, size kept.
        #[repr(C)]
        struct Big {
            r: tracefilter_install_report,
            extra: u32,
        }
        let mut big = Big {
            r: new_report(),
            extra: 0xdead,
        };
        big.r.struct_size = std::mem::size_of::<Big>() as u32;
        check!(install(&p, 0, &mut big.r) == TRACEFILTER_OK, 6);
        check!(
            big.extra == 0xdead && big.r.struct_size == 36 && big.r.installed == 1,
            7
        );
        0
    });
    assert_eq!(code, 0);
}

#[test]
fn arguments_are_refused_before_the_kernel() {
    let prog = getppid_program();
    let p = as_fprog(&prog);
    let mut r = new_report();
    assert_eq!(install(&p, 0x4, &mut r), TRACEFILTER_E_INVALID);
    assert_eq!(
        (r.installed, r.failed_step),
        (0, TRACEFILTER_STEP_ARGUMENTS)
    );
    let st = unsafe { tracefilter_install(std::ptr::null(), 0, &mut r) };
    assert_eq!((st, r.status), (TRACEFILTER_E_NULL, TRACEFILTER_E_NULL));
    let empty = sock_fprog {
        len: 0,
        filter: p.filter,
    };
    assert_eq!(install(&empty, 0, &mut r), TRACEFILTER_E_PROGRAM_LENGTH);
    let nofilter = sock_fprog {
        len: 1,
        filter: std::ptr::null_mut(),
    };
    assert_eq!(install(&nofilter, 0, &mut r), TRACEFILTER_E_NULL);
}

const SECCOMP: i64 = libc::SYS_seccomp;
const PRCTL: i64 = libc::SYS_prctl;

/// Runs `f` in a child that first installs the outer errno filter `rules`.
fn with_injection(rules: &[(i64, Arg, i32)], f: impl FnOnce(&sock_fprog) -> i32) -> i32 {
    let prog = getppid_program();
    let outer = errno_filter(rules);
    let _g = lock();
    in_child(|| {
        if !install_outer(&outer) {
            say("outer filter refused\n");
            return 90;
        }
        f(&as_fprog(&prog))
    })
}

#[test]
fn spec_allow_is_dropped_when_refused() {
    skip_without_seccomp!();
    let code = with_injection(&[(SECCOMP, Arg::Set(1, SPEC_ALLOW), libc::EINVAL)], |p| {
        let mut r = new_report();
        check!(
            install(p, TRACEFILTER_INSTALL_SPEC_ALLOW, &mut r) == TRACEFILTER_OK,
            1
        );
        check!(
            r.mechanism == TRACEFILTER_MECHANISM_SECCOMP && r.flags == 0,
            2
        );
        check!(getppid_errno() == Some(libc::ENOSYS), 3);
        0
    });
    assert_eq!(code, 0);
}

#[test]
fn enosys_falls_back_to_prctl() {
    skip_without_seccomp!();
    let code = with_injection(&[(SECCOMP, Arg::Any, libc::ENOSYS)], |p| {
        let mut r = new_report();
        check!(
            install(p, TRACEFILTER_INSTALL_SPEC_ALLOW, &mut r) == TRACEFILTER_OK,
            1
        );
        check!(
            r.mechanism == TRACEFILTER_MECHANISM_PRCTL && r.flags == 0,
            2
        );
        check!(r.installed == 1 && r.no_new_privs == 0, 3);
        check!(getppid_errno() == Some(libc::ENOSYS), 4);
        0
    });
    assert_eq!(code, 0);
}

#[test]
fn prctl_failing_too_is_a_clean_failure() {
    skip_without_seccomp!();
    let rules = [
        (SECCOMP, Arg::Any, libc::ENOSYS),
        (PRCTL, Arg::Eq(0, libc::PR_SET_SECCOMP as u32), libc::EPERM),
    ];
    let code = with_injection(&rules, |p| {
        let mut r = new_report();
        check!(install(p, 0, &mut r) == TRACEFILTER_E_KERNEL, 1);
        check!(r.status == TRACEFILTER_E_KERNEL && r.installed == 0, 2);
        check!(
            r.failed_step == TRACEFILTER_STEP_PRCTL && r.error == libc::EPERM,
            3
        );
        check!(r.mechanism == TRACEFILTER_MECHANISM_PRCTL, 4);
        check!(getppid_errno().is_none(), 5);
        0
    });
    assert_eq!(code, 0);
    // EINVAL everywhere, including the EFAULT probe: no filter mode at all.
    let rules = [
        (SECCOMP, Arg::Any, libc::ENOSYS),
        (PRCTL, Arg::Eq(0, libc::PR_SET_SECCOMP as u32), libc::EINVAL),
    ];
    let code = with_injection(&rules, |p| {
        let mut r = new_report();
        check!(install(p, 0, &mut r) == TRACEFILTER_E_UNSUPPORTED, 1);
        check!(
            r.failed_step == TRACEFILTER_STEP_PRCTL && r.error == libc::EINVAL,
            2
        );
        0
    });
    assert_eq!(code, 0);
}

#[test]
fn eacces_needs_permission_for_no_new_privs() {
    skip_without_seccomp!();
    // Not allowed: report it, change nothing.
    let code = with_injection(&[(SECCOMP, Arg::Any, libc::EACCES)], |p| {
        let mut r = new_report();
        check!(install(p, 0, &mut r) == TRACEFILTER_E_NEEDS_NO_NEW_PRIVS, 1);
        check!(
            r.failed_step == TRACEFILTER_STEP_SECCOMP && r.error == libc::EACCES,
            2
        );
        check!(r.no_new_privs == 0 && nnp() == 0, 3);
        0
    });
    assert_eq!(code, 0);
    // Allowed: NNP is set and the call retried; still EACCES here.
    let code = with_injection(&[(SECCOMP, Arg::Any, libc::EACCES)], |p| {
        let mut r = new_report();
        let st = install(p, TRACEFILTER_INSTALL_ALLOW_NO_NEW_PRIVS, &mut r);
        check!(st == TRACEFILTER_E_KERNEL, 1);
        check!(
            r.failed_step == TRACEFILTER_STEP_SECCOMP && r.error == libc::EACCES,
            2
        );
        check!(r.no_new_privs == 1 && nnp() == 1, 3);
        0
    });
    assert_eq!(code, 0);
    // NNP already set: EACCES is about something else, NNP is not "ours".
    let code = with_injection(&[(SECCOMP, Arg::Any, libc::EACCES)], |p| {
        check!(
            unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } == 0,
            1
        );
        let mut r = new_report();
        let st = install(p, TRACEFILTER_INSTALL_ALLOW_NO_NEW_PRIVS, &mut r);
        check!(st == TRACEFILTER_E_KERNEL && r.no_new_privs == 0, 2);
        0
    });
    assert_eq!(code, 0);
    // Setting NNP fails.
    let rules = [
        (SECCOMP, Arg::Any, libc::EACCES),
        (
            PRCTL,
            Arg::Eq(0, libc::PR_SET_NO_NEW_PRIVS as u32),
            libc::EPERM,
        ),
    ];
    let code = with_injection(&rules, |p| {
        let mut r = new_report();
        let st = install(p, TRACEFILTER_INSTALL_ALLOW_NO_NEW_PRIVS, &mut r);
        check!(st == TRACEFILTER_E_KERNEL, 1);
        check!(
            r.failed_step == TRACEFILTER_STEP_NO_NEW_PRIVS && r.error == libc::EPERM,
            2
        );
        check!(r.no_new_privs == 0 && nnp() == 0, 3);
        0
    });
    assert_eq!(code, 0);
}

/// Drops root in the child: the real kernel then says EACCES.
fn drop_root() -> bool {
    unsafe {
        libc::setgroups(0, std::ptr::null()) == 0
            && libc::setresgid(65534, 65534, 65534) == 0
            && libc::setresuid(65534, 65534, 65534) == 0
    }
}

#[test]
fn unprivileged_caller_gets_no_new_privs_only_when_allowed() {
    skip_without_seccomp!();
    let prog = getppid_program();
    let _g = lock();
    let code = in_child(|| {
        check!(drop_root(), 1);
        let p = as_fprog(&prog);
        let mut r = new_report();
        check!(
            install(&p, 0, &mut r) == TRACEFILTER_E_NEEDS_NO_NEW_PRIVS,
            2
        );
        check!(nnp() == 0 && getppid_errno().is_none(), 3);
        let st = install(&p, TRACEFILTER_INSTALL_ALLOW_NO_NEW_PRIVS, &mut r);
        check!(st == TRACEFILTER_OK && r.no_new_privs == 1 && nnp() == 1, 4);
        check!(getppid_errno() == Some(libc::ENOSYS), 5);
        0
    });
    assert_eq!(code, 0);
}

#[test]
fn kernel_refusals_are_reported() {
    skip_without_seccomp!();
    let _g = lock();
    // A load outside seccomp_data: the kernel's checker refuses it.
    let bad = [ins(LD_ABS_W, 0, 0, 100), ins(RET, 0, 0, ALLOW)];
    let code = in_child(|| {
        let mut r = new_report();
        let st = install(&fprog(&bad), TRACEFILTER_INSTALL_SPEC_ALLOW, &mut r);
        check!(st == TRACEFILTER_E_KERNEL && r.error == libc::EINVAL, 1);
        // SPEC_ALLOW was suspected first and dropped.
        check!(r.flags == 0 && r.failed_step == TRACEFILTER_STEP_SECCOMP, 2);
        0
    });
    assert_eq!(code, 0);
    // The stack of filters is limited to 32768 instructions (len + 4 each).
    let mut big = vec![ins(LD_ABS_W, 0, 0, 0); 4095];
    big.push(ins(RET, 0, 0, ALLOW));
    let code = in_child(|| {
        let mut r = new_report();
        for n in 0..20 {
            let st = install(&fprog(&big), 0, &mut r);
            if st != TRACEFILTER_OK {
                check!(n == 7, 1); // 7 * 4100 fits, 8 * 4100 does not
                check!(st == TRACEFILTER_E_KERNEL && r.error == libc::ENOMEM, 2);
                check!(
                    r.installed == 0 && r.failed_step == TRACEFILTER_STEP_SECCOMP,
                    3
                );
                return 0;
            }
        }
        4
    });
    assert_eq!(code, 0);
}

#[test]
fn install_and_send_do_not_allocate() {
    skip_without_seccomp!();
    let prog = getppid_program();
    let outer = errno_filter(&[(SECCOMP, Arg::Set(1, SPEC_ALLOW), libc::EINVAL)]);
    let bad = [ins(LD_ABS_W, 0, 0, 100), ins(RET, 0, 0, ALLOW)];
    let _g = lock();
    let code = in_child(|| {
        let null = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_WRONLY) };
        check!(null >= 0 && install_outer(&outer), 1);
        let p = as_fprog(&prog);
        let b = fprog(&bad);
        let mut r = new_report();
        let mut small = new_report();
        small.struct_size = 8;
        ALLOCS.store(0, Ordering::SeqCst);
        let results = [
            install(&p, 0xf0, &mut r),                                   // E_INVALID
            unsafe { tracefilter_install(std::ptr::null(), 0, &mut r) }, // E_NULL
            install(&p, 0, &mut small),                                  // struct_size
            install(&b, TRACEFILTER_INSTALL_SPEC_ALLOW, &mut r),         // kernel EINVAL
            unsafe { tracefilter_report_send(null, &r) },
            unsafe { tracefilter_report_send(-1, &r) }, // EBADF
            install(&p, TRACEFILTER_INSTALL_SPEC_ALLOW, &mut r), // flag dropped, OK
            unsafe { tracefilter_report_send(null, &r) },
        ];
        let n = ALLOCS.load(Ordering::SeqCst);
        check!(
            results
                == [
                    TRACEFILTER_E_INVALID,
                    TRACEFILTER_E_NULL,
                    TRACEFILTER_E_INVALID,
                    TRACEFILTER_E_KERNEL,
                    TRACEFILTER_OK,
                    TRACEFILTER_E_IO,
                    TRACEFILTER_OK,
                    TRACEFILTER_OK,
                ],
            2
        );
        check!(r.installed == 1, 3);
        check!(n == 0, 4);
        // The counter works: this allocates.
        let v = std::hint::black_box(vec![1u8; 10]);
        check!(ALLOCS.load(Ordering::SeqCst) > 0 && v.len() == 10, 5);
        0
    });
    assert_eq!(code, 0);
}

fn cloexec_pipe() -> (c_int, c_int) {
    let mut fds = [0; 2];
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    (fds[0], fds[1])
}

/// Forks a child that runs `f(write_end)` then execs /bin/true; the parent
/// reads the report. Returns (receive status, report, child exit code).
fn report_round(f: impl FnOnce(c_int) -> i32) -> (c_int, tracefilter_install_report, i32) {
    let t = CString::new("/bin/true").unwrap();
    let argv = [t.as_ptr(), std::ptr::null()];
    let (rfd, wfd) = cloexec_pipe();
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        unsafe { libc::close(rfd) };
        let code = f(wfd);
        if code == 0 {
            unsafe { libc::execv(t.as_ptr(), argv.as_ptr()) };
        }
        unsafe { libc::_exit(if code == 0 { 98 } else { code }) };
    }
    unsafe { libc::close(wfd) };
    let mut r = new_report();
    let st = unsafe { tracefilter_report_receive(rfd, &mut r) };
    unsafe { libc::close(rfd) };
    let mut ws = 0;
    assert_eq!(unsafe { libc::waitpid(pid, &mut ws, 0) }, pid);
    (st, r, libc::WEXITSTATUS(ws))
}

#[test]
fn report_pipe_carries_the_report_across_execve() {
    skip_without_seccomp!();
    let prog = getppid_program();
    let _g = lock();
    let (st, r, code) = report_round(|w| {
        let mut r = new_report();
        install(&as_fprog(&prog), 0, &mut r);
        unsafe { tracefilter_report_send(w, &r) }
    });
    assert_eq!(
        (st, code),
        (TRACEFILTER_OK, 0),
        "/bin/true ran under the filter"
    );
    assert_eq!((r.status, r.installed), (TRACEFILTER_OK, 1));
    assert_eq!(r.mechanism, TRACEFILTER_MECHANISM_SECCOMP);
    assert_eq!(r.struct_size as usize, std::mem::size_of_val(&r));
    // A failure report travels the same way.
    let bad = [ins(LD_ABS_W, 0, 0, 100), ins(RET, 0, 0, ALLOW)];
    let (st, r, _) = report_round(|w| {
        let mut r = new_report();
        install(&fprog(&bad), 0, &mut r);
        unsafe { tracefilter_report_send(w, &r) }
    });
    assert_eq!(st, TRACEFILTER_OK);
    assert_eq!(
        (r.status, r.installed, r.error),
        (TRACEFILTER_E_KERNEL, 0, libc::EINVAL)
    );
}

#[test]
fn report_pipe_detects_missing_and_short_reports() {
    let _g = lock();
    // Exec without sending: end of file.
    let (st, r, code) = report_round(|_| 0);
    assert_eq!((st, code), (TRACEFILTER_E_NO_REPORT, 0));
    assert_eq!(r.status, TRACEFILTER_E_NO_REPORT); // untouched
                                                   // Half a report, then exit.
    let (st, ..) = report_round(|w| {
        unsafe { libc::write(w, [1u8; 10].as_ptr() as *const _, 10) };
        7
    });
    assert_eq!(st, TRACEFILTER_E_IO);
    // A full-size record no sender writes.
    let (st, ..) = report_round(|w| {
        unsafe { libc::write(w, [0xffu8; 32].as_ptr() as *const _, 32) };
        7
    });
    assert_eq!(st, TRACEFILTER_E_IO);
    // A read error.
    let mut r = new_report();
    assert_eq!(
        unsafe { tracefilter_report_receive(-1, &mut r) },
        TRACEFILTER_E_IO
    );
}

fn new_kernel() -> tracefilter_kernel {
    let mut k: tracefilter_kernel = unsafe { std::mem::zeroed() };
    k.struct_size = std::mem::size_of::<tracefilter_kernel>() as u32;
    k
}

fn no_children_left() -> bool {
    let r = unsafe { libc::waitpid(-1, std::ptr::null_mut(), libc::WNOHANG | libc::__WALL) };
    r == -1 && errno() == libc::ECHILD
}

fn kernel_at_least(major: u32, minor: u32) -> bool {
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    unsafe { libc::uname(&mut u) };
    let rel = unsafe { std::ffi::CStr::from_ptr(u.release.as_ptr()) }.to_string_lossy();
    let mut it = rel
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|s| s.parse::<u32>().ok());
    let v = (it.next().unwrap_or(0), it.next().unwrap_or(0));
    v >= (major, minor)
}

/// Whether this process may trace a child, tried directly.
fn ptrace_works() -> bool {
    in_child(|| {
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            unsafe { libc::pause() };
            unsafe { libc::_exit(0) };
        }
        let r = unsafe { libc::ptrace(libc::PTRACE_SEIZE, pid, 0, 0) };
        unsafe { libc::kill(pid, libc::SIGKILL) };
        unsafe { libc::waitpid(pid, std::ptr::null_mut(), libc::__WALL) };
        (r != 0) as i32
    }) == 0
}

#[test]
fn probe_sees_this_kernel() {
    skip_without_seccomp!();
    let _g = lock();
    let can_trace = ptrace_works();
    let mut k = new_kernel();
    let st = unsafe { tracefilter_probe(&mut k) };
    eprintln!("probe: status {st} {k:?}");
    assert!(no_children_left(), "the probe left a child");
    assert_eq!(k.filter_mode, 1);
    assert_eq!(k.seccomp_syscall, 1);
    assert_eq!(k.ret_trace, 1);
    let must = 1 | 2 | SPEC_ALLOW; // TSYNC, LOG (4.14), SPEC_ALLOW (4.17)
    assert_eq!(k.filter_flags & must, must);
    assert_eq!(k.filter_flags & !0x3f, 0);
    if !can_trace {
        skip::skip("ptrace is not permitted here; stop order not checked");
        assert_eq!(k.ptrace, 0);
        return;
    }
    assert_eq!(st, TRACEFILTER_OK);
    assert_eq!(k.ptrace, 1);
    assert_eq!(k.error, 0);
    let want = if kernel_at_least(4, 8) {
        TRACEFILTER_ORDER_ENTRY_FIRST
    } else {
        TRACEFILTER_ORDER_SECCOMP_FIRST
    };
    assert_eq!(k.stop_order, want);
    // Too small a struct is refused.
    let mut small = new_kernel();
    small.struct_size = 8;
    assert_eq!(
        unsafe { tracefilter_probe(&mut small) },
        TRACEFILTER_E_INVALID
    );
}

static SIGCHLD_SEEN: AtomicUsize = AtomicUsize::new(0);
extern "C" fn reaping_handler(_: c_int) {
    SIGCHLD_SEEN.fetch_add(1, Ordering::SeqCst);
    // The worst kind of host: reaps every child.
    while unsafe { libc::waitpid(-1, std::ptr::null_mut(), libc::WNOHANG) } > 0 {}
}

#[test]
fn probe_survives_a_reaping_sigchld_handler_and_keeps_it() {
    skip_without_seccomp!();
    let _g = lock();
    if !ptrace_works() {
        skip::skip("ptrace is not permitted here");
        return;
    }
    let code = in_child(|| {
        let mut sa: libc::sigaction = unsafe { std::mem::zeroed() };
        sa.sa_sigaction = reaping_handler as extern "C" fn(c_int) as usize;
        sa.sa_flags = libc::SA_RESTART;
        check!(
            unsafe { libc::sigaction(libc::SIGCHLD, &sa, std::ptr::null_mut()) } == 0,
            1
        );
        let mut k = new_kernel();
        let st = unsafe { tracefilter_probe(&mut k) };
        check!(st == TRACEFILTER_OK, 2);
        check!(
            k.ptrace == 1 && k.stop_order != TRACEFILTER_ORDER_UNKNOWN,
            3
        );
        let mut now: libc::sigaction = unsafe { std::mem::zeroed() };
        unsafe { libc::sigaction(libc::SIGCHLD, std::ptr::null(), &mut now) };
        check!(
            now.sa_sigaction == reaping_handler as extern "C" fn(c_int) as usize,
            4
        );
        check!(now.sa_flags & libc::SA_RESTART != 0, 5);
        check!(SIGCHLD_SEEN.load(Ordering::SeqCst) >= 1, 6);
        check!(no_children_left(), 7);
        // The same with SIGCHLD ignored (children reaped by the kernel).
        unsafe { libc::signal(libc::SIGCHLD, libc::SIG_IGN) };
        let st = unsafe { tracefilter_probe(&mut k) };
        check!(
            st == TRACEFILTER_OK && k.stop_order != TRACEFILTER_ORDER_UNKNOWN,
            8
        );
        check!(
            unsafe { libc::signal(libc::SIGCHLD, libc::SIG_DFL) } == libc::SIG_IGN,
            9
        );
        check!(no_children_left(), 10);
        0
    });
    assert_eq!(code, 0);
}

#[test]
fn probe_without_ptrace_reports_it_and_returns() {
    skip_without_seccomp!();
    let outer = errno_filter(&[(libc::SYS_ptrace, Arg::Any, libc::EPERM)]);
    let _g = lock();
    let code = in_child(|| {
        check!(install_outer(&outer), 1);
        let mut k = new_kernel();
        let st = unsafe { tracefilter_probe(&mut k) };
        check!(st == TRACEFILTER_OK, 2);
        check!(k.ptrace == 0 && k.error == libc::EPERM, 3);
        check!(
            k.stop_order == TRACEFILTER_ORDER_UNKNOWN && k.filter_mode == 1,
            4
        );
        check!(no_children_left(), 5);
        0
    });
    assert_eq!(code, 0);
}

#[test]
fn probe_install_tries_in_a_throwaway_child() {
    skip_without_seccomp!();
    let prog = getppid_program();
    let _g = lock();
    let mut r = new_report();
    let st = unsafe { tracefilter_probe_install(&as_fprog(&prog), 0, &mut r) };
    assert_eq!((st, r.installed), (TRACEFILTER_OK, 1));
    assert!(no_children_left());
    // This process has no filter.
    assert_eq!(getppid_errno(), None);
    let bad = [ins(LD_ABS_W, 0, 0, 100), ins(RET, 0, 0, ALLOW)];
    let st = unsafe { tracefilter_probe_install(&fprog(&bad), 0, &mut r) };
    assert_eq!((st, r.error), (TRACEFILTER_E_KERNEL, libc::EINVAL));
    // A program that traces everything, write and exit_group included.
    let all = [ins(RET, 0, 0, 0x7ff0_0000)];
    let st = unsafe { tracefilter_probe_install(&fprog(&all), 0, &mut r) };
    assert_eq!((st, r.installed), (TRACEFILTER_OK, 1));
    assert!(no_children_left());
}

#[test]
fn protocol_step_checks_its_arguments() {
    let mut out = tracefilter_resume {
        request: 99,
        decode_entry: 99,
    };
    let s = |m, o, st, t, out: &mut tracefilter_resume| unsafe {
        tracefilter_protocol_step(m, o, st, t, out)
    };
    assert_eq!(
        s(
            TRACEFILTER_MODE_SECCOMP,
            TRACEFILTER_ORDER_ENTRY_FIRST,
            TRACEFILTER_STOP_SECCOMP,
            1,
            &mut out
        ),
        TRACEFILTER_OK
    );
    assert_eq!((out.request, out.decode_entry), (libc::PTRACE_SYSCALL, 1));
    assert_eq!(
        s(
            TRACEFILTER_MODE_SECCOMP,
            TRACEFILTER_ORDER_UNKNOWN,
            TRACEFILTER_STOP_SECCOMP,
            1,
            &mut out
        ),
        TRACEFILTER_E_INVALID
    );
    assert_eq!(s(0, 0, 1, 1, &mut out), TRACEFILTER_E_INVALID);
    assert_eq!(s(2, 3, 1, 1, &mut out), TRACEFILTER_E_INVALID);
    assert_eq!(s(2, 0, 4, 1, &mut out), TRACEFILTER_E_INVALID);
    assert_eq!(
        unsafe { tracefilter_protocol_step(2, 0, 1, 1, std::ptr::null_mut()) },
        TRACEFILTER_E_NULL
    );
}

/// What a test tracer saw of a whole traced process tree.
#[derive(Debug, Default)]
struct Trace {
    /// Syscall numbers whose entry the protocol said to decode.
    decoded: Vec<u64>,
    /// Exits seen for decoded entries.
    exits: usize,
    /// Syscall numbers of PTRACE_EVENT_SECCOMP stops.
    seccomp_stops: Vec<u64>,
    /// Every stop, of any kind.
    stops: usize,
    report_status: c_int,
}

/// PTRACE_GET_SYSCALL_INFO: (op, nr); op 1 entry, 2 exit, 3 seccomp.
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

/// Traces `sh -c script` from fork to the end, following forks and execs,
/// resuming at every stop as tracefilter_protocol_step says. With
/// `filter`, the child installs `prog` before execve; the tracer learns the
/// outcome from the report pipe at the exec stop and switches mode then.
fn trace_tree(prog: &sock_fprog, filter: bool, order: u32, traced: &[u64]) -> Trace {
    let sh = CString::new("/bin/sh").unwrap();
    let c = CString::new("-c").unwrap();
    let script = CString::new("uname >/dev/null; uname >/dev/null; (uname >/dev/null)").unwrap();
    let argv = [sh.as_ptr(), c.as_ptr(), script.as_ptr(), std::ptr::null()];
    let (rfd, wfd) = cloexec_pipe();
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        unsafe {
            libc::close(rfd);
            libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0);
            libc::kill(libc::getpid(), libc::SIGSTOP);
            if filter {
                let mut r = new_report();
                tracefilter_install(prog, 0, &mut r);
                tracefilter_report_send(wfd, &r);
            }
            libc::execv(sh.as_ptr(), argv.as_ptr());
            libc::_exit(97);
        }
    }
    unsafe { libc::close(wfd) };
    let mut t = Trace {
        report_status: 1,
        ..Trace::default()
    };
    let mut mode = TRACEFILTER_MODE_PTRACE; // until the report says otherwise
    let rest = |mode| {
        if mode == TRACEFILTER_MODE_SECCOMP {
            libc::PTRACE_CONT
        } else {
            libc::PTRACE_SYSCALL
        }
    };
    // Per tracee: the last resume request, and whether a decoded entry awaits its exit.
    let mut state: std::collections::HashMap<libc::pid_t, (u32, bool)> = Default::default();
    state.insert(pid, (libc::PTRACE_SYSCALL, false));
    let opts = libc::PTRACE_O_TRACESYSGOOD
        | libc::PTRACE_O_TRACESECCOMP
        | libc::PTRACE_O_EXITKILL
        | libc::PTRACE_O_TRACEFORK
        | libc::PTRACE_O_TRACEVFORK
        | libc::PTRACE_O_TRACECLONE
        | libc::PTRACE_O_TRACEEXEC;
    let mut first = true;
    while !state.is_empty() {
        let mut st = 0;
        let p = unsafe { libc::waitpid(-1, &mut st, libc::__WALL) };
        assert!(p > 0, "waitpid: errno {}", errno());
        if libc::WIFEXITED(st) || libc::WIFSIGNALED(st) {
            state.remove(&p);
            continue;
        }
        t.stops += 1;
        let (last, awaiting) = *state.entry(p).or_insert((rest(mode), false));
        let sig = libc::WSTOPSIG(st);
        let event = (st >> 16) & 0xff;
        let mut inject = 0;
        let stop = if sig == libc::SIGTRAP | 0x80 {
            let (op, nr) = syscall_info(p).expect("PTRACE_GET_SYSCALL_INFO");
            Some((
                if op == 1 {
                    TRACEFILTER_STOP_SYSCALL_ENTRY
                } else {
                    TRACEFILTER_STOP_SYSCALL_EXIT
                },
                nr,
            ))
        } else if sig == libc::SIGTRAP && event == libc::PTRACE_EVENT_SECCOMP {
            let (op, nr) = syscall_info(p).expect("PTRACE_GET_SYSCALL_INFO");
            assert_eq!(op, 3);
            t.seccomp_stops.push(nr);
            Some((TRACEFILTER_STOP_SECCOMP, nr))
        } else {
            if first && p == pid {
                first = false;
                assert_eq!(sig, libc::SIGSTOP);
                assert_eq!(
                    unsafe { libc::ptrace(libc::PTRACE_SETOPTIONS, p, 0, opts) },
                    0
                );
            } else if sig == libc::SIGTRAP
                && event == libc::PTRACE_EVENT_EXEC
                && p == pid
                && t.report_status == 1
            {
                // By now the child wrote its report or never will.
                let mut r = new_report();
                t.report_status = unsafe { tracefilter_report_receive(rfd, &mut r) };
                if t.report_status == TRACEFILTER_OK && r.installed == 1 {
                    mode = TRACEFILTER_MODE_SECCOMP;
                }
            } else if sig != libc::SIGTRAP && sig != libc::SIGSTOP {
                inject = sig; // a real signal for the tracee
            }
            None
        };
        let req = match stop {
            Some((kind, nr)) => {
                let mut out = tracefilter_resume {
                    request: 0,
                    decode_entry: 0,
                };
                let is_traced = traced.contains(&nr) as c_int;
                let s =
                    unsafe { tracefilter_protocol_step(mode, order, kind, is_traced, &mut out) };
                assert_eq!(s, TRACEFILTER_OK);
                let mut awaiting = awaiting;
                if out.decode_entry == 1 {
                    assert!(!awaiting, "entry decoded twice");
                    t.decoded.push(nr);
                    awaiting = true;
                } else if kind == TRACEFILTER_STOP_SYSCALL_EXIT && awaiting {
                    t.exits += 1;
                    awaiting = false;
                }
                state.insert(p, (out.request, awaiting));
                out.request
            }
            // New tracees start at rest; event and signal stops keep the last request.
            None if sig == libc::SIGSTOP && last == rest(mode) => rest(mode),
            None => last,
        };
        unsafe { libc::ptrace(req, p, 0, inject) };
    }
    unsafe { libc::close(rfd) };
    t
}

#[test]
fn protocol_drives_a_tracer_to_the_same_syscalls_in_both_modes() {
    skip_without_seccomp!();
    if !kernel_at_least(5, 3) {
        skip::skip("PTRACE_GET_SYSCALL_INFO needs Linux 5.3");
        return;
    }
    let _g = lock();
    if !ptrace_works() {
        skip::skip("ptrace is not permitted here");
        return;
    }
    let mut k = new_kernel();
    assert_eq!(unsafe { tracefilter_probe(&mut k) }, TRACEFILTER_OK);
    let traced = [libc::SYS_uname as u64, libc::SYS_getppid as u64];
    let mut bits = vec![0u8; 128];
    for nr in traced {
        bits[nr as usize / 8] |= 1 << (nr % 8);
    }
    let pers = Personality {
        audit_arch: NATIVE_ARCH,
        nr_flag: 0,
        traced: &bits,
        nsyscalls: 1024,
    };
    let prog = compile(&[pers], &Options::default()).unwrap();
    let p = as_fprog(&prog);
    // The tracer runs in a child so that waitpid(-1) sees only its tracees.
    let code = in_child(|| {
        let with = trace_tree(&p, true, k.stop_order, &traced);
        let without = trace_tree(&p, false, k.stop_order, &traced);
        say(&format!(
            "seccomp mode: {with:?}\nptrace mode: {without:?}\n"
        ));
        check!(with.report_status == TRACEFILTER_OK, 1);
        check!(without.report_status == TRACEFILTER_E_NO_REPORT, 2);
        let mut a = with.decoded.clone();
        let mut b = without.decoded.clone();
        a.sort();
        b.sort();
        // uname(1) three times, once in a subshell: across fork and execve.
        check!(
            a.iter().filter(|&&n| n == libc::SYS_uname as u64).count() >= 3,
            3
        );
        check!(a == b, 4);
        check!(with.exits == a.len() && without.exits == b.len(), 5);
        // Seccomp stops only for traced syscalls, one per decoded entry.
        check!(with.seccomp_stops.iter().all(|n| traced.contains(n)), 6);
        check!(with.seccomp_stops.len() == a.len(), 7);
        check!(without.seccomp_stops.is_empty(), 8);
        check!(with.stops * 4 < without.stops, 9);
        0
    });
    assert_eq!(code, 0);
}
