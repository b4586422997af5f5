//! Side-by-side figures of our programs against strace 6.1's and
//! libseccomp's, on identical bitmaps. Run with `cargo bench --bench programs`.
#[path = "../tests/common/peers.rs"]
mod peers;

use peers::*;
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

fn main() {
    let corpus = match corpus() {
        Ok(c) => c,
        Err(e) => {
            println!("SKIP: no corpus: {e}");
            return;
        }
    };
    let strace = strace_available();
    for set in &corpus {
        println!("== {set}");
        match strace.clone().and_then(|_| strace_program(set)) {
            Err(e) => println!("  strace: SKIP {e}"),
            Ok(sp) => {
                let sets = X86Sets::from_program(&sp);
                let base = Options {
                    unknown_nr_action: run1(&sp, X86_64, sets.pers[0].3),
                    unknown_arch_action: run1(&sp, 0, 0),
                    ..Options::default()
                };
                let f = figures(&sp, &sets, &base);
                print_row("strace", &f, None);
                for obj in [Objective::Speed, Objective::Size] {
                    let (p, s) = ours(&sets, &base, obj);
                    let g = figures(&p, &sets, &base);
                    print_row(&format!("ours {obj:?} ({})", s.name()), &g, Some(&f));
                }
            }
        }
    }
}

fn run1(prog: &[Insn], arch: u32, nr: u32) -> u32 {
    tracefilter::emulate::run(prog, &tracefilter::emulate::SeccompData::new(arch, nr)).action
}

fn print_row(name: &str, f: &Figures, vs: Option<&Figures>) {
    let ratio = vs.map_or(String::new(), |v| {
        format!(
            "  len x{:.2} mean x{:.2}",
            f.len as f64 / v.len as f64,
            f.mean[0] / v.mean[0]
        )
    });
    println!(
        "  {name:28} len {:5} mean {:6.2} {:6.2} {:6.2} max {:3} {:3} {:3} cache {}{ratio}",
        f.len,
        f.mean[0],
        f.mean[1],
        f.mean[2],
        f.max[0],
        f.max[1],
        f.max[2],
        if f.cacheable { "yes" } else { "no " },
    );
}
