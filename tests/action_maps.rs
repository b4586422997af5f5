//! Per-syscall action maps: random maps of 1 to 6 distinct values (random
//! data bits) over x86_64, x32 (nr_flag) and i386, under every strategy
//! and both objectives, are proven and evaluated equal to the map; a bitmap
//! given as a map compiles to the same program; and on the real kernel a
//! tracer sees each traced number's data bits through PTRACE_GETEVENTMSG.

#[path = "common/skip.rs"]
mod skip;

use proptest::prelude::*;
use tracefilter::{
    cacheable, compile, compile_actions, verify, ActionMap, Error, Filter, Objective, Options,
    Personality, SeccompData, Strategy as Strat,
};

const X86_64: u32 = 0xC000_003E;
const I386: u32 = 0x4000_0003;
const X32_BIT: u32 = 0x4000_0000;
const KILL_PROCESS: u32 = 0x8000_0000;
const KILL_THREAD: u32 = 0;
const TRAP: u32 = 0x0003_0000;
const ERRNO: u32 = 0x0005_0000;
const USER_NOTIF: u32 = 0x7fc0_0000;
const TRACE: u32 = 0x7ff0_0000;
const LOG: u32 = 0x7ffc_0000;
const ALLOW: u32 = 0x7fff_0000;

/// One value: any action the kernel knows, random data bits where they mean
/// something; ALLOW and TRACE are the common ones.
fn value() -> impl Strategy<Value = u32> {
    prop_oneof![
        4 => Just(ALLOW),
        4 => any::<u16>().prop_map(|d| TRACE | d as u32),
        2 => any::<u16>().prop_map(|d| ERRNO | d as u32),
        1 => any::<u16>().prop_map(|d| TRAP | d as u32),
        1 => prop::sample::select(vec![KILL_PROCESS, KILL_THREAD, USER_NOTIF, LOG]),
    ]
}

/// `n` numbers drawn from `pool` in runs: long runs, single numbers, or
/// blocks where every number differs.
fn actions(pool: Vec<u32>, max: u32) -> impl Strategy<Value = Vec<u32>> {
    let k = pool.len();
    proptest::collection::vec((0..k, prop_oneof![1u32..3, 1u32..40, Just(200u32)]), 0..60).prop_map(
        move |runs| {
            let mut v = Vec::new();
            for (i, len) in runs {
                v.extend(std::iter::repeat_n(pool[i], len as usize));
            }
            v.truncate(max as usize);
            v
        },
    )
}

#[derive(Clone, Debug)]
struct Map {
    arch: u32,
    flag: u32,
    actions: Vec<u32>,
}

impl Map {
    fn view(&self) -> ActionMap<'_> {
        ActionMap {
            audit_arch: self.arch,
            nr_flag: self.flag,
            actions: &self.actions,
        }
    }
}

/// x86_64 with optional x32 and i386 maps, in a random order, over 1 to 6
/// distinct values; and the options (unknown actions from the same kind
/// of values).
fn spec() -> impl Strategy<Value = (Vec<Map>, Options)> {
    proptest::collection::hash_set(value(), 1..=6)
        .prop_flat_map(|pool| {
            let pool: Vec<u32> = pool.into_iter().collect();
            (
                actions(pool.clone(), 600),
                proptest::option::of(actions(pool.clone(), 600)),
                proptest::option::of(actions(pool, 500)),
                any::<prop::sample::Index>(),
                value(),
                value(),
                prop::sample::select(vec![Objective::Speed, Objective::Size]),
            )
        })
        .prop_map(
            |(x64, x32, i386, rot, unknown_nr, unknown_arch, objective)| {
                let mut maps = vec![Map {
                    arch: X86_64,
                    flag: 0,
                    actions: x64,
                }];
                if let Some(a) = x32 {
                    maps.push(Map {
                        arch: X86_64,
                        flag: X32_BIT,
                        actions: a,
                    });
                }
                if let Some(a) = i386 {
                    maps.push(Map {
                        arch: I386,
                        flag: 0,
                        actions: a,
                    });
                }
                let k = rot.index(maps.len());
                maps.rotate_left(k);
                let opts = Options {
                    unknown_nr_action: unknown_nr,
                    unknown_arch_action: unknown_arch,
                    objective,
                    ..Options::default()
                };
                (maps, opts)
            },
        )
}

/// The map's meaning, straight from the arrays.
fn reference(maps: &[Map], opts: &Options, arch: u32, nr: u32) -> u32 {
    if !maps.iter().any(|m| m.arch == arch) {
        return opts.unknown_arch_action;
    }
    for m in maps.iter().filter(|m| m.arch == arch) {
        if nr >= m.flag && ((nr - m.flag) as usize) < m.actions.len() {
            return m.actions[(nr - m.flag) as usize];
        }
    }
    opts.unknown_nr_action
}

/// Every number of every map and a few past them, on every arch; numbers
/// that are cacheable must be exactly ALLOW.
fn assert_exact(maps: &[Map], opts: &Options, prog: &tracefilter::Program) {
    let filter = Filter::new(prog.insns()).expect("the kernel's checker accepts it");
    let mut nrs = vec![0, X32_BIT - 1, X32_BIT + 700, u32::MAX];
    for m in maps {
        nrs.extend((0..=m.actions.len() as u32 + 2).map(|i| m.flag | i));
    }
    for arch in [X86_64, I386, 0xC000_00B7] {
        for &nr in &nrs {
            let want = reference(maps, opts, arch, nr);
            let got = filter.evaluate(&SeccompData::new(arch, nr)).action;
            assert_eq!(got, want, "arch {arch:#x} nr {nr:#x}");
            assert!(!cacheable(prog.insns(), arch, nr) || want == ALLOW);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn every_strategy_returns_every_value_exactly((maps, base) in spec()) {
        let views: Vec<ActionMap> = maps.iter().map(Map::view).collect();
        // Automatic selection always finds a program for maps this size, and
        // under SPEED every allowed native number is cached.
        let prog = compile_actions(&views, &base).expect("auto compiles");
        assert_exact(&maps, &base, &prog);
        let stats = prog.stats_actions(&views);
        if base.objective == Objective::Speed {
            prop_assert!(stats.all_cacheable, "{stats:?}");
        }
        for (m, s) in maps.iter().zip(&stats.personalities) {
            prop_assert_eq!(s.allowed as usize, m.actions.iter().filter(|&&a| a == ALLOW).count());
        }
        for strategy in Strat::ALL {
            let opts = Options { strategy, ..base };
            match compile_actions(&views, &opts) {
                Ok(prog) => {
                    prop_assert_eq!(prog.strategy(), strategy);
                    assert_exact(&maps, &opts, &prog);
                }
                // bits and jset when no block is worth their test
                Err(Error::Strategy(_)) => {
                    prop_assert!(matches!(strategy, Strat::Bits | Strat::Jset))
                }
                Err(Error::TooLarge(_)) => {}
                Err(e) => panic!("{strategy:?}: {e}"),
            }
        }
    }

    #[test]
    fn a_bitmap_as_a_map_is_the_same_program(
        bytes in proptest::collection::vec(prop_oneof![3 => Just(0u8), 1 => any::<u8>()], 0..70),
        objective in prop::sample::select(vec![Objective::Speed, Objective::Size]),
    ) {
        let n = bytes.len() as u32 * 8;
        let p = Personality { audit_arch: X86_64, nr_flag: 0, traced: &bytes, nsyscalls: n };
        let actions: Vec<u32> =
            (0..n).map(|i| if p.is_traced(i) { TRACE } else { ALLOW }).collect();
        let m = ActionMap { audit_arch: X86_64, nr_flag: 0, actions: &actions };
        let opts = Options { objective, ..Options::default() };
        let a = compile(&[p], &opts).unwrap();
        let b = compile_actions(&[m], &opts).unwrap();
        prop_assert_eq!(a.insns(), b.insns());
        prop_assert_eq!(a.stats(&[p]), b.stats_actions(&[m]));
        // The bitmap proof accepts the map's program, and vice versa.
        prop_assert!(verify(b.insns(), &[p], &opts).is_ok());
    }
}

/// The real kernel: a traced child runs harmless syscalls under a random
/// map compiled by each strategy; the tracer sees a seccomp stop with the
/// map's data bits (PTRACE_GETEVENTMSG) exactly for the TRACE numbers, and
/// the child sees ERRNO values as its errno.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod kernel {
    use super::*;

    /// Syscalls that need no arguments and never fail with ENOSYS by
    /// themselves (x86_64 numbers).
    const PROBES: [u32; 10] = [
        24,  // sched_yield
        39,  // getpid
        102, // getuid
        104, // getgid
        107, // geteuid
        108, // getegid
        110, // getppid
        111, // getpgrp
        186, // gettid
        112, // setsid (fails with EPERM or succeeds)
    ];

    fn errno() -> i32 {
        std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
    }

    /// Whether a tracer and a seccomp filter work here.
    fn unavailable() -> Option<String> {
        let r = unsafe { libc::prctl(libc::PR_SET_SECCOMP, libc::SECCOMP_MODE_FILTER, 0, 0, 0) };
        if r == 0 || errno() != libc::EFAULT {
            return Some("seccomp filter mode is not available".into());
        }
        None
    }

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u32 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 >> 16) as u32
        }
    }

    /// The value of each probe: TRACE, ERRNO or TRAP-free data, ALLOW, LOG.
    fn random_map(rng: &mut Rng) -> Vec<u32> {
        let mut actions = vec![ALLOW; 462];
        for &nr in &PROBES {
            actions[nr as usize] = match rng.next() % 5 {
                0 => ALLOW,
                1 => LOG,
                2 => ERRNO | (1 + rng.next() % 4095),
                _ => TRACE | (rng.next() & 0xffff),
            };
        }
        actions
    }

    /// Runs the probes in a traced child under `prog`; returns the
    /// (number, event message) of every seccomp stop and the child's exit
    /// code (0, or 1 + the index of a probe whose result was wrong; 90: the
    /// filter was refused).
    fn run_traced(prog: &tracefilter::Program, actions: &[u32]) -> (Vec<(u64, u64)>, i32) {
        let fprog = libc::sock_fprog {
            len: prog.insns().len() as u16,
            filter: prog.insns().as_ptr() as *mut libc::sock_filter,
        };
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork");
        if pid == 0 {
            // Only raw syscalls from here: nothing allocates or locks.
            unsafe {
                libc::alarm(20);
                libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0);
                libc::kill(libc::getpid(), libc::SIGSTOP);
                if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
                    || libc::syscall(libc::SYS_seccomp, 1, 0, &fprog as *const _) != 0
                {
                    libc::_exit(90);
                }
                for (i, &nr) in PROBES.iter().enumerate() {
                    let r = libc::syscall(nr as libc::c_long);
                    let e = *libc::__errno_location();
                    let v = actions[nr as usize];
                    let ok = if v & 0xffff_0000 == ERRNO {
                        r == -1 && e as u32 == v & 0xffff
                    } else {
                        r != -1 || e != libc::ENOSYS
                    };
                    if !ok {
                        libc::_exit(1 + i as i32);
                    }
                }
                libc::_exit(0);
            }
        }
        let mut stops = Vec::new();
        let mut first = true;
        loop {
            let mut st = 0;
            assert_eq!(unsafe { libc::waitpid(pid, &mut st, 0) }, pid);
            if libc::WIFEXITED(st) {
                return (stops, libc::WEXITSTATUS(st));
            }
            if libc::WIFSIGNALED(st) {
                return (stops, 1000 + libc::WTERMSIG(st));
            }
            let sig = libc::WSTOPSIG(st);
            let event = (st >> 16) & 0xff;
            let mut inject = 0;
            if first && sig == libc::SIGSTOP {
                first = false;
                let opts = libc::PTRACE_O_TRACESECCOMP | libc::PTRACE_O_EXITKILL;
                assert_eq!(
                    unsafe { libc::ptrace(libc::PTRACE_SETOPTIONS, pid, 0, opts) },
                    0
                );
            } else if sig == libc::SIGTRAP && event == libc::PTRACE_EVENT_SECCOMP {
                let mut msg: libc::c_ulong = 0;
                assert_eq!(
                    unsafe { libc::ptrace(libc::PTRACE_GETEVENTMSG, pid, 0, &mut msg) },
                    0
                );
                // orig_rax in struct user_regs_struct (sys/user.h).
                let off = 15 * std::mem::size_of::<u64>();
                let nr = unsafe { libc::ptrace(libc::PTRACE_PEEKUSER, pid, off, 0) };
                stops.push((nr as u64, msg as u64));
            } else if sig != libc::SIGTRAP {
                inject = sig;
            }
            unsafe { libc::ptrace(libc::PTRACE_CONT, pid, 0, inject) };
        }
    }

    #[test]
    fn the_kernel_returns_the_data_bits_to_the_tracer() {
        if let Some(why) = unavailable() {
            skip::skip(&why);
            return;
        }
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut runs = 0;
        for round in 0..6 {
            let actions = random_map(&mut rng);
            let maps = [ActionMap {
                audit_arch: X86_64,
                nr_flag: 0,
                actions: &actions,
            }];
            let want: Vec<(u64, u64)> = PROBES
                .iter()
                .filter(|&&nr| actions[nr as usize] & 0xffff_0000 == TRACE)
                .map(|&nr| (nr as u64, (actions[nr as usize] & 0xffff) as u64))
                .collect();
            for strategy in Strat::ALL.into_iter().chain([Strat::Auto]) {
                for objective in [Objective::Speed, Objective::Size] {
                    let opts = Options {
                        strategy,
                        objective,
                        unknown_arch_action: KILL_PROCESS,
                        ..Options::default()
                    };
                    let prog = match compile_actions(&maps, &opts) {
                        Ok(p) => p,
                        Err(Error::Strategy(_)) => continue,
                        Err(e) => panic!("{strategy:?}: {e}"),
                    };
                    let (stops, code) = run_traced(&prog, &actions);
                    assert_eq!(code, 0, "round {round} {strategy:?} {objective:?}: child");
                    assert_eq!(stops, want, "round {round} {strategy:?} {objective:?}");
                    runs += 1;
                }
            }
        }
        assert!(runs >= 6 * 6, "{runs} programs run");
        println!("{runs} programs run on the kernel under a tracer");
    }
}
