//! The CLONE_UNTRACED guard through the emulator: clone stops exactly when
//! the low word of its flags argument has CLONE_UNTRACED, clone3 always
//! stops, every other syscall of every personality keeps the action and the
//! cacheability of the unguarded program, for every strategy.

#[path = "common/pers.rs"]
mod pers;

use pers::Pers;
/// CLONE_UNTRACED (include/uapi/linux/sched.h).
const CLONE_UNTRACED: u32 = 0x0080_0000;
use tracefilter::SyscallTable;
use tracefilter::{
    cacheable, compile, compile_guarded, evaluate, Error, Objective, Options, SeccompData, Strategy,
};

const TRACE: u32 = 0x7ff0_0000;
const ALLOW: u32 = 0x7fff_0000;

fn x86(names: &[&str]) -> Vec<Pers> {
    ["x86_64", "i386", "x32"]
        .iter()
        .map(|name| {
            let mut p = Pers::new(name);
            let t = SyscallTable::by_name(name).unwrap();
            for nr in names.iter().filter_map(|s| t.number(s)) {
                p.set(nr, true);
            }
            p
        })
        .collect()
}

/// A pseudo-random set of `n` x86_64 names (fixed seed).
fn random_names(n: usize, seed: u64) -> Vec<&'static str> {
    let t = SyscallTable::by_name("x86_64").unwrap();
    let all: Vec<&'static str> = (0..t.size()).filter_map(|i| t.name_of(i)).collect();
    let mut x = seed;
    (0..n)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            all[(x >> 33) as usize % all.len()]
        })
        .collect()
}

fn data(arch: u32, nr: u32, arg0: u64) -> SeccompData {
    let mut d = SeccompData::new(arch, nr);
    d.args[0] = arg0;
    d
}

/// Returns whether both programs were built (a forced strategy may not apply).
fn check(label: &str, sets: &[Pers], opts: &Options) -> bool {
    let views: Vec<_> = sets.iter().map(|p| p.view()).collect();
    let plain = match compile(&views, opts) {
        Ok(p) => p,
        Err(Error::Strategy(_)) | Err(Error::TooLarge(_)) => return false,
        Err(e) => panic!("{label}: {e}"),
    };
    let guarded = match compile_guarded(&views, opts, &[]) {
        Ok(p) => p,
        Err(Error::Strategy(_)) | Err(Error::TooLarge(_)) => return false,
        Err(e) => panic!("{label}: guarded: {e}"),
    };
    let (a, b) = (plain.insns(), guarded.insns());
    for p in sets {
        let t = SyscallTable::by_arch(p.arch, p.flag).unwrap();
        let clone = t.number("clone").unwrap();
        let clone3 = t.number("clone3");
        for i in 0..p.n + 8 {
            let nr = p.flag | i;
            let want = evaluate(a, &SeccompData::new(p.arch, nr)).unwrap().action;
            if i == clone && !p.traced(i) {
                for (arg, expect) in [
                    (0u64, ALLOW),
                    (CLONE_UNTRACED as u64, TRACE),
                    (!(CLONE_UNTRACED as u64), ALLOW),
                    (0xffff_ffff_0000_0000, ALLOW),
                    (CLONE_UNTRACED as u64 | 0x11 | (1 << 40), TRACE),
                ] {
                    let got = evaluate(b, &data(p.arch, nr, arg)).unwrap().action;
                    assert_eq!(got, expect, "{label}: clone {nr:#x} flags {arg:#x}");
                }
                assert!(!cacheable(b, p.arch, nr), "{label}: clone cached");
            } else if Some(i) == clone3 {
                assert_eq!(
                    evaluate(b, &SeccompData::new(p.arch, nr)).unwrap().action,
                    TRACE,
                    "{label}: clone3"
                );
            } else {
                for arg in [0u64, CLONE_UNTRACED as u64, u64::MAX] {
                    assert_eq!(
                        evaluate(b, &data(p.arch, nr, arg)).unwrap().action,
                        want,
                        "{label}: nr {nr:#x} of {:#x}",
                        p.arch
                    );
                }
                if p.flag == 0 {
                    assert_eq!(
                        cacheable(b, p.arch, nr),
                        cacheable(a, p.arch, nr),
                        "{label}: cacheability of {nr:#x} of {:#x}",
                        p.arch
                    );
                }
            }
        }
    }
    for arch in [0u32, 0xC000_00B7, 0x4000_003E] {
        assert_eq!(
            evaluate(b, &SeccompData::new(arch, 56)).unwrap().action,
            evaluate(a, &SeccompData::new(arch, 56)).unwrap().action,
            "{label}: unknown arch"
        );
    }
    // The figures count clone and clone3 out of the allowed syscalls; under
    // SPEED every remaining one is cacheable.
    let guarded_views = {
        let mut g = sets.to_vec();
        for p in g.iter_mut() {
            let t = SyscallTable::by_arch(p.arch, p.flag).unwrap();
            for name in ["clone", "clone3"] {
                if let Some(nr) = t.number(name).filter(|&n| n < p.n) {
                    p.set(nr, true);
                }
            }
        }
        g
    };
    let gv: Vec<_> = guarded_views.iter().map(|p| p.view()).collect();
    let sa = plain.stats(&views);
    let sb = guarded.stats(&gv);
    if opts.objective == Objective::Speed && sa.all_cacheable {
        assert!(sb.all_cacheable, "{label}: guarded program not cacheable");
    }
    true
}

#[test]
fn guard_stops_exactly_untraced_clones_and_clone3() {
    let sets: Vec<(String, Vec<Pers>)> = vec![
        ("openat".into(), x86(&["openat"])),
        (
            "execve,clone".into(),
            x86(&["execve", "clone", "fork", "vfork"]),
        ),
        ("clone3".into(), x86(&["clone3"])),
        ("read,write".into(), x86(&["read", "write"])),
        ("random-60".into(), x86(&random_names(60, 7))),
        ("random-200".into(), x86(&random_names(200, 11))),
    ];
    let mut checked = 0;
    for (name, set) in &sets {
        for objective in [Objective::Speed, Objective::Size] {
            for strategy in [
                Strategy::Auto,
                Strategy::Tree,
                Strategy::Search,
                Strategy::Linear,
                Strategy::Jset,
                Strategy::Bits,
            ] {
                let opts = Options {
                    strategy,
                    objective,
                    ..Options::default()
                };
                checked += usize::from(check(
                    &format!("{name} {strategy:?} {objective:?}"),
                    set,
                    &opts,
                ));
            }
        }
    }
    // Every strategy applies to these small sets except bits under
    // objectives where it cannot express the spec: most pairs are checked.
    assert!(checked >= sets.len() * 8, "only {checked} programs checked");
    eprintln!("{checked} guarded programs checked");
}

#[test]
fn guard_refuses_what_it_cannot_guard() {
    let p = Pers::new("x86_64");
    let opts = Options {
        traced_action: 0x0003_0000, // SECCOMP_RET_TRAP: no tracer stop
        ..Options::default()
    };
    assert!(matches!(
        compile_guarded(&[p.view()], &opts, &[]),
        Err(Error::Invalid(_))
    ));
    let mut unknown = p.clone();
    unknown.arch = 0x4000_1234;
    assert!(matches!(
        compile_guarded(&[unknown.view()], &Options::default(), &[]),
        Err(Error::Invalid(_))
    ));
}

#[test]
fn guard_off_leaves_programs_alone() {
    let sets = x86(&random_names(80, 3));
    let views: Vec<_> = sets.iter().map(|p| p.view()).collect();
    let a = compile(&views, &Options::default()).unwrap();
    let b = compile(&views, &Options::default()).unwrap();
    assert_eq!(a.insns(), b.insns());
    let g = compile_guarded(&views, &Options::default(), &[]).unwrap();
    assert_ne!(a.insns(), g.insns());
}
