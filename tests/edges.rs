//! The edges of the contract (issue 14): valid specifications near the
//! limits compile to exact programs, and every limit is a status.

#[path = "common/pers.rs"]
mod pers;
use pers::Pers;
use tracefilter::{compile, evaluate, Error, Objective, Options, SeccompData, Strategy};

const ARCH: u32 = 0xC000_003E;
const TRACE: u32 = 0x7ff0_0000;
const ALLOW: u32 = 0x7fff_0000;

/// `n` numbers of one personality, every `period`-th traced.
fn periodic(n: u32, period: u32) -> Pers {
    let mut p = Pers {
        arch: ARCH,
        flag: 0,
        bits: vec![0; n.div_ceil(8) as usize],
        n,
    };
    for i in (0..n).step_by(period as usize) {
        p.set(i, true);
    }
    p
}

/// The program gives every number of the personality, and the numbers
/// past it, the specified action.
fn assert_exact(p: &Pers, prog: &[tracefilter::Insn]) {
    let probes = (0..p.n).chain([p.n, p.n + 1, u32::MAX]);
    for nr in probes {
        let want = if nr >= p.n || p.traced(nr) {
            TRACE
        } else {
            ALLOW
        };
        let got = evaluate(prog, &SeccompData::new(ARCH, nr)).unwrap().action;
        assert_eq!(got, want, "nr {nr}");
    }
}

/// Bit tests over ranges of 65,536 numbers and more used to exceed the
/// prover's piece limit: valid specs answered "a library bug".
#[test]
fn wide_bit_tests_are_proven() {
    for (n, period) in [(65_541, 2), (65_542, 2), (100_000, 2), (262_168, 8)] {
        let p = periodic(n, period);
        for strategy in [Strategy::Auto, Strategy::Bits, Strategy::Jset] {
            for objective in [Objective::Speed, Objective::Size] {
                let opts = Options {
                    strategy,
                    objective,
                    ..Options::default()
                };
                let prog = compile(&[p.view()], &opts)
                    .unwrap_or_else(|e| panic!("n {n} period {period} {strategy:?}: {e}"));
                assert!(prog.insns().len() < 30, "{}", prog.insns().len());
                assert_exact(&p, prog.insns());
            }
        }
    }
}

/// The residue-class proof still finds a single wrong number in a wide
/// bit-tested range.
#[test]
fn wide_bit_test_with_one_wrong_number_is_refused() {
    // linux/filter.h: ld [k], jeq/jge/jset #k, ret #k.
    const LD: u16 = 0x20;
    const JEQ: u16 = 0x15;
    const JGE: u16 = 0x35;
    const JSET: u16 = 0x45;
    const RET: u16 = 0x06;
    use tracefilter::Insn;
    let mut p = periodic(100_000, 2);
    p.set(77_777, true); // odd, yet traced: `jset #1` gets it wrong
    let prog = [
        Insn::stmt(LD, 4),
        Insn::jump(JEQ, ARCH, 1, 0),
        Insn::stmt(RET, TRACE),
        Insn::stmt(LD, 0),
        Insn::jump(JGE, 100_000, 2, 0),
        Insn::jump(JSET, 1, 0, 1),
        Insn::stmt(RET, ALLOW),
        Insn::stmt(RET, TRACE),
    ];
    let verify = |p: &Pers| tracefilter::verify(&prog, &[p.view()], &Options::default());
    match verify(&p) {
        Err(Error::Verify(e)) => assert!(e.contains("nr 77777"), "{e}"),
        other => panic!("{other:?}"),
    }
    p.set(77_777, false);
    verify(&p).unwrap();
}

/// Sets this process's address-space limit to what it maps now plus
/// `extra` bytes.
fn limit_address_space(extra: u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmSize:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    let lim = libc::rlimit {
        rlim_cur: kib * 1024 + extra,
        rlim_max: libc::RLIM_INFINITY,
    };
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_AS, &lim) }, 0);
}

/// Run by `out_of_memory_is_a_status_not_an_abort` in a child process of
/// its own (the limit would starve the other tests).
#[test]
#[ignore = "a child of out_of_memory_is_a_status_not_an_abort"]
fn compile_under_48_mib() {
    assert!(
        std::env::var_os("TRACEFILTER_EDGES_CHILD").is_some(),
        "run by out_of_memory_is_a_status_not_an_abort, not alone"
    );
    // The biggest specs within the limits, built before the limit is set.
    let alternating = periodic(1 << 18, 2);
    // Two personalities of 2^20 numbers in runs of 8: 2^21 numbers and
    // 2^18 runs, both limits exactly.
    let blocks: Vec<Pers> = [ARCH, 0x4000_0003]
        .into_iter()
        .map(|arch| {
            let mut p = periodic(1 << 20, 1 << 20);
            p.arch = arch;
            for i in 0..(1 << 20) {
                p.set(i, i & 8 != 0);
            }
            p
        })
        .collect();
    // The same numbers in random runs of 2 to 16: about 2^18 runs with no
    // pattern a bit test could use.
    let mut x = 0x9e37_79b9u32;
    let random: Vec<Pers> = blocks
        .iter()
        .map(|b| {
            let mut p = b.clone();
            let (mut i, mut traced) = (0, false);
            while i < p.n {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                let end = (i + 2 + x % 15).min(p.n);
                for k in i..end {
                    p.set(k, traced);
                }
                (i, traced) = (end, !traced);
            }
            p
        })
        .collect();
    let past = periodic(1 << 20, 2);
    let many: Vec<Pers> = (0..64)
        .map(|i| Pers {
            arch: i,
            ..past.clone()
        })
        .collect();
    limit_address_space(48 << 20);
    // Past the limits, refused before anything the input sizes is built.
    let many: Vec<_> = many.iter().map(Pers::view).collect();
    for (name, pers) in [
        ("2^20 alternating", &[past.view()][..]),
        ("64 x 2^20 alternating", &many[..]),
    ] {
        match compile(pers, &Options::default()) {
            Err(e @ Error::Limit(_)) => println!("{name}: {e}"),
            other => panic!("{name}: {other:?}"),
        }
    }
    let blocks: Vec<_> = blocks.iter().map(Pers::view).collect();
    let random: Vec<_> = random.iter().map(Pers::view).collect();
    for (name, pers) in [
        ("2^18 alternating", &[alternating.view()][..]),
        ("2 x 2^20 in runs of 8", &blocks[..]),
        ("2 x 2^20 in random runs", &random[..]),
    ] {
        for objective in [Objective::Speed, Objective::Size] {
            let opts = Options {
                objective,
                ..Options::default()
            };
            let t = std::time::Instant::now();
            match compile(pers, &opts) {
                Ok(prog) => {
                    let stats = prog.stats(pers);
                    print!("({:.2} s) ", t.elapsed().as_secs_f64());
                    println!("{name} {objective:?}: {} instructions", stats.length);
                }
                // No pattern: too large for any program, said quickly.
                Err(e @ Error::TooLarge(_)) if name.contains("random") => {
                    println!(
                        "({:.2} s) {name} {objective:?}: {e}",
                        t.elapsed().as_secs_f64()
                    )
                }
                Err(e) => panic!("{name}: {e}"),
            }
        }
    }
    println!("child: done");
}

/// A compile in a process with 48 MiB of address space to spare returns a
/// status: it never aborts the caller. The largest specs within the
/// documented limits fit in that space.
#[test]
fn out_of_memory_is_a_status_not_an_abort() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "compile_under_48_mib",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .args(["--test-threads", "1"])
        .env("TRACEFILTER_EDGES_CHILD", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("child: done"),
        "{}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
    print!("{stdout}");
}

/// An empty personality overlaps nothing: beside another one of its arch it
/// is accepted unless it repeats that one's flag (the header's words).
#[test]
fn empty_personality_overlaps_nothing_but_its_flag_is_taken() {
    let full = periodic(300, 3);
    let empty = |flag| Pers {
        arch: ARCH,
        flag,
        bits: vec![],
        n: 0,
    };
    let (inside, same) = (empty(0x100), empty(0));
    let opts = Options::default();
    let prog = compile(&[full.view(), inside.view()], &opts).unwrap();
    assert_exact(&full, prog.insns());
    assert!(matches!(
        compile(&[full.view(), same.view()], &opts),
        Err(Error::Overlap(_))
    ));
}

/// A name that is not UTF-8 is in no table: E_UNKNOWN_NAME, as the header
/// says of a name the table lacks; E_INVALID stays for a personality
/// without a table.
#[test]
fn non_utf8_name_is_an_unknown_name() {
    use std::ffi::{c_char, c_int};
    use tracefilter::ffi::*;
    extern "C" {
        // Exported by the library (src/ffi/names.rs), declared as C sees it.
        fn tracefilter_syscall_number(
            arch: u32,
            flag: u32,
            name: *const c_char,
            nr: *mut u32,
        ) -> c_int;
    }
    let mut nr = 7u32;
    let bad = c"open\xffat";
    let s = unsafe { tracefilter_syscall_number(ARCH, 0, bad.as_ptr(), &mut nr) };
    assert_eq!(s, TRACEFILTER_E_UNKNOWN_NAME);
    let s = unsafe { tracefilter_syscall_number(1, 0, bad.as_ptr(), &mut nr) };
    assert_eq!(s, TRACEFILTER_E_INVALID);
    let s = unsafe { tracefilter_syscall_number(ARCH, 0, c"openat".as_ptr(), &mut nr) };
    assert_eq!((s, nr), (TRACEFILTER_OK, 257));
}

/// `cacheable` of a personality with no allowed syscall is vacuously 1,
/// whatever the allowed action; one allowed syscall with an action other
/// than ALLOW makes it 0.
#[test]
fn cacheable_is_vacuous_without_allowed_syscalls() {
    let all = Pers {
        bits: vec![0xff; 64],
        ..periodic(512, 1)
    };
    let mut one = all.clone();
    one.set(100, false);
    for allowed_action in [ALLOW, 0x0005_0001, 0x7ffc_0000] {
        let opts = Options {
            allowed_action,
            ..Options::default()
        };
        let s = compile(&[all.view()], &opts).unwrap().stats(&[all.view()]);
        assert_eq!(s.personalities[0].allowed, 0);
        assert!(s.personalities[0].cacheable, "{allowed_action:#x}");
        assert!(s.all_cacheable);
        let s = compile(&[one.view()], &opts).unwrap().stats(&[one.view()]);
        assert_eq!(
            s.personalities[0].cacheable,
            allowed_action == ALLOW,
            "{allowed_action:#x}"
        );
    }
}

/// A forced strategy whose program would not fit is E_TOO_LARGE while AUTO
/// finds one (the header's words); one that cannot express the set at all
/// is E_STRATEGY.
#[test]
fn forced_strategy_statuses_are_the_documented_ones() {
    let p = periodic(1 << 15, 2);
    let forced = |strategy| Options {
        strategy,
        ..Options::default()
    };
    assert!(matches!(
        compile(&[p.view()], &forced(Strategy::Search)),
        Err(Error::TooLarge(_))
    ));
    assert!(compile(&[p.view()], &Options::default()).is_ok());
    let plain = periodic(400, 400);
    assert!(matches!(
        compile(&[plain.view()], &forced(Strategy::Jset)),
        Err(Error::Strategy(_))
    ));
}
