//! The public Rust API beyond compiling: programs as the kernel takes them,
//! the emulator, the prover, the syscall tables, and the two kernel-side
//! halves ([`child`], [`tracer`]). Everything here is a thin, safe face on
//! the crate's modules; the crate documentation is the guide.

pub mod child;
mod names;
pub mod tracer;

use libc::{sock_filter, sock_fprog};

use crate::bpf::Insn;
use crate::compile::Program;
use crate::emulate::{self, CheckError, Run, SeccompData};
use crate::error::{Error, Result};
use crate::set::Decisions;
use crate::spec::{ActionMap, Options, Personality};

/// A program that passed [`check`]: the kernel would accept it, and the
/// emulator can run it. Every compiled [`Program`] is one
/// ([`Program::filter`]); programs from elsewhere (another library, a
/// file) get one from [`Filter::new`].
#[derive(Clone, Copy, Debug)]
pub struct Filter<'p> {
    insns: &'p [Insn],
}

impl<'p> Filter<'p> {
    /// Checks `insns` with the kernel's rules (see [`check`]).
    pub fn new(insns: &'p [Insn]) -> std::result::Result<Filter<'p>, CheckError> {
        emulate::check(insns)?;
        Ok(Filter { insns })
    }

    /// The instructions.
    pub fn insns(&self) -> &'p [Insn] {
        self.insns
    }

    /// Runs the program on one `seccomp_data` as the kernel's interpreter
    /// would: the action it returns and how many instructions it executed.
    pub fn evaluate(&self, data: &SeccompData) -> Run {
        emulate::run(self.insns, data)
    }

    /// [`Filter::evaluate`], and whether the kernel's action cache (Linux
    /// 5.11+) proves this (arch, nr) allowed, so that the kernel would not
    /// run the program for it at all: the same answer as [`cacheable`], in
    /// the same pass.
    pub fn evaluate_cached(&self, data: &SeccompData) -> (Run, bool) {
        emulate::run_cached(self.insns, data)
    }
}

/// The kernel's acceptance rules for a seccomp filter (`bpf_check_classic`,
/// then `seccomp_check_filter` in kernel/seccomp.c): `Ok` exactly when
/// seccomp(2) would accept the program; otherwise the first offending
/// instruction.
///
/// ```
/// use tracefilter::{check, CheckError, Insn};
/// // ld [0] (seccomp_data.nr) and no return: refused.
/// let prog = [Insn::stmt(0x20, 0)];
/// assert_eq!(check(&prog), Err(CheckError::NoReturn));
/// ```
pub fn check(insns: &[Insn]) -> std::result::Result<(), CheckError> {
    emulate::check(insns)
}

/// Checks then runs any program on one `seccomp_data` (see
/// [`Filter::evaluate`]; to run one program often, make the [`Filter`]
/// once).
pub fn evaluate(insns: &[Insn], data: &SeccompData) -> std::result::Result<Run, CheckError> {
    Ok(Filter::new(insns)?.evaluate(data))
}

/// `seccomp_is_const_allow` (kernel/seccomp.c, Linux 5.11+): whether the
/// kernel's action cache proves that `insns` returns exactly
/// `SECCOMP_RET_ALLOW` for this (arch, nr) whatever the arguments, so that
/// it never runs the filter for that syscall. False for any program the
/// cache cannot follow, and for numbers outside the kernel's cache bitmap
/// whatever the arch: x32 numbers (x86_64's arch with `__X32_SYSCALL_BIT`
/// in `nr`) and negative ones (`nr` of 0x80000000 and up); defined for any
/// input.
pub fn cacheable(insns: &[Insn], arch: u32, nr: u32) -> bool {
    emulate::kernel_caches(insns, arch, nr)
}

/// A listing of any program, one instruction a line in the syntax of the
/// kernel's `bpf_dbg`, with absolute jump targets, the `seccomp_data` field
/// each load reads, the arch names and the actions. A program the kernel
/// would refuse is listed too, followed by the checker's verdict.
///
/// ```
/// let listing = tracefilter::disassemble(&[tracefilter::Insn::stmt(0x06, 0x7fff_0000)]);
/// assert!(listing.contains("ret"), "{listing}");
/// ```
pub fn disassemble(insns: &[Insn]) -> String {
    crate::disasm::disassemble(insns)
}

/// Proves that `insns` (any checked program, whoever made it) implements
/// the bitmaps of `pers` under the actions of `opts`: for every number of
/// every personality, and for every number and arch none of them defines.
/// The same proof [`compile`](crate::compile) applies to each program it
/// returns. Fails with [`Error::Verify`], whose text names a first number
/// the program gets wrong, [`Error::Program`] for a program the kernel
/// would refuse, or the error of an invalid spec.
pub fn verify(insns: &[Insn], pers: &[Personality], opts: &Options) -> Result<()> {
    emulate::check(insns)?;
    crate::spec::validate(pers)?;
    opts.validate()?;
    let d = Decisions::new(pers, opts)?;
    crate::verify::verify(insns, &d).map_err(Error::Verify)
}

/// Proves that `insns` (any checked program, whoever made it) returns
/// exactly `actions[nr]` (data bits included) for every number of every
/// map, `opts.unknown_nr_action` for the other numbers of their arches and
/// `opts.unknown_arch_action` for every other arch, as
/// [`compile_actions`](crate::compile_actions) proves each program it
/// returns; the other actions of `opts` are not used. Errors as for
/// [`verify`].
pub fn verify_actions(insns: &[Insn], maps: &[ActionMap], opts: &Options) -> Result<()> {
    emulate::check(insns)?;
    let opts = Options {
        traced_action: crate::bpf::SECCOMP_RET_TRACE,
        allowed_action: crate::bpf::SECCOMP_RET_ALLOW,
        ..*opts
    };
    opts.validate()?;
    let d = Decisions::from_maps(maps, &opts)?;
    crate::verify::verify(insns, &d).map_err(Error::Verify)
}

impl Program {
    /// The program as a [`Filter`]: compiled programs are checked.
    pub fn filter(&self) -> Filter<'_> {
        Filter {
            insns: self.insns(),
        }
    }

    /// Runs the program on one `seccomp_data` (see [`Filter::evaluate`]).
    pub fn evaluate(&self, data: &SeccompData) -> Run {
        self.filter().evaluate(data)
    }

    /// Number of instructions (`sock_fprog.len`, at most 4096).
    pub fn len(&self) -> usize {
        self.insns().len()
    }

    /// Always false: a program has at least its return.
    pub fn is_empty(&self) -> bool {
        self.insns().is_empty()
    }

    /// The `struct sock_fprog` for seccomp(2) or prctl(2), pointing into
    /// this program's instructions: valid for as long as the program lives.
    /// [`child::install`] takes it.
    pub fn fprog(&self) -> sock_fprog {
        sock_fprog {
            len: self.len() as u16,
            // Insn has the layout of sock_filter (asserted in the FFI
            // layer); the kernel only reads the array.
            filter: self.insns().as_ptr() as *mut sock_filter,
        }
    }

    /// The instructions as the bytes of a `struct sock_filter` array in
    /// the host's byte order: what a tracer writes to a file or hands to
    /// another process to install (8 bytes an instruction).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len() * 8);
        for i in self.insns() {
            out.extend_from_slice(&i.code.to_ne_bytes());
            out.push(i.jt);
            out.push(i.jf);
            out.extend_from_slice(&i.k.to_ne_bytes());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Options;

    #[test]
    fn bytes_and_fprog_are_the_instructions() {
        let bits = [0u8; 64];
        let pers = [Personality {
            audit_arch: crate::arch::AUDIT_ARCH_X86_64,
            nr_flag: 0,
            traced: &bits,
            nsyscalls: 512,
        }];
        let prog = crate::compile(&pers, &Options::default()).unwrap();
        let bytes = prog.to_bytes();
        assert_eq!(bytes.len(), prog.len() * 8);
        for (chunk, i) in bytes.chunks_exact(8).zip(prog.insns()) {
            assert_eq!(u16::from_ne_bytes([chunk[0], chunk[1]]), i.code);
            assert_eq!((chunk[2], chunk[3]), (i.jt, i.jf));
            assert_eq!(u32::from_ne_bytes(chunk[4..].try_into().unwrap()), i.k);
        }
        let f = prog.fprog();
        assert_eq!(f.len as usize, prog.len());
        assert_eq!(f.filter as *const Insn, prog.insns().as_ptr());
    }

    /// Any input is an answer, never a panic: the emulator's run assumes a
    /// checked program, so the public entry points check first.
    #[test]
    fn invalid_programs_are_errors() {
        let data = SeccompData::new(crate::arch::AUDIT_ARCH_X86_64, 0);
        assert_eq!(evaluate(&[], &data), Err(CheckError::Length(0)));
        // A jump past the end, and a load at a misaligned offset.
        let jump_out = [Insn::jump(0x15, 0, 9, 9), Insn::stmt(0x06, 0)];
        assert_eq!(evaluate(&jump_out, &data), Err(CheckError::Jump { pc: 0 }));
        assert!(!cacheable(&jump_out, data.arch, 0));
        let misaligned = [Insn::stmt(0x20, 2), Insn::stmt(0x06, 0)];
        assert!(Filter::new(&misaligned).is_err());
        assert!(disassemble(&misaligned).contains("; invalid program:"));
        let bits = [0u8; 1];
        let pers = [Personality {
            audit_arch: data.arch,
            nr_flag: 0,
            traced: &bits,
            nsyscalls: 8,
        }];
        assert!(matches!(
            verify(&misaligned, &pers, &Options::default()),
            Err(Error::Program(CheckError::Load { pc: 0, k: 2 }))
        ));
        // A bitmap shorter than nsyscalls.
        let short = [Personality {
            nsyscalls: 9,
            ..pers[0]
        }];
        let ret = [Insn::stmt(0x06, 0x7fff_0000)];
        assert!(matches!(
            verify(&ret, &short, &Options::default()),
            Err(Error::Invalid(_))
        ));
    }

    /// `verify_actions` proves a map's exact values, data bits included.
    #[test]
    fn verify_actions_checks_every_value() {
        use crate::bpf::{SECCOMP_RET_ALLOW, SECCOMP_RET_TRACE};
        let mut actions = vec![SECCOMP_RET_ALLOW; 64];
        actions[3] = SECCOMP_RET_TRACE | 1;
        actions[9] = SECCOMP_RET_TRACE;
        let map = |a| ActionMap {
            audit_arch: crate::arch::AUDIT_ARCH_X86_64,
            nr_flag: 0,
            actions: a,
        };
        let opts = Options::default();
        let prog = crate::compile_actions(&[map(&actions)], &opts).unwrap();
        verify_actions(prog.insns(), &[map(&actions)], &opts).unwrap();
        let mut other = actions.clone();
        other[3] = SECCOMP_RET_TRACE | 2; // only the data bits differ
        match verify_actions(prog.insns(), &[map(&other)], &opts) {
            Err(Error::Verify(why)) => assert!(why.contains('3'), "{why}"),
            r => panic!("{r:?}"),
        }
    }

    /// `verify` proves programs from elsewhere: a lone `ret ALLOW` is right
    /// exactly when nothing is traced and no arch or number is unknown.
    #[test]
    fn verify_names_a_wrong_number() {
        let mut bits = [0u8; 1];
        fn pers(b: &[u8; 1]) -> [Personality<'_>; 1] {
            [Personality {
                audit_arch: crate::arch::AUDIT_ARCH_X86_64,
                nr_flag: 0,
                traced: &b[..],
                nsyscalls: 8,
            }]
        }
        let allow_all = Options {
            unknown_nr_action: crate::bpf::SECCOMP_RET_ALLOW,
            unknown_arch_action: crate::bpf::SECCOMP_RET_ALLOW,
            ..Options::default()
        };
        let ret = [Insn::stmt(0x06, crate::bpf::SECCOMP_RET_ALLOW)];
        verify(&ret, &pers(&bits), &allow_all).unwrap();
        bits[0] = 1 << 5;
        match verify(&ret, &pers(&bits), &allow_all) {
            Err(Error::Verify(e)) => assert!(e.contains("nr 5"), "{e}"),
            other => panic!("{other:?}"),
        }
    }
}
