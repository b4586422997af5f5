//! Side-by-side figures of our programs against strace 6.1's and
//! libseccomp's, on identical bitmaps, plus the compile time.
//!
//!     cargo bench --bench programs
//!
//! For every set of `../shared/corpus.txt`: strace's program comes from its
//! `-d` dump and the per-personality bitmaps it encodes are read back with
//! our emulator; libseccomp's two programs (default and
//! `SCMP_FLTATR_CTL_OPTIMIZE=2`) are built by a small C helper from the
//! same syscall names. Each peer is compared under its own semantics: ours
//! is compiled from the bitmaps the peer's program encodes, with the peer's
//! action for unknown numbers and arches. Figures are over the allowed
//! numbers below each table's size (holes included), as
//! `tracefilter_program_stats` reports them.
#[path = "../tests/common/peers.rs"]
mod peers;

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use peers::*;
use tracefilter::emulate::{run, SeccompData};
use tracefilter::names::Table;
use tracefilter::stats::Stats;
use tracefilter::{compile, Insn, Objective, Options, Strategy};

struct Figures {
    len: usize,
    mean: Vec<f64>,
    max: Vec<u32>,
    cacheable: bool,
}

fn figures(prog: &[Insn], sets: &X86Sets, opts: &Options) -> Figures {
    let s = Stats::measure(prog, Strategy::Auto, &sets.views(), opts);
    Figures {
        len: prog.len(),
        mean: s.personalities.iter().map(|p| p.mean_executed).collect(),
        max: s.personalities.iter().map(|p| p.max_executed).collect(),
        cacheable: s.all_cacheable,
    }
}

fn ours(sets: &X86Sets, base: &Options, objective: Objective) -> (Vec<Insn>, Strategy) {
    let opts = Options { objective, ..*base };
    let p = compile(&sets.views(), &opts).expect("corpus sets compile");
    (p.insns().to_vec(), p.strategy())
}

fn action(prog: &[Insn], arch: u32, nr: u32) -> u32 {
    run(prog, &SeccompData::new(arch, nr)).action
}

/// The peer's own actions for unknown numbers and arches.
fn semantics(prog: &[Insn], sets: &X86Sets) -> Options {
    Options {
        unknown_nr_action: action(prog, X86_64, sets.pers[0].3),
        unknown_arch_action: action(prog, 0, 0),
        ..Options::default()
    }
}

fn row(set: &str, name: &str, f: &Figures, len_vs: Option<usize>, mean_vs: Option<f64>) {
    let r = |x: Option<String>| x.unwrap_or_else(|| "".into());
    println!(
        "| {set} | {name} | {} | {:.2} / {} | {:.2} / {} | {:.2} / {} | {} | {} | {} |",
        f.len,
        f.mean[0],
        f.max[0],
        f.mean[1],
        f.max[1],
        f.mean[2],
        f.max[2],
        if f.cacheable { "yes" } else { "no" },
        r(len_vs.map(|v| format!("{:.2}", f.len as f64 / v as f64))),
        r(mean_vs.map(|v| format!("{:.2}", f.mean[0] / v))),
    );
}

/// Builds the libseccomp helper once; Err is the reason to skip.
fn scmp_helper() -> Result<PathBuf, String> {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let exe = dir.join("scmp_export");
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/scmp_export.c");
    let flags = Command::new("pkg-config")
        .args(["--cflags", "--libs", "libseccomp"])
        .output()
        .map_err(|e| format!("pkg-config: {e}"))?;
    if !flags.status.success() {
        return Err("libseccomp not found by pkg-config (apt-get install libseccomp-dev)".into());
    }
    let flags = String::from_utf8_lossy(&flags.stdout).to_string();
    let st = Command::new("cc")
        .args(["-O2", "-o"])
        .arg(&exe)
        .arg(&src)
        .args(flags.split_whitespace())
        .status()
        .map_err(|e| format!("cc: {e}"))?;
    if !st.success() {
        return Err("the libseccomp helper does not build".into());
    }
    Ok(exe)
}

fn scmp_program(helper: &PathBuf, optimize: u32, names: &[&str]) -> Result<Vec<Insn>, String> {
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("scmp-{optimize}.bpf"));
    let st = Command::new(helper)
        .arg(&out)
        .arg(optimize.to_string())
        .args(names)
        .status()
        .map_err(|e| e.to_string())?;
    if !st.success() {
        return Err(format!("helper failed with {st}"));
    }
    let bytes = std::fs::read(&out).map_err(|e| e.to_string())?;
    let prog: Vec<Insn> = bytes
        .chunks_exact(8)
        .map(|c| Insn {
            code: u16::from_ne_bytes([c[0], c[1]]),
            jt: c[2],
            jf: c[3],
            k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
        })
        .collect();
    tracefilter::emulate::check(&prog).map_err(|e| format!("checker: {e}"))?;
    Ok(prog)
}

/// Names of the traced syscalls of x86_64 and i386 in `sets`.
fn traced_names(sets: &X86Sets) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Vec::new();
    for (name, p) in ["x86_64", "i386"].iter().zip(sets.views()) {
        let t = Table::by_name(name).unwrap();
        for i in (0..p.nsyscalls).filter(|&i| p.is_traced(i)) {
            if let Some(n) = t.name_of(i) {
                if !names.contains(&n) {
                    names.push(n);
                }
            }
        }
    }
    names
}

fn header() {
    println!(
        "| set | program | len | x86_64 mean / max | i386 mean / max | x32 mean / max | cacheable | len ratio | mean ratio |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
}

fn main() {
    let corpus = match corpus() {
        Ok(c) => c,
        Err(e) => {
            println!("SKIP: no corpus: {e}");
            return;
        }
    };
    let strace = strace_available();
    let helper = scmp_helper();
    let mut missed: Vec<String> = Vec::new();
    let mut derived: Vec<(String, X86Sets)> = Vec::new();

    println!("\n### strace 6.1 vs ours (strace's semantics; ratios ours / strace)\n");
    header();
    for set in &corpus {
        let sp = match strace.clone().and_then(|_| strace_program(set)) {
            Ok(p) => p,
            Err(e) => {
                println!("| {set} | strace: SKIP {e} | | | | | | | |");
                continue;
            }
        };
        let sets = X86Sets::from_program(&sp);
        let base = semantics(&sp, &sets);
        let f = figures(&sp, &sets, &base);
        row(set, "strace 6.1", &f, None, None);
        let (p, s) = ours(&sets, &base, Objective::Speed);
        let g = figures(&p, &sets, &base);
        row(
            set,
            &format!("ours SPEED ({})", s.name()),
            &g,
            Some(f.len),
            Some(f.mean[0]),
        );
        if g.mean[0] > 0.5 * f.mean[0] || !g.cacheable {
            missed.push(format!(
                "{set}: SPEED mean {:.2} vs strace {:.2}",
                g.mean[0], f.mean[0]
            ));
        }
        let (p, s) = ours(&sets, &base, Objective::Size);
        let h = figures(&p, &sets, &base);
        row(
            set,
            &format!("ours SIZE ({})", s.name()),
            &h,
            Some(f.len),
            Some(f.mean[0]),
        );
        if h.len > f.len {
            missed.push(format!("{set}: SIZE len {} vs strace {}", h.len, f.len));
        }
        derived.push((set.clone(), sets));
    }

    println!("\n### libseccomp 2.5 vs ours (libseccomp's semantics; len ratio vs the shorter, mean ratio vs its tree)\n");
    header();
    for (set, sets) in &derived {
        let helper = match &helper {
            Ok(h) => h,
            Err(e) => {
                println!("| {set} | libseccomp: SKIP {e} | | | | | | | |");
                continue;
            }
        };
        let names = traced_names(sets);
        let (lin, tree) = match (
            scmp_program(helper, 1, &names),
            scmp_program(helper, 2, &names),
        ) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(e), _) | (_, Err(e)) => {
                println!("| {set} | libseccomp: SKIP {e} | | | | | | | |");
                continue;
            }
        };
        let lsets = X86Sets::from_program(&lin);
        if X86Sets::from_program(&tree) != lsets {
            println!(
                "| {set} | libseccomp: its two programs encode different bitmaps | | | | | | | |"
            );
        }
        let base = semantics(&lin, &lsets);
        let fl = figures(&lin, &lsets, &base);
        let ft = figures(&tree, &lsets, &base);
        row(set, "libseccomp default", &fl, None, None);
        row(set, "libseccomp tree", &ft, None, None);
        let shortest = fl.len.min(ft.len);
        let (p, s) = ours(&lsets, &base, Objective::Speed);
        let g = figures(&p, &lsets, &base);
        row(
            set,
            &format!("ours SPEED ({})", s.name()),
            &g,
            Some(shortest),
            Some(ft.mean[0]),
        );
        if g.mean[0] > 0.9 * ft.mean[0] || !g.cacheable {
            missed.push(format!(
                "{set}: SPEED mean {:.2} vs libseccomp tree {:.2}",
                g.mean[0], ft.mean[0]
            ));
        }
        let (p, s) = ours(&lsets, &base, Objective::Size);
        let h = figures(&p, &lsets, &base);
        row(
            set,
            &format!("ours SIZE ({})", s.name()),
            &h,
            Some(shortest),
            Some(ft.mean[0]),
        );
        if h.len > shortest {
            missed.push(format!(
                "{set}: SIZE len {} vs libseccomp {}",
                h.len, shortest
            ));
        }
    }

    println!("\n### Compile time, three full personalities (median of 201 runs)\n");
    for (set, sets) in &derived {
        for obj in [Objective::Speed, Objective::Size] {
            let opts = Options {
                objective: obj,
                ..Options::default()
            };
            let views = sets.views();
            let mut t: Vec<f64> = (0..201)
                .map(|_| {
                    let start = Instant::now();
                    let p = compile(&views, &opts).unwrap();
                    std::hint::black_box(p);
                    start.elapsed().as_secs_f64() * 1e6
                })
                .collect();
            t.sort_by(f64::total_cmp);
            println!("- {set} {obj:?}: {:.0} µs", t[t.len() / 2]);
        }
    }

    println!("\n### Targets missed\n");
    if missed.is_empty() {
        println!("none");
    }
    for m in &missed {
        println!("- {m}");
    }
}
