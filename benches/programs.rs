//! Side-by-side figures of our programs against strace 6.1's and
//! libseccomp's, on identical bitmaps, plus the compile time.
//!
//!     cargo bench --bench programs
//!
//! For every set of `tests/corpus.txt`: strace's program comes from its
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
use tracefilter::SyscallTable;
use tracefilter::{compile, evaluate, Insn, Objective, Options, SeccompData, Stats, Strategy};

struct Figures {
    len: usize,
    mean: Vec<f64>,
    max: Vec<u32>,
    cacheable: bool,
}

fn figures(prog: &[Insn], sets: &X86Sets) -> Figures {
    let s = Stats::measure(prog, Strategy::Auto, &sets.views());
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
    evaluate(prog, &SeccompData::new(arch, nr)).unwrap().action
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
    tracefilter::check(&prog).map_err(|e| format!("checker: {e}"))?;
    Ok(prog)
}

/// Names of the traced syscalls of x86_64 and i386 in `sets`.
fn traced_names(sets: &X86Sets) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Vec::new();
    for (name, p) in ["x86_64", "i386"].iter().zip(sets.views()) {
        let t = SyscallTable::by_name(name).unwrap();
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
        let f = figures(&sp, &sets);
        row(set, "strace 6.1", &f, None, None);
        let (p, s) = ours(&sets, &base, Objective::Speed);
        let g = figures(&p, &sets);
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
        let h = figures(&p, &sets);
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
        let fl = figures(&lin, &lsets);
        let ft = figures(&tree, &lsets);
        row(set, "libseccomp default", &fl, None, None);
        row(set, "libseccomp tree", &ft, None, None);
        let shortest = fl.len.min(ft.len);
        let (p, s) = ours(&lsets, &base, Objective::Speed);
        let g = figures(&p, &lsets);
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
        let h = figures(&p, &lsets);
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
            let median = t[t.len() / 2];
            println!("- {set} {obj:?}: {median:.0} µs");
            if median >= 100.0 {
                missed.push(format!("{set}: {obj:?} compile time {median:.0} µs"));
            }
        }
    }

    plot_random_sets(&strace, &helper, &mut missed);

    println!("\n### Targets missed\n");
    if missed.is_empty() {
        println!("none");
    }
    for m in &missed {
        println!("- {m}");
    }
}

/// Mean executed instructions per allowed x86_64 syscall against the size of
/// random sets, for every peer and ours, rendered to
/// `docs/mean_executed_vs_set_size.svg`.
fn plot_random_sets(
    strace: &Result<(), String>,
    helper: &Result<PathBuf, String>,
    missed: &mut Vec<String>,
) {
    use plotters::prelude::*;

    println!("\n### Random sets: x86_64 mean executed vs set size\n");
    let (Ok(()), Ok(helper)) = (strace, helper) else {
        println!("SKIP: needs both strace and libseccomp");
        return;
    };
    // Names strace 6.1 knows: x86_64 0..=334 and 424..=450 (335 and 336,
    // uretprobe and uprobe, and 451 on came later).
    let t = SyscallTable::by_name("x86_64").unwrap();
    let pool: Vec<&str> = (0..=334)
        .chain(424..=450)
        .filter_map(|i| t.name_of(i))
        .collect();
    let mut rng = 0x5eed_1234_u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let sizes: Vec<usize> = (10..=pool.len().min(400)).step_by(20).collect();
    // (size, strace, ours on strace's sets, libseccomp default, tree, ours on its sets)
    let mut points: Vec<(usize, [f64; 5])> = Vec::new();
    println!("| traced | strace | ours (strace's sets) | libseccomp default | libseccomp tree | ours (libseccomp's sets) |");
    println!("|---|---|---|---|---|---|");
    for &k in &sizes {
        let mut names = pool.clone();
        for i in 0..k {
            let j = i + (next() as usize) % (names.len() - i);
            names.swap(i, j);
        }
        names.truncate(k);
        let sp = match strace_program(&names.join(",")) {
            Ok(p) => p,
            Err(e) => {
                println!("| {k} | SKIP {e} | | | | |");
                continue;
            }
        };
        let sets = X86Sets::from_program(&sp);
        let base = semantics(&sp, &sets);
        let f_strace = figures(&sp, &sets).mean[0];
        let f_ours = figures(&ours(&sets, &base, Objective::Speed).0, &sets).mean[0];
        let (Ok(lin), Ok(tree)) = (
            scmp_program(helper, 1, &names),
            scmp_program(helper, 2, &names),
        ) else {
            println!("| {k} | SKIP libseccomp failed | | | | |");
            continue;
        };
        let lsets = X86Sets::from_program(&lin);
        let lbase = semantics(&lin, &lsets);
        let f_lin = figures(&lin, &lsets).mean[0];
        let f_tree = figures(&tree, &lsets).mean[0];
        let f_ours_l = figures(&ours(&lsets, &lbase, Objective::Speed).0, &lsets).mean[0];
        println!(
            "| {k} | {f_strace:.2} | {f_ours:.2} | {f_lin:.2} | {f_tree:.2} | {f_ours_l:.2} |"
        );
        if f_ours > 0.5 * f_strace || f_ours_l > 0.9 * f_tree {
            missed.push(format!(
                "random set of {k}: ours {f_ours:.2} / {f_ours_l:.2}"
            ));
        }
        points.push((k, [f_strace, f_ours, f_lin, f_tree, f_ours_l]));
    }
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/mean_executed_vs_set_size.svg");
    let draw = || -> Result<(), Box<dyn std::error::Error>> {
        let root = SVGBackend::new(&path, (900, 560)).into_drawing_area();
        root.fill(&WHITE)?;
        let ymax = points.iter().flat_map(|p| p.1).fold(1.0f64, f64::max) * 1.3;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "cBPF instructions executed per allowed x86_64 syscall (log scale)",
                ("sans-serif", 20),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(55)
            .build_cartesian_2d(
                0usize..sizes.last().copied().unwrap_or(400) + 10,
                (2f64..ymax).log_scale(),
            )?;
        chart
            .configure_mesh()
            .x_desc("syscalls traced (random sets, x86_64 names)")
            .y_desc("mean executed")
            .draw()?;
        let series: [(&str, RGBColor); 5] = [
            ("strace 6.1", RED),
            ("ours SPEED (strace's bitmaps)", BLUE),
            ("libseccomp 2.5 default", MAGENTA),
            ("libseccomp 2.5 tree (OPTIMIZE=2)", RGBColor(230, 140, 0)),
            ("ours SPEED (libseccomp's bitmaps)", RGBColor(0, 150, 60)),
        ];
        for (i, (name, color)) in series.iter().enumerate() {
            let data: Vec<(usize, f64)> = points.iter().map(|p| (p.0, p.1[i])).collect();
            let c = *color;
            chart
                .draw_series(LineSeries::new(data.clone(), c.stroke_width(2)))?
                .label(*name)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2))
                });
            chart.draw_series(
                data.iter()
                    .map(|&(x, y)| Circle::new((x, y), 3, c.filled())),
            )?;
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperLeft)
            .draw()?;
        root.present()?;
        Ok(())
    };
    match draw() {
        Ok(()) => println!("\nplot: docs/mean_executed_vs_set_size.svg"),
        Err(e) => println!("\nplot failed: {e}"),
    }
}
