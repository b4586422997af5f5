//! The running kernel accepts the programs we compile, enforces them the way
//! our emulator says, and refuses the programs our checker refuses.
//!
//! Every filter is installed in a forked child (no_new_privs set there only)
//! with the raw seccomp(2) syscall. The child does nothing but raw syscalls
//! and writes its results into a shared anonymous mapping, so it needs no
//! allocation and no syscall besides the probes and exit_group.
//!
//! With the default actions and no tracer attached, SECCOMP_RET_TRACE makes
//! a syscall fail with ENOSYS without running it; SECCOMP_RET_ALLOW runs it.
//! Every probe below is a syscall that never fails with ENOSYS by itself (the
//! test checks that first) and is harmless when it runs.
#![cfg(all(target_os = "linux", target_arch = "x86_64"))]

#[path = "common/pers.rs"]
mod pers;
use pers::Pers;
#[path = "common/skip.rs"]
mod skip;
use std::sync::Mutex;

use tracefilter::{
    check, compile, evaluate, Error, Insn, Objective, Options, Personality, SeccompData, Strategy,
};

const AUDIT_ARCH_X86_64: u32 = 0xC000_003E;
const AUDIT_ARCH_I386: u32 = 0x4000_0003;
const X32_BIT: u32 = 0x4000_0000;
const SECCOMP_SET_MODE_FILTER: libc::c_long = 1;
const SECCOMP_RET_TRACE: u32 = 0x7ff0_0000;
const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;
const ENOSYS: i64 = -(libc::ENOSYS as i64);

/// How a probe enters the kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Abi {
    /// `syscall` with the number as is (x86_64, or x32 with the bit set).
    Syscall,
    /// `int $0x80`: the i386 personality.
    Int80,
}

/// One harmless syscall: number as seen by seccomp (x32 bit included), how
/// to enter it, and its arguments (read-only, or failing on a bad fd/NULL).
#[derive(Clone, Copy, Debug)]
struct Probe {
    name: &'static str,
    arch: u32,
    nr: u32,
    abi: Abi,
    args: [u64; 3],
}

const BAD_FD: u64 = u64::MAX; // -1

/// x86_64 numbers (x32 uses the same "common" numbers with the x32 bit).
const X86_64_PROBES: &[(&str, u32, [u64; 3])] = &[
    ("read", 0, [BAD_FD, 0, 0]),
    ("fstat", 5, [BAD_FD, 0, 0]),
    ("lseek", 8, [BAD_FD, 0, 0]),
    ("ioctl", 16, [BAD_FD, 0, 0]),
    ("sched_yield", 24, [0, 0, 0]),
    ("dup", 32, [BAD_FD, 0, 0]),
    ("getpid", 39, [0, 0, 0]),
    ("uname", 63, [0, 0, 0]),
    ("fcntl", 72, [BAD_FD, 1, 0]),
    ("gettimeofday", 96, [0, 0, 0]),
    ("getrlimit", 97, [0, 0, 0]),
    ("getrusage", 98, [0, 0, 0]),
    ("sysinfo", 99, [0, 0, 0]),
    ("times", 100, [0, 0, 0]),
    ("getuid", 102, [0, 0, 0]),
    ("getgid", 104, [0, 0, 0]),
    ("geteuid", 107, [0, 0, 0]),
    ("getegid", 108, [0, 0, 0]),
    ("getppid", 110, [0, 0, 0]),
    ("getpgrp", 111, [0, 0, 0]),
    ("getgroups", 115, [0, 0, 0]),
    ("getpgid", 121, [0, 0, 0]),
    ("getsid", 124, [0, 0, 0]),
    ("gettid", 186, [0, 0, 0]),
    ("time", 201, [0, 0, 0]),
    ("clock_getres", 229, [0, 0, 0]),
    ("getcpu", 309, [0, 0, 0]),
    ("getrandom", 318, [0, 0, 0]),
];

/// i386 numbers, entered with int $0x80 (only arguments that fit 32 bits).
const I386_PROBES: &[(&str, u32, [u64; 3])] = &[
    ("close", 6, [0xffff_ffff, 0, 0]),
    ("time", 13, [0, 0, 0]),
    ("getpid", 20, [0, 0, 0]),
    ("dup", 41, [0xffff_ffff, 0, 0]),
    ("getppid", 64, [0, 0, 0]),
    ("getpgrp", 65, [0, 0, 0]),
    ("getpgid", 132, [0, 0, 0]),
    ("getsid", 147, [0, 0, 0]),
    ("sched_yield", 158, [0, 0, 0]),
    ("getuid32", 199, [0, 0, 0]),
    ("getgid32", 200, [0, 0, 0]),
    ("geteuid32", 201, [0, 0, 0]),
    ("getegid32", 202, [0, 0, 0]),
    ("gettid", 224, [0, 0, 0]),
];

/// Syscalls the child needs whatever the filter: never traced in a spec.
const X86_64_EXIT: u32 = 60;
const X86_64_EXIT_GROUP: u32 = 231;

/// Enters the kernel without libc, returning the raw result (-errno on error).
///
/// # Safety
/// The probe must be harmless with its arguments.
unsafe fn raw(abi: Abi, nr: u32, a: [u64; 3]) -> i64 {
    let ret: i64;
    match abi {
        Abi::Syscall => unsafe {
            std::arch::asm!("syscall",
                inlateout("rax") nr as u64 => ret,
                in("rdi") a[0], in("rsi") a[1], in("rdx") a[2],
                lateout("rcx") _, lateout("r11") _,
                options(nostack));
        },
        Abi::Int80 => unsafe {
            // rbx belongs to LLVM: swap the first argument in and out.
            std::arch::asm!("xchg rbx, {a0}", "int 0x80", "xchg rbx, {a0}",
                a0 = inout(reg) a[0] => _,
                inlateout("rax") nr as u64 => ret,
                in("rcx") a[1], in("rdx") a[2],
                lateout("r8") _, lateout("r9") _, lateout("r10") _, lateout("r11") _,
                options(nostack));
        },
    }
    // int $0x80 returns a 32-bit result
    if abi == Abi::Int80 {
        ret as i32 as i64
    } else {
        ret
    }
}

/// Memory shared with the child: a status word and one result per slot.
struct Shared {
    ptr: *mut i64,
    len: usize,
}

impl Shared {
    fn new(len: usize) -> Shared {
        let bytes = (len + 2) * 8;
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                bytes,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert!(
            p != libc::MAP_FAILED,
            "mmap: {}",
            std::io::Error::last_os_error()
        );
        Shared {
            ptr: p as *mut i64,
            len,
        }
    }
    fn slot(&self, i: usize) -> *mut i64 {
        assert!(i < self.len + 2);
        unsafe { self.ptr.add(i) }
    }
    fn get(&self, i: usize) -> i64 {
        unsafe { std::ptr::read_volatile(self.slot(i)) }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        unsafe { libc::munmap(self.ptr as *mut _, (self.len + 2) * 8) };
    }
}

/// Child exit codes.
const CHILD_OK: i32 = 0;
const CHILD_NO_NEW_PRIVS: i32 = 10;
const CHILD_SECCOMP: i32 = 11;

/// What a child saw: its exit code, the errno of a failed step, and results.
struct Outcome {
    code: i32,
    errno: i64,
    results: Vec<i64>,
}

// fork() from a multi-threaded test binary is fine for a child that only
// makes raw syscalls, but two tests forking at once would only make the
// failure messages harder to read.
static FORK: Mutex<()> = Mutex::new(());

/// Forks; the child sets no_new_privs, installs each filter in turn
/// (recording 0 or -errno per filter in the first slots, stopping at the
/// first failure unless `keep_going`), then runs the probes (results after
/// the filter slots) and exits.
fn in_child(filters: &[Vec<libc::sock_filter>], keep_going: bool, probes: &[Probe]) -> Outcome {
    try_in_child(filters, keep_going, probes).unwrap_or_else(|e| panic!("{e}"))
}

fn try_in_child(
    filters: &[Vec<libc::sock_filter>],
    keep_going: bool,
    probes: &[Probe],
) -> Result<Outcome, String> {
    let _guard = FORK.lock().unwrap_or_else(|e| e.into_inner());
    let fprogs: Vec<libc::sock_fprog> = filters
        .iter()
        .map(|f| libc::sock_fprog {
            len: f.len() as u16,
            filter: f.as_ptr() as *mut libc::sock_filter,
        })
        .collect();
    let shared = Shared::new(filters.len() + probes.len());
    let (status_slot, base) = (0usize, 2usize);
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(format!("fork: {}", std::io::Error::last_os_error()));
    }
    if pid == 0 {
        // Child: raw syscalls and stores into the shared page only.
        unsafe {
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                *shared.slot(status_slot) = -(*libc::__errno_location() as i64);
                libc::_exit(CHILD_NO_NEW_PRIVS);
            }
            for (i, fp) in fprogs.iter().enumerate() {
                let r = libc::syscall(
                    libc::SYS_seccomp,
                    SECCOMP_SET_MODE_FILTER,
                    0,
                    fp as *const libc::sock_fprog,
                );
                let e = if r == 0 {
                    0
                } else {
                    -(*libc::__errno_location() as i64)
                };
                *shared.slot(base + i) = e;
                if e != 0 && !keep_going {
                    *shared.slot(status_slot) = e;
                    libc::_exit(CHILD_SECCOMP);
                }
            }
            for (i, p) in probes.iter().enumerate() {
                *shared.slot(base + fprogs.len() + i) = raw(p.abi, p.nr, p.args);
            }
            libc::_exit(CHILD_OK);
        }
    }
    let mut status = 0;
    let r = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(r, pid, "waitpid: {}", std::io::Error::last_os_error());
    assert!(
        libc::WIFEXITED(status),
        "child did not exit normally (wait status {status:#x}; signal {})",
        libc::WTERMSIG(status)
    );
    Ok(Outcome {
        code: libc::WEXITSTATUS(status),
        errno: shared.get(status_slot),
        results: (0..filters.len() + probes.len())
            .map(|i| shared.get(base + i))
            .collect(),
    })
}

fn to_kernel(insns: &[Insn]) -> Vec<libc::sock_filter> {
    insns
        .iter()
        .map(|i| libc::sock_filter {
            code: i.code,
            jt: i.jt,
            jf: i.jf,
            k: i.k,
        })
        .collect()
}

fn allow_all() -> Vec<libc::sock_filter> {
    vec![libc::sock_filter {
        code: 0x06,
        jt: 0,
        jf: 0,
        k: SECCOMP_RET_ALLOW,
    }]
}

/// Why the kernel side cannot be tested here, if it cannot.
fn seccomp_unavailable() -> Option<String> {
    let out = match try_in_child(&[allow_all()], false, &[]) {
        Ok(out) => out,
        Err(e) => return Some(e),
    };
    match out.code {
        CHILD_OK => None,
        CHILD_NO_NEW_PRIVS => Some(format!(
            "prctl(PR_SET_NO_NEW_PRIVS) failed: errno {}",
            -out.errno
        )),
        CHILD_SECCOMP => Some(format!(
            "seccomp(SECCOMP_SET_MODE_FILTER) refuses a one-instruction filter: {}",
            std::io::Error::from_raw_os_error(-out.errno as i32)
        )),
        c => panic!("probe child exited with {c}"),
    }
}

macro_rules! require_seccomp {
    () => {
        if let Some(why) = seccomp_unavailable() {
            skip::skip(&why);
            return;
        }
    };
}

/// The probes this machine can run: each must work without a filter (not
/// ENOSYS), so that ENOSYS under a filter can only come from the filter.
fn usable_probes() -> Vec<Probe> {
    let mut out = Vec::new();
    let mut add = |list: &[(&'static str, u32, [u64; 3])], arch, flag, abi, what: &str| {
        let probes: Vec<Probe> = list
            .iter()
            .map(|&(name, nr, args)| Probe {
                name,
                arch,
                nr: nr | flag,
                abi,
                args,
            })
            .collect();
        // Run them unfiltered in a child too: same conditions as later.
        let base = in_child(&[], false, &probes);
        assert_eq!(base.code, CHILD_OK);
        let works: Vec<Probe> = probes
            .iter()
            .zip(&base.results)
            .filter(|(_, &r)| r != ENOSYS)
            .map(|(p, _)| *p)
            .collect();
        if works.len() < probes.len() / 2 {
            skip::note(&format!(
                "{what} syscalls unavailable in this kernel ({} of {} answer ENOSYS); not probed",
                probes.len() - works.len(),
                probes.len()
            ));
        } else {
            out.extend(works);
        }
    };
    add(X86_64_PROBES, AUDIT_ARCH_X86_64, 0, Abi::Syscall, "x86_64");
    add(
        X86_64_PROBES,
        AUDIT_ARCH_X86_64,
        X32_BIT,
        Abi::Syscall,
        "x32",
    );
    add(
        I386_PROBES,
        AUDIT_ARCH_I386,
        0,
        Abi::Int80,
        "i386 (int $0x80)",
    );
    out
}

/// The child must be able to exit.
fn keep_exit(p: &mut Pers) {
    if p.arch == AUDIT_ARCH_X86_64 && p.flag == 0 {
        p.set(X86_64_EXIT, false);
        p.set(X86_64_EXIT_GROUP, false);
    }
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // splitmix64: a fixed seed gives the same sets on every run
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The specifications: (description, personalities).
fn specs() -> Vec<(String, Vec<Pers>)> {
    let mut out = Vec::new();
    let x64 = Pers::new("x86_64");

    let mut small = x64.clone();
    small.set(39, true); // getpid
    out.push(("x86_64, getpid traced".into(), vec![small]));

    let mut large = x64.clone();
    for i in 0..large.n {
        large.set(i, true);
    }
    keep_exit(&mut large);
    out.push(("x86_64, all but exit/exit_group traced".into(), vec![large]));

    let mut rng = Rng(0x7472_6163_6566_696c);
    for round in 0..6 {
        let mut set = vec![Pers::new("x86_64"), Pers::new("i386"), Pers::new("x32")];
        // densities from sparse to dense; the last rounds scatter hundreds
        let percent = [2, 10, 30, 50, 70, 95][round];
        for p in &mut set {
            for i in 0..p.n {
                p.set(i, rng.below(100) < percent);
            }
            keep_exit(p);
        }
        out.push((format!("x86_64+i386+x32, random {percent}% traced"), set));
    }
    out
}

fn option_sets() -> Vec<(String, Options)> {
    let mut out = Vec::new();
    for objective in [Objective::Speed, Objective::Size] {
        for strategy in std::iter::once(Strategy::Auto).chain(Strategy::ALL) {
            out.push((
                format!("{objective:?}/{}", strategy.name()),
                Options {
                    strategy,
                    objective,
                    ..Options::default()
                },
            ));
        }
    }
    out
}

#[test]
fn kernel_accepts_and_enforces_compiled_programs() {
    require_seccomp!();
    let probes = usable_probes();
    assert!(
        probes
            .iter()
            .any(|p| p.arch == AUDIT_ARCH_X86_64 && p.nr & X32_BIT == 0),
        "no x86_64 probe works without a filter"
    );
    let mut programs = 0;
    let mut used = std::collections::BTreeSet::new();
    for (what, set) in specs() {
        let views: Vec<Personality> = set.iter().map(Pers::view).collect();
        for (how, opts) in option_sets() {
            let prog = match compile(&views, &opts) {
                Ok(p) => p,
                // A forced strategy may not apply (documented E_STRATEGY).
                Err(Error::Strategy(_)) if opts.strategy != Strategy::Auto => continue,
                Err(e) => panic!("{what} ({how}): compile failed: {e}"),
            };
            used.insert(prog.strategy().name());
            let insns = prog.insns();
            let out = in_child(&[to_kernel(insns)], false, &probes);
            assert_eq!(
                out.code,
                CHILD_OK,
                "{what} ({how}): the kernel refused our {}-instruction program: {}",
                insns.len(),
                std::io::Error::from_raw_os_error(-out.errno as i32)
            );
            // The kernel's verdict on each probe against the emulator's.
            for (p, &r) in probes.iter().zip(&out.results[1..]) {
                let action = evaluate(insns, &SeccompData::new(p.arch, p.nr))
                    .unwrap()
                    .action;
                let want_traced = match action {
                    SECCOMP_RET_TRACE => true,
                    SECCOMP_RET_ALLOW => false,
                    a => panic!("{what} ({how}): unexpected action {a:#x} for {p:?}"),
                };
                let p_view = views.iter().find(|v| {
                    v.audit_arch == p.arch && p.nr >= v.nr_flag && p.nr - v.nr_flag < v.nsyscalls
                });
                // The emulator agrees with the spec (the library's proof), and the kernel with both.
                assert_eq!(
                    want_traced,
                    p_view.is_none_or(|v| v.is_traced(p.nr - v.nr_flag)),
                    "{what} ({how}): emulator and spec disagree on {p:?}"
                );
                assert_eq!(
                    r == ENOSYS,
                    want_traced,
                    "{what} ({how}): {} {} (nr {:#x}) returned {r} under the filter, \
                     the emulator says {}",
                    p.name,
                    if p.abi == Abi::Int80 {
                        "via int $0x80"
                    } else {
                        "via syscall"
                    },
                    p.nr,
                    if want_traced {
                        "traced (ENOSYS)"
                    } else {
                        "allowed"
                    }
                );
            }
            // getppid allowed really ran: it returns our pid.
            if let Some(i) = probes
                .iter()
                .position(|p| p.name == "getppid" && p.arch == AUDIT_ARCH_X86_64 && p.nr == 110)
            {
                if !views[0].is_traced(110) {
                    assert_eq!(
                        out.results[1 + i],
                        std::process::id() as i64,
                        "{what} ({how}): getppid"
                    );
                }
            }
            programs += 1;
        }
    }
    println!(
        "{programs} programs installed and enforced as emulated, {} probes each",
        probes.len()
    );
    for s in Strategy::ALL {
        assert!(
            used.contains(s.name()),
            "no program of strategy {s:?} was tried"
        );
    }
}

fn insn(code: u16, jt: u8, jf: u8, k: u32) -> Insn {
    Insn { code, jt, jf, k }
}

/// Hand-made programs whose only return is ALLOW, so that any the kernel
/// accepts is harmless to stack.
fn hostile_programs() -> Vec<(&'static str, Vec<Insn>, Option<i32>)> {
    use tracefilter::ffi::*;
    const LD_NR: u16 = 0x20; // ld [k]
    const RET_K: u16 = 0x06;
    let ret = insn(RET_K, 0, 0, SECCOMP_RET_ALLOW);
    let ld = |k| insn(LD_NR, 0, 0, k);
    vec![
        ("valid: ret allow", vec![ret], None),
        (
            "valid: ld nr, jeq, ret",
            vec![ld(0), insn(0x15, 0, 0, 1), ret],
            None,
        ),
        (
            "valid: st, ld mem",
            vec![ld(0), insn(0x02, 0, 0, 3), insn(0x60, 0, 0, 3), ret],
            None,
        ),
        ("length 0", vec![], Some(TRACEFILTER_E_PROGRAM_LENGTH)),
        (
            "length 4097",
            vec![ret; 4097],
            Some(TRACEFILTER_E_PROGRAM_LENGTH),
        ),
        (
            "jump out of range",
            vec![ld(0), insn(0x15, 5, 0, 1), ret],
            Some(TRACEFILTER_E_PROGRAM_JUMP),
        ),
        (
            "ja out of range",
            vec![insn(0x05, 0, 0, 1), ret],
            Some(TRACEFILTER_E_PROGRAM_JUMP),
        ),
        (
            "byte load",
            vec![insn(0x30, 0, 0, 0), ret],
            Some(TRACEFILTER_E_PROGRAM_OPCODE),
        ),
        (
            "opcode 0xffff",
            vec![insn(0xffff, 0, 0, 0), ret],
            Some(TRACEFILTER_E_PROGRAM_OPCODE),
        ),
        (
            "load at 64",
            vec![ld(64), ret],
            Some(TRACEFILTER_E_PROGRAM_LOAD),
        ),
        (
            "misaligned load",
            vec![ld(2), ret],
            Some(TRACEFILTER_E_PROGRAM_LOAD),
        ),
        (
            "div by 0",
            vec![ld(0), insn(0x34, 0, 0, 0), ret],
            Some(TRACEFILTER_E_PROGRAM_OPERAND),
        ),
        (
            "scratch 16",
            vec![insn(0x02, 0, 0, 16), ret],
            Some(TRACEFILTER_E_PROGRAM_OPERAND),
        ),
        (
            "scratch unset",
            vec![insn(0x60, 0, 0, 3), ret],
            Some(TRACEFILTER_E_PROGRAM_SCRATCH),
        ),
        (
            "no return",
            vec![ret, ld(0)],
            Some(TRACEFILTER_E_PROGRAM_NO_RETURN),
        ),
    ]
}

#[test]
fn kernel_refuses_what_our_checker_refuses() {
    require_seccomp!();
    let progs = hostile_programs();
    let filters: Vec<_> = progs.iter().map(|(_, p, _)| to_kernel(p)).collect();
    let out = in_child(&filters, true, &[]);
    assert_eq!(out.code, CHILD_OK);
    for ((what, prog, want), &kernel) in progs.iter().zip(&out.results) {
        // Our checker refuses exactly these; the status it maps to is
        // asserted through the C ABI below.
        assert_eq!(check(prog).is_err(), want.is_some(), "{what}: our checker");
        let want_errno = if want.is_some() {
            -(libc::EINVAL as i64)
        } else {
            0
        };
        assert_eq!(kernel, want_errno, "{what}: the kernel's seccomp(2) result");
        // evaluate through the C ABI gives the same status
        if !prog.is_empty() {
            let f = libc::sock_fprog {
                len: prog.len() as u16,
                filter: prog.as_ptr() as *mut libc::sock_filter,
            };
            let (mut action, mut executed) = (0u32, 0u32);
            let s = unsafe {
                tracefilter::ffi::tracefilter_evaluate(
                    &f as *const _ as *const _,
                    AUDIT_ARCH_X86_64,
                    0,
                    &mut action,
                    &mut executed,
                )
            };
            assert_eq!(s, want.unwrap_or(0), "{what}: tracefilter_evaluate");
        }
    }
}

/// Random short programs whose every return is ALLOW (and no division by
/// X, which would return 0 at run time): the kernel accepts exactly those
/// our checker accepts.
#[test]
fn kernel_and_checker_agree_on_random_programs() {
    require_seccomp!();
    const CODES: &[u16] = &[
        0x20, 0x80, 0x00, 0x60, 0x01, 0x61, 0x81, 0x02, 0x03, 0x07, 0x87, // loads, st, misc
        0x04, 0x14, 0x24, 0x34, 0x44, 0x54, 0x64, 0x74, 0x84, 0x94, 0xa4, 0x0c, 0x5c, // alu
        0x05, 0x15, 0x25, 0x35, 0x45, 0x1d, 0x2d, // jumps
        0x06, 0x06, 0x06, 0x16, 0x28, 0x30, 0x40, 0xb1,
        0x0e, // ret k, ret a->k, refused kinds
    ];
    let mut rng = Rng(0x6b65_726e_656c);
    let mut progs = Vec::new();
    while progs.len() < 400 {
        let len = 1 + rng.below(6) as usize;
        let mut p: Vec<Insn> = (0..len)
            .map(|_| {
                let code = if rng.below(20) == 0 {
                    rng.next() as u16
                } else {
                    CODES[rng.below(CODES.len() as u64) as usize]
                };
                let k = if rng.below(4) == 0 {
                    rng.next() as u32
                } else {
                    rng.below(20) as u32
                };
                insn(code, rng.below(4) as u8, rng.below(4) as u8, k)
            })
            .collect();
        for i in p.iter_mut() {
            // every return is ALLOW; no run-time division by X
            if i.code & 0x07 == 0x06 {
                i.code = 0x06;
                i.k = SECCOMP_RET_ALLOW;
            }
            if i.code & 0x07 == 0x04 && matches!(i.code & 0xf0, 0x30 | 0x90) && i.code & 0x08 != 0 {
                i.code &= !0x08;
                i.k |= 1;
            }
        }
        if rng.below(2) == 0 {
            p[len - 1] = insn(0x06, 0, 0, SECCOMP_RET_ALLOW);
        }
        progs.push(p);
    }
    let filters: Vec<_> = progs.iter().map(|p| to_kernel(p)).collect();
    let out = in_child(&filters, true, &[]);
    assert_eq!(out.code, CHILD_OK);
    let (mut accepted, mut refused) = (0, 0);
    for (p, &kernel) in progs.iter().zip(&out.results) {
        let ours = check(p);
        assert!(
            kernel == 0 || kernel == -(libc::EINVAL as i64),
            "kernel gave {kernel} for {p:?}"
        );
        assert_eq!(
            kernel == 0,
            ours.is_ok(),
            "kernel {} but our checker says {ours:?} for {p:?}",
            if kernel == 0 { "accepts" } else { "refuses" }
        );
        if kernel == 0 {
            accepted += 1;
        } else {
            refused += 1;
        }
    }
    assert!(
        accepted > 30 && refused > 30,
        "accepted {accepted}, refused {refused}"
    );
    println!("random programs: kernel and checker agree on {accepted} accepted, {refused} refused");
}
