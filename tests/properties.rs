//! Property tests: every program the compiler returns is exactly its spec,
//! and the emulator and disassembler survive any instruction array.

#[path = "common/pers.rs"]
mod pers;
use pers::Pers;
use proptest::prelude::*;
use tracefilter::{
    cacheable, compile, disassemble, Error, Filter, Insn, Objective, Options, Personality,
    SeccompData,
};

const X86_64: u32 = 0xC000_003E;
const I386: u32 = 0x4000_0003;
const X32_BIT: u32 = 0x4000_0000;
const TRACE: u32 = 0x7ff0_0000;
const ALLOW: u32 = 0x7fff_0000;
const ACTIONS: [u32; 6] = [
    TRACE,
    ALLOW,
    0x8000_0000,
    0x0005_0026,
    0x7ffc_0000,
    0x0003_0001,
];

/// A bitmap of `n` bits: empty, full, dense, or hundreds of scattered
/// numbers (which makes trees deep enough for jumps beyond 255).
fn bitmap(n: u32) -> impl Strategy<Value = Vec<u8>> {
    let bytes = n.div_ceil(8) as usize;
    prop_oneof![
        Just(vec![0u8; bytes]),
        Just(vec![0xffu8; bytes]),
        proptest::collection::vec(any::<u8>(), bytes),
        proptest::collection::vec(prop_oneof![9 => Just(0u8), 1 => any::<u8>()], bytes),
        proptest::collection::vec(
            prop_oneof![1 => Just(0u8), 9 => Just(0xffu8), 1 => any::<u8>()],
            bytes
        ),
    ]
}

fn personality(arch: u32, flag: u32, max: u32) -> impl Strategy<Value = Pers> {
    (0..=max).prop_flat_map(move |n| {
        bitmap(n).prop_map(move |bits| Pers {
            arch,
            flag,
            bits,
            n,
        })
    })
}

/// x86_64, optionally with i386 and x32, in a random order.
fn x86_trio() -> impl Strategy<Value = Vec<Pers>> {
    (
        personality(X86_64, 0, 600),
        proptest::option::of(personality(I386, 0, 500)),
        proptest::option::of(personality(X86_64, X32_BIT, 600)),
        any::<prop::sample::Index>(),
    )
        .prop_map(|(a, b, c, rot)| {
            let mut v: Vec<Pers> = [Some(a), b, c].into_iter().flatten().collect();
            let k = rot.index(v.len());
            v.rotate_left(k);
            v
        })
}

fn options() -> impl Strategy<Value = Options> {
    let action = prop::sample::select(ACTIONS.to_vec());
    let objective = prop::sample::select(vec![Objective::Speed, Objective::Size]);
    (
        action.clone(),
        action.clone(),
        action.clone(),
        action,
        objective,
    )
        .prop_map(|(t, a, u, o, objective)| Options {
            traced_action: t,
            allowed_action: a,
            unknown_nr_action: u,
            unknown_arch_action: o,
            objective,
            ..Options::default()
        })
}

/// The spec's meaning, computed straight from the bitmaps.
fn reference(pers: &[Pers], opts: &Options, arch: u32, nr: u32) -> u32 {
    if !pers.iter().any(|p| p.arch == arch) {
        return opts.unknown_arch_action;
    }
    for p in pers.iter().filter(|p| p.arch == arch) {
        let i = nr.wrapping_sub(p.flag);
        if nr >= p.flag && i < p.n {
            return if p.traced(i) {
                opts.traced_action
            } else {
                opts.allowed_action
            };
        }
    }
    opts.unknown_nr_action
}

/// Numbers worth probing: both sides of every bit change and of every
/// personality's ends, plus the extremes.
fn probes(pers: &[Pers]) -> Vec<u32> {
    let mut v = vec![0, 1, X32_BIT - 1, X32_BIT, u32::MAX - 1, u32::MAX];
    for p in pers {
        for i in 0..=p.n {
            let changes = i == 0 || i == p.n || p.traced(i) != p.traced(i - 1);
            if changes {
                let nr = p.flag | i;
                v.extend([nr.wrapping_sub(1), nr, nr.wrapping_add(1)]);
            }
        }
    }
    v
}

fn assert_exact(pers: &[Pers], opts: &Options, prog: &[Insn]) {
    let filter = Filter::new(prog).expect("the kernel's checker accepts it");
    let archs = [X86_64, I386, 0, 0x4000_0028, u32::MAX];
    for nr in probes(pers) {
        for arch in archs {
            let want = reference(pers, opts, arch, nr);
            let got = filter.evaluate(&SeccompData::new(arch, nr));
            assert_eq!(got.action, want, "arch {arch:#x} nr {nr:#x}");
            assert!(!cacheable(prog, arch, nr) || want == ALLOW);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn compiled_programs_are_exact(pers in x86_trio(), opts in options()) {
        let views: Vec<Personality> = pers.iter().map(Pers::view).collect();
        let prog = compile(&views, &opts).expect("a spec of this size always fits");
        assert_exact(&pers, &opts, prog.insns());
    }

    #[test]
    fn every_strategy_alone_is_exact(pers in x86_trio(), base in options()) {
        let views: Vec<Personality> = pers.iter().map(Pers::view).collect();
        for s in tracefilter::Strategy::ALL {
            let opts = Options { strategy: s, ..base };
            match compile(&views, &opts) {
                Ok(prog) => assert_exact(&pers, &opts, prog.insns()),
                Err(Error::Strategy(_)) | Err(Error::TooLarge(_)) => {}
                Err(e) => panic!("{s:?}: {e}"),
            }
        }
    }

    #[test]
    fn default_program_is_cacheable_for_allowed_native_numbers(pers in x86_trio()) {
        let views: Vec<Personality> = pers.iter().map(Pers::view).collect();
        let prog = compile(&views, &Options::default()).unwrap();
        for p in pers.iter().filter(|p| p.flag == 0) {
            for i in (0..p.n).filter(|&i| !p.traced(i)) {
                assert!(cacheable(prog.insns(), p.arch, i), "arch {:#x} nr {i}", p.arch);
            }
        }
    }

    #[test]
    fn any_instruction_array_is_checked_run_and_listed_safely(
        raw in proptest::collection::vec((any::<u16>(), any::<u8>(), any::<u8>(), any::<u32>()), 0..80),
        pick in proptest::collection::vec(0usize..24, 0..80),
        nr in any::<u32>(),
        arch in any::<u32>(),
    ) {
        // Half the opcodes from the set seccomp accepts, so that some
        // programs pass the checker and get run.
        const CODES: [u16; 24] = [
            0x20, 0x06, 0x16, 0x15, 0x25, 0x35, 0x45, 0x05, 0x1d, 0x54, 0x04, 0x14,
            0x24, 0x34, 0x64, 0x74, 0x84, 0x07, 0x87, 0x00, 0x01, 0x60, 0x02, 0x61,
        ];
        let prog: Vec<Insn> = raw
            .iter()
            .enumerate()
            .map(|(i, &(code, jt, jf, k))| {
                let code = match pick.get(i) { Some(&p) if i % 2 == 0 => CODES[p], _ => code };
                let k = if code == 0x20 { k % 68 } else { k };
                Insn { code, jt: jt % 8, jf: jf % 8, k }
            })
            .collect();
        let listing = disassemble(&prog);
        prop_assert!(listing.lines().count() >= prog.len());
        match Filter::new(&prog) {
            Ok(filter) => {
                let r = filter.evaluate(&SeccompData::new(arch, nr));
                prop_assert!(r.executed as usize <= prog.len());
                if cacheable(&prog, arch, nr) {
                    prop_assert_eq!(r.action, ALLOW);
                }
                let (r2, cached) = filter.evaluate_cached(&SeccompData::new(arch, nr));
                prop_assert_eq!(r2, r);
                prop_assert_eq!(cached, cacheable(&prog, arch, nr));
                prop_assert!(!listing.contains("invalid program"));
            }
            Err(_) => prop_assert!(listing.contains("; invalid program:")),
        }
    }
}

#[test]
fn long_jumps_are_exercised() {
    // Half the numbers traced at random on all three personalities: about
    // 800 intervals without a bit pattern a `jset` could exploit, so the
    // program spans far more than 255 instructions.
    let mut x = 0x9e37_79b9u32;
    let mut mk = |arch, flag, n: u32| Pers {
        arch,
        flag,
        bits: (0..n.div_ceil(8))
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect(),
        n,
    };
    let pers = vec![
        mk(X86_64, 0, 600),
        mk(I386, 0, 500),
        mk(X86_64, X32_BIT, 500),
    ];
    let views: Vec<Personality> = pers.iter().map(Pers::view).collect();
    let prog = compile(&views, &Options::default()).unwrap();
    assert!(prog.insns().len() > 512, "{}", prog.insns().len());
    assert_exact(&pers, &Options::default(), prog.insns());
    // Each strategy alone, where it fits.
    for s in tracefilter::Strategy::ALL {
        let opts = Options {
            strategy: s,
            ..Options::default()
        };
        match compile(&views, &opts) {
            Ok(prog) => assert_exact(&pers, &opts, prog.insns()),
            Err(Error::Strategy(_)) | Err(Error::TooLarge(_)) => {}
            Err(e) => panic!("{s:?}: {e}"),
        }
    }
}

#[test]
fn programs_near_the_size_limit_are_exact_for_every_strategy() {
    // Scattered numbers with a pseudo-random pattern over a large table:
    // comparison strategies land near 4096 instructions or over it.
    let mut x = 0x9e37_79b9u32;
    let bits: Vec<u8> = (0..1100)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x & 0x11) as u8
        })
        .collect();
    let pers = vec![Pers {
        arch: X86_64,
        flag: 0,
        bits,
        n: 8800,
    }];
    let views: Vec<Personality> = pers.iter().map(Pers::view).collect();
    let mut lens = Vec::new();
    for s in tracefilter::Strategy::ALL {
        let opts = Options {
            strategy: s,
            ..Options::default()
        };
        match compile(&views, &opts) {
            Ok(prog) => {
                lens.push((s, prog.insns().len()));
                assert_exact(&pers, &opts, prog.insns());
            }
            Err(Error::Strategy(_)) | Err(Error::TooLarge(_)) => lens.push((s, 0)),
            Err(e) => panic!("{s:?}: {e}"),
        }
    }
    assert!(
        lens.iter().any(|&(_, n)| n > 2000),
        "no program came near the limit: {lens:?}"
    );
}

#[test]
fn full_and_empty_sets() {
    for (bits, n) in [
        (vec![], 0u32),
        (vec![0u8; 57], 451),
        (vec![0xff; 57], 451),
        (vec![0xff; 1], 3),
    ] {
        let pers = vec![Pers {
            arch: X86_64,
            flag: 0,
            bits,
            n,
        }];
        let views: Vec<Personality> = pers.iter().map(Pers::view).collect();
        let prog = compile(&views, &Options::default()).unwrap();
        assert_exact(&pers, &Options::default(), prog.insns());
    }
}
