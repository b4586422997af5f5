//! The optimizer's promises: SPEED programs are kernel-cacheable, SIZE
//! programs are the shortest any strategy makes, weights shape the tree,
//! forced strategies work or say why not, and the C ABI carries it all.

#[path = "common/peers.rs"]
mod peers;

use peers::*;
#[path = "common/skip.rs"]
mod skip;
use tracefilter::ffi::*;
use tracefilter::SyscallTable;
use tracefilter::{
    cacheable, compile, compile_weighted, evaluate, Error, Filter, Insn, Objective, Options,
    SeccompData, Strategy,
};

/// Sets that need no strace: small, file-like, and nearly everything.
fn synthetic() -> Vec<(String, X86Sets)> {
    let file = [
        "open",
        "openat",
        "openat2",
        "creat",
        "stat",
        "lstat",
        "newfstatat",
        "statx",
        "access",
        "faccessat",
        "faccessat2",
        "chdir",
        "chmod",
        "fchmodat",
        "chown",
        "lchown",
        "fchownat",
        "link",
        "linkat",
        "unlink",
        "unlinkat",
        "symlink",
        "symlinkat",
        "readlink",
        "readlinkat",
        "rename",
        "renameat",
        "renameat2",
        "mkdir",
        "mkdirat",
        "rmdir",
        "mknod",
        "mknodat",
        "truncate",
        "utime",
        "utimes",
        "utimensat",
        "futimesat",
        "execve",
        "execveat",
        "statfs",
        "getxattr",
        "setxattr",
        "listxattr",
        "removexattr",
        "lgetxattr",
        "lsetxattr",
        "chroot",
        "mount",
        "umount2",
        "pivot_root",
        "swapon",
        "swapoff",
        "acct",
        "quotactl",
        "name_to_handle_at",
    ];
    let every: Vec<&str> = {
        let t = SyscallTable::by_name("x86_64").unwrap();
        (0..t.size())
            .filter_map(|i| t.name_of(i))
            .filter(|n| *n != "write")
            .collect()
    };
    vec![
        ("openat".into(), X86Sets::named(&["openat"])),
        ("read,write".into(), X86Sets::named(&["read", "write"])),
        ("file-like".into(), X86Sets::named(&file)),
        ("!write".into(), X86Sets::named(&every)),
    ]
}

/// Synthetic sets, and strace's own bitmaps for the corpus when strace and
/// the corpus are here (else a printed SKIP for that part).
fn all_sets() -> Vec<(String, X86Sets)> {
    let mut v = synthetic();
    match corpus().and_then(|c| strace_available().map(|_| c)) {
        Ok(c) => {
            for set in c {
                let prog = strace_program(&set).expect("strace dumps its program");
                v.push((set, X86Sets::from_program(&prog)));
            }
        }
        Err(e) => skip::skip(&format!("corpus sets from strace: {e}")),
    }
    v
}

fn opts(strategy: Strategy, objective: Objective) -> Options {
    Options {
        strategy,
        objective,
        ..Options::default()
    }
}

#[test]
fn speed_programs_are_cacheable_on_every_set() {
    for (name, sets) in all_sets() {
        let prog = compile(&sets.views(), &Options::default()).unwrap();
        for p in sets.views().iter().filter(|p| p.nr_flag == 0) {
            for i in (0..p.nsyscalls).filter(|&i| !p.is_traced(i)) {
                assert!(
                    cacheable(prog.insns(), p.audit_arch, i),
                    "{name}: arch {:#x} nr {i} not cacheable ({:?})",
                    p.audit_arch,
                    prog.strategy()
                );
            }
        }
    }
}

#[test]
fn size_is_never_longer_than_any_strategy() {
    for (name, sets) in all_sets() {
        let views = sets.views();
        let size = compile(&views, &opts(Strategy::Auto, Objective::Size)).unwrap();
        let speed = compile(&views, &Options::default()).unwrap();
        assert!(size.insns().len() <= speed.insns().len(), "{name}");
        for s in Strategy::ALL {
            match compile(&views, &opts(s, Objective::Size)) {
                Ok(p) => assert!(
                    size.insns().len() <= p.insns().len(),
                    "{name}: SIZE gave {} ({:?}), {s:?} gives {}",
                    size.insns().len(),
                    size.strategy(),
                    p.insns().len()
                ),
                Err(Error::Strategy(_)) | Err(Error::TooLarge(_)) => {}
                Err(e) => panic!("{name}: {s:?}: {e}"),
            }
        }
    }
}

/// Weighted mean of executed instructions over the allowed syscalls.
fn weighted_mean(prog: &[Insn], sets: &X86Sets, w: &[Vec<f64>]) -> f64 {
    let prog = Filter::new(prog).expect("a compiled program");
    let (mut num, mut den) = (0.0, 0.0);
    for (p, w) in sets.views().iter().zip(w) {
        for i in (0..p.nsyscalls).filter(|&i| !p.is_traced(i)) {
            let r = prog.evaluate(&SeccompData::new(p.audit_arch, p.nr_flag | i));
            num += w[i as usize] * r.executed as f64;
            den += w[i as usize];
        }
    }
    num / den
}

/// A skewed profile: a few syscalls take most of the weight.
fn profile(sets: &X86Sets, seed: u64) -> Vec<Vec<f64>> {
    let mut x = seed;
    sets.pers
        .iter()
        .map(|(_, _, _, n)| {
            (0..*n)
                .map(|_| {
                    x = x
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    let r = (x >> 33) as f64 / (1u64 << 31) as f64;
                    if r < 0.05 {
                        1000.0 * r
                    } else {
                        r
                    }
                })
                .collect()
        })
        .collect()
}

#[test]
fn weighted_tree_beats_the_balanced_search_under_the_same_weights() {
    for (name, sets) in all_sets() {
        for seed in 1..4 {
            let w = profile(&sets, seed);
            let wr: Vec<Option<&[f64]>> = w.iter().map(|v| Some(v.as_slice())).collect();
            let views = sets.views();
            let tree =
                compile_weighted(&views, &opts(Strategy::Tree, Objective::Speed), &wr).unwrap();
            let search =
                compile_weighted(&views, &opts(Strategy::Search, Objective::Speed), &wr).unwrap();
            let (t, s) = (
                weighted_mean(tree.insns(), &sets, &w),
                weighted_mean(search.insns(), &sets, &w),
            );
            assert!(
                t <= s + 1e-9,
                "{name} seed {seed}: tree {t:.3} > search {s:.3}"
            );
            let auto = compile_weighted(&views, &Options::default(), &wr).unwrap();
            let a = weighted_mean(auto.insns(), &sets, &w);
            assert!(
                a <= t + 1e-9,
                "{name} seed {seed}: auto {a:.3} > tree {t:.3}"
            );
        }
    }
}

#[test]
fn a_heavy_syscall_gets_a_shorter_path() {
    let sets = synthetic().remove(2).1; // file-like: a deep tree
    let views = sets.views();
    let uniform = compile(&views, &Options::default()).unwrap();
    // Find the allowed x86_64 syscall the uniform program spends most on.
    let p = views[0];
    let cost = |prog: &[Insn], nr: u32| {
        evaluate(prog, &SeccompData::new(X86_64, nr))
            .unwrap()
            .executed
    };
    let heavy = (0..p.nsyscalls)
        .filter(|&i| !p.is_traced(i))
        .max_by_key(|&i| cost(uniform.insns(), i))
        .unwrap();
    let mut w: Vec<Vec<f64>> = sets.pers.iter().map(|q| vec![1.0; q.3 as usize]).collect();
    w[0][heavy as usize] = 5000.0;
    let wr: Vec<Option<&[f64]>> = w.iter().map(|v| Some(v.as_slice())).collect();
    let weighted = compile_weighted(&views, &Options::default(), &wr).unwrap();
    assert!(
        cost(weighted.insns(), heavy) < cost(uniform.insns(), heavy),
        "nr {heavy}: {} vs {}",
        cost(weighted.insns(), heavy),
        cost(uniform.insns(), heavy)
    );
    assert!(
        weighted_mean(weighted.insns(), &sets, &w) <= weighted_mean(uniform.insns(), &sets, &w),
        "the weighted mean rose"
    );
}

#[test]
fn heavier_arch_is_tested_first() {
    let sets = X86Sets::named(&["openat"]);
    let views = sets.views();
    // i386 carries all the weight: its arch test comes first.
    let w: Vec<Vec<f64>> = sets
        .pers
        .iter()
        .map(|q| vec![if q.0 == I386 { 1.0 } else { 0.0 }; q.3 as usize])
        .collect();
    let wr: Vec<Option<&[f64]>> = w.iter().map(|v| Some(v.as_slice())).collect();
    let prog = compile_weighted(&views, &Options::default(), &wr).unwrap();
    assert_eq!(prog.insns()[1].k, I386, "{:?}", &prog.insns()[..3]);
    let prog = compile(&views, &Options::default()).unwrap();
    assert_eq!(prog.insns()[1].k, X86_64);
}

#[test]
fn forced_strategies_work_or_say_why_not() {
    for (name, sets) in all_sets() {
        for s in Strategy::ALL {
            for obj in [Objective::Speed, Objective::Size] {
                match compile(&sets.views(), &opts(s, obj)) {
                    Ok(p) => assert_eq!(p.strategy(), s),
                    Err(Error::Strategy(_)) | Err(Error::TooLarge(_)) => {}
                    Err(e) => panic!("{name} {s:?}: {e}"),
                }
            }
        }
    }
    // One traced number: no block of 32 has enough boundaries, the bit-level
    // strategies have nothing to do.
    let sets = X86Sets::named(&["openat"]);
    for s in [Strategy::Bits, Strategy::Jset] {
        assert!(
            matches!(
                compile(&sets.views(), &opts(s, Objective::Size)),
                Err(Error::Strategy(_))
            ),
            "{s:?}"
        );
    }
}

#[test]
fn jset_programs_are_cacheable_and_bits_programs_are_not() {
    let mut seen = [false; 2];
    for (name, sets) in all_sets() {
        for (k, s) in [Strategy::Jset, Strategy::Bits].into_iter().enumerate() {
            let Ok(prog) = compile(&sets.views(), &opts(s, Objective::Speed)) else {
                continue;
            };
            seen[k] = true;
            let p = sets.views()[0];
            let all = (0..p.nsyscalls)
                .filter(|&i| !p.is_traced(i))
                .all(|i| cacheable(prog.insns(), X86_64, i));
            assert_eq!(all, s == Strategy::Jset, "{name} {s:?}");
        }
    }
    assert_eq!(seen, [true, true], "both strategies applied somewhere");
}

fn c_pers(sets: &X86Sets) -> Vec<tracefilter_personality> {
    sets.pers
        .iter()
        .map(|(a, f, b, n)| tracefilter_personality {
            audit_arch: *a,
            nr_flag: *f,
            traced: b.as_ptr(),
            nsyscalls: *n,
        })
        .collect()
}

fn c_compile(sets: &X86Sets, o: &tracefilter_options) -> Result<Vec<Insn>, i32> {
    let pers = c_pers(sets);
    let mut out = std::ptr::null_mut();
    let rc = unsafe { tracefilter_compile(pers.as_ptr(), pers.len(), o, &mut out) };
    if rc != TRACEFILTER_OK {
        assert!(out.is_null());
        return Err(rc);
    }
    let insns = unsafe {
        let f = &*tracefilter_program_fprog(out);
        std::slice::from_raw_parts(f.filter as *const Insn, f.len as usize).to_vec()
    };
    unsafe { tracefilter_program_free(out) };
    Ok(insns)
}

fn c_options() -> tracefilter_options {
    let mut o = std::mem::MaybeUninit::<tracefilter_options>::zeroed();
    unsafe {
        tracefilter_options_init(o.as_mut_ptr());
        o.assume_init()
    }
}

#[test]
fn c_abi_strategies_objectives_and_weights() {
    let sets = synthetic().remove(2).1;
    let mut o = c_options();
    assert_eq!(
        o.struct_size as usize,
        std::mem::size_of::<tracefilter_options>()
    );
    let speed = c_compile(&sets, &o).unwrap();
    // A first-version caller (28 bytes) gets the same program.
    o.struct_size = 28;
    assert_eq!(c_compile(&sets, &o).unwrap(), speed);
    // 32 bytes: version 28, and a set weights_count it cannot read whole.
    o.struct_size = 32;
    assert_eq!(c_compile(&sets, &o).unwrap(), speed);
    o.weights_count = 1;
    assert_eq!(c_compile(&sets, &o), Err(TRACEFILTER_E_INVALID));
    let mut o = c_options();
    o.objective = TRACEFILTER_OBJECTIVE_SIZE;
    let size = c_compile(&sets, &o).unwrap();
    assert!(
        size.len() < speed.len(),
        "{} vs {}",
        size.len(),
        speed.len()
    );
    // Forced bits on one traced syscall cannot do anything.
    let mut o = c_options();
    o.strategy = TRACEFILTER_STRATEGY_BITS;
    assert_eq!(
        c_compile(&X86Sets::named(&["openat"]), &o),
        Err(TRACEFILTER_E_STRATEGY)
    );
    // Weights: the heaviest personality's arch is tested first.
    let w: Vec<Vec<f64>> = sets
        .pers
        .iter()
        .map(|q| vec![if q.0 == I386 { 1.0 } else { 0.0 }; q.3 as usize])
        .collect();
    let ptrs: Vec<*const f64> = w.iter().map(|v| v.as_ptr()).collect();
    let mut o = c_options();
    o.weights_count = ptrs.len() as u32;
    o.weights = ptrs.as_ptr();
    let weighted = c_compile(&sets, &o).unwrap();
    assert_eq!(weighted[1].k, I386);
    o.weights_count = 2;
    assert_eq!(c_compile(&sets, &o), Err(TRACEFILTER_E_INVALID));
    let bad = [f64::NAN; 600];
    let ptrs2 = [bad.as_ptr(), std::ptr::null(), std::ptr::null()];
    o.weights_count = 3;
    o.weights = ptrs2.as_ptr();
    assert_eq!(c_compile(&sets, &o), Err(TRACEFILTER_E_INVALID));
}
