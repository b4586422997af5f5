//! The edges of the contract (issue 14): valid specifications near the
//! limits compile to exact programs, and every limit is a status.

#[path = "common/pers.rs"]
mod pers;
use pers::Pers;
use tracefilter::emulate::{run, SeccompData};
use tracefilter::{compile, Objective, Options, Strategy};

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
        let got = run(prog, &SeccompData::new(ARCH, nr)).action;
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
    let d = tracefilter::Decisions::new(&[p.view()], &Options::default()).unwrap();
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
    let e = tracefilter::verify::verify(&prog, &d).unwrap_err();
    assert!(e.contains("nr 77777"), "{e}");
    p.set(77_777, false);
    let d = tracefilter::Decisions::new(&[p.view()], &Options::default()).unwrap();
    tracefilter::verify::verify(&prog, &d).unwrap();
}
