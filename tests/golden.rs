//! Every program the compiler chooses for the public corpus is pinned: a
//! change to strategies, selection or layout that alters one byte of one
//! program fails here. `tests/golden/programs.txt` holds the inputs (the
//! x86 bitmaps strace 6.1 encodes for each set of `tests/corpus.txt`, plus
//! synthetic sets) and, for each combination of semantics, objective,
//! CLONE_UNTRACED guard, weights and strategy, the program's strategy,
//! length and hash. The test needs neither strace nor libseccomp;
//! `TRACEFILTER_BLESS=1 cargo test --release --test golden` regenerates
//! the file (then strace 6.1 must be installed).

#[path = "common/peers.rs"]
mod peers;

use std::fmt::Write as _;
use std::path::Path;

use peers::*;
use tracefilter::SyscallTable as Table;
use tracefilter::{
    compile_guarded, compile_weighted, Insn, Objective, Options, Personality, Strategy,
};

const KILL_PROCESS: u32 = 0x8000_0000;

/// The sets, read from strace (blessing) or from the golden file.
fn blessed_sets() -> Vec<(String, X86Sets)> {
    strace_available().expect("blessing needs strace 6.1");
    let mut v: Vec<(String, X86Sets)> = corpus()
        .expect("tests/corpus.txt")
        .into_iter()
        .map(|set| {
            let prog = strace_program(&set).expect("strace dumps its program");
            (set, X86Sets::from_program(&prog))
        })
        .collect();
    let every: Vec<&str> = {
        let t = Table::by_name("x86_64").unwrap();
        (0..t.size()).filter_map(|i| t.name_of(i)).collect()
    };
    v.push(("synthetic:none".into(), X86Sets::named(&[])));
    v.push(("synthetic:every".into(), X86Sets::named(&every)));
    v.push((
        "synthetic:every-other".into(),
        X86Sets::named(&every.iter().step_by(2).copied().collect::<Vec<_>>()),
    ));
    v
}

fn hex(b: &[u8]) -> String {
    b.iter().fold(String::new(), |mut s, x| {
        let _ = write!(s, "{x:02x}");
        s
    })
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// FNV-1a over the instructions as the kernel reads them.
fn hash(p: &[Insn]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for i in p {
        let mut b = Vec::with_capacity(8);
        b.extend_from_slice(&i.code.to_le_bytes());
        b.extend_from_slice(&[i.jt, i.jf]);
        b.extend_from_slice(&i.k.to_le_bytes());
        for x in b {
            h = (h ^ u64::from(x)).wrapping_mul(0x100_0000_01b3);
        }
    }
    h
}

/// A skewed but deterministic profile: some syscalls weigh nothing, a few
/// weigh much.
fn skewed(sets: &X86Sets, seed: u32) -> Vec<Vec<f64>> {
    let mut x = 0x9e37_79b9u32 ^ seed.wrapping_mul(0x85eb_ca6b) | 1;
    sets.pers
        .iter()
        .map(|p| {
            (0..p.3)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    [0.0, 0.5, 1.0, 1.0, 3.0, 40.0][(x % 6) as usize]
                })
                .collect()
        })
        .collect()
}

/// One line per compiled combination.
fn programs(sets: &[(String, X86Sets)]) -> String {
    let actions = [("trace", TRACE), ("allow", ALLOW), ("kill", KILL_PROCESS)];
    let mut out = String::new();
    for (si, (name, sets)) in sets.iter().enumerate() {
        let views: Vec<Personality> = sets.views();
        let skew = skewed(sets, si as u32);
        let skew: Vec<Option<&[f64]>> = skew.iter().map(|v| Some(v.as_slice())).collect();
        for (nr_name, nr) in actions {
            for (arch_name, arch) in actions {
                let strategies: &[Strategy] = if (nr, arch) == (TRACE, TRACE) {
                    &[
                        Strategy::Auto,
                        Strategy::Tree,
                        Strategy::Search,
                        Strategy::Jset,
                        Strategy::Linear,
                        Strategy::Bits,
                    ]
                } else {
                    &[Strategy::Auto]
                };
                for &strategy in strategies {
                    for objective in [Objective::Speed, Objective::Size] {
                        let opts = Options {
                            unknown_nr_action: nr,
                            unknown_arch_action: arch,
                            strategy,
                            objective,
                            ..Options::default()
                        };
                        for (w_name, w) in [("uniform", &[][..]), ("skewed", &skew[..])] {
                            for guarded in [false, true] {
                                let r = if guarded {
                                    compile_guarded(&views, &opts, w)
                                } else {
                                    compile_weighted(&views, &opts, w)
                                };
                                let got = match r {
                                    Ok(p) => format!(
                                        "{} {} {:016x}",
                                        p.strategy().name(),
                                        p.insns().len(),
                                        hash(p.insns())
                                    ),
                                    Err(e) => format!("error {e}"),
                                };
                                let _ = writeln!(
                                    out,
                                    "prog {name} nr={nr_name} arch={arch_name} {} {objective:?} {w_name} guard={guarded}: {got}",
                                    strategy.name()
                                );
                            }
                        }
                    }
                }
            }
        }
    }
    out
}

#[test]
fn corpus_programs_are_unchanged() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/programs.txt");
    if std::env::var_os("TRACEFILTER_BLESS").is_some() {
        let sets = blessed_sets();
        let mut text = String::from(
            "# Pinned by tests/golden.rs; TRACEFILTER_BLESS=1 cargo test --release --test golden regenerates.\n",
        );
        for (name, s) in &sets {
            for (arch, flag, bits, n) in &s.pers {
                let _ = writeln!(text, "set {name} {arch:#x} {flag:#x} {n} {}", hex(bits));
            }
        }
        text.push_str(&programs(&sets));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
    }
    let text = std::fs::read_to_string(&path).expect("tests/golden/programs.txt");
    let mut sets: Vec<(String, X86Sets)> = Vec::new();
    for line in text.lines().filter(|l| l.starts_with("set ")) {
        let f: Vec<&str> = line.split(' ').collect();
        let num = |s: &str| u32::from_str_radix(s.trim_start_matches("0x"), 16).unwrap();
        let p = (num(f[2]), num(f[3]), unhex(f[5]), f[4].parse().unwrap());
        match sets.last_mut() {
            Some((n, s)) if n == f[1] => s.pers.push(p),
            _ => sets.push((f[1].to_string(), X86Sets { pers: vec![p] })),
        }
    }
    assert!(sets.len() >= 14, "{} sets in the golden file", sets.len());
    let want: Vec<&str> = text.lines().filter(|l| l.starts_with("prog ")).collect();
    let got = programs(&sets);
    let got: Vec<&str> = got.lines().collect();
    assert_eq!(got.len(), want.len());
    let differ: Vec<String> = got
        .iter()
        .zip(&want)
        .filter(|(g, w)| g != w)
        .map(|(g, w)| format!("want {w}\n got {g}"))
        .collect();
    assert!(
        differ.is_empty(),
        "{} of {} programs changed:\n{}",
        differ.len(),
        want.len(),
        differ.join("\n")
    );
}
