//! tracefilter compiles per-personality syscall bitmaps (or action maps)
//! into small, fast,
//! verified seccomp filters for ptrace-based tracers, installs them in the
//! tracee with a well-defined fallback, and tells the tracer how to resume.
//!
//! A tracer such as strace stops its tracee twice on every syscall, even
//! when the user asked to see only `openat`. With a seccomp filter in the
//! tracee that returns `SECCOMP_RET_TRACE` for the traced syscalls and
//! `SECCOMP_RET_ALLOW` for the rest, the tracee runs at full speed and stops
//! only where the user looks. This crate is that piece, for Rust tracers
//! here and for C tracers through the C ABI (`include/tracefilter.h`).
//!
//! # Quick start
//!
//! Trace `openat` of x86_64 tracees: compile, look at the program, and run
//! it in the library's emulator of the kernel's seccomp interpreter (which
//! runs on any host). [`SyscallTable::native`] names the host's own table.
//!
//! ```
//! use tracefilter::{compile, Options, SeccompData, SyscallTable};
//!
//! let table = SyscallTable::by_name("x86_64").unwrap();
//! let traced = table.bitmap(&["openat"])?; // one bit per syscall number
//! let prog = compile(&[table.personality(&traced)], &Options::default())?;
//!
//! let openat = table.number("openat").unwrap();
//! let run = prog.evaluate(&SeccompData::new(table.audit_arch, openat));
//! assert_eq!(run.action, libc::SECCOMP_RET_TRACE);
//! let getpid = table.number("getpid").unwrap();
//! let run = prog.evaluate(&SeccompData::new(table.audit_arch, getpid));
//! assert_eq!(run.action, libc::SECCOMP_RET_ALLOW);
//!
//! // What it costs and whether Linux 5.11+ skips it for allowed syscalls:
//! let stats = prog.stats(&[table.personality(&traced)]);
//! assert!(stats.all_cacheable);
//! println!("{} instructions, {:.2} run per allowed syscall\n{}",
//!          stats.length, stats.personalities[0].mean_executed,
//!          tracefilter::disassemble(prog.insns()));
//! # Ok::<(), tracefilter::Error>(())
//! ```
//!
//! A tracer that follows 32-bit tracees on a 64-bit kernel passes one
//! [`Personality`] per ABI (x86_64, x32 and i386 on an x86_64 kernel):
//! one program serves them all, and any arch it does not know gets
//! [`Options::unknown_arch_action`].
//!
//! # Data flow
//!
//! [`compile`] takes the bitmaps ([`Personality`]) and [`Options`] (the
//! actions, the [`Objective`], an optional forced [`Strategy`]);
//! [`compile_weighted`] adds a per-syscall profile ([`SyscallWeights`]) and
//! [`compile_guarded`] the CLONE_UNTRACED guard. A tracer whose filter
//! returns more than two values (PRoot's `SECCOMP_RET_TRACE | 1` beside
//! `SECCOMP_RET_TRACE`) gives one [`ActionMap`] per personality instead,
//! the full return value of every number, to [`compile_actions`] and its
//! siblings; a bitmap is the special case of two values. Inside, the bitmaps become
//! decision intervals per arch, every strategy builds a program, the best
//! for the objective is laid out, optimized and then proven: the emulator
//! checks it with the kernel's rules ([`check`]) and proves it returns the
//! right action for every number of every personality and for every
//! unknown number and arch ([`verify`]). A [`Program`] is thus always
//! correct; [`Program::stats`] measures it, [`Program::fprog`] and
//! [`Program::to_bytes`] hand it to the kernel or to another process.
//! [`Filter`], [`evaluate`], [`cacheable`] and [`disassemble`] work on any
//! program, also those of other generators.
//!
//! # The child and the tracer
//!
//! The filter goes in between `fork` and `execve`, in the child:
//! [`child::install`], then [`child::send_report`] over a close-on-exec
//! pipe. That path is async-signal-safe (no allocation, no locks, no
//! panics) and never aborts: every failure is a [`child::Report`] the
//! tracer acts on. The tracer reads it with [`tracer::receive_report`] and
//! resumes at every stop as [`tracer::step`] says; if anything about the
//! filter failed, plain ptrace mode is correct with or without a filter.
//! [`tracer::probe`] tells what the kernel offers. The [`child`] module has
//! a complete, running fork/install/report example.
//!
//! # Safety
//!
//! The compiler, the emulator and the prover are safe Rust without libc
//! calls. `unsafe` lives only in the C ABI ([`ffi`]) and in the syscall
//! layer behind [`child`] and [`tracer`]. Whatever the input, [`compile`]
//! and its siblings, [`verify`], [`check`], [`evaluate`] and
//! [`disassemble`] return an error rather than panic: a [`Personality`]
//! whose bitmap is shorter than its `nsyscalls` is an [`Error::Invalid`].
//! [`Personality::is_traced`] and [`Program::stats`] expect a spec that
//! `compile` accepted.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

mod api;
mod arch;
mod assemble;
mod bpf;
mod clone_guard;
mod clone_stop;
mod compile;
mod disasm;
mod emulate;
mod error;
#[allow(missing_docs)] // documented in include/tracefilter.h, which cbindgen makes from it
pub mod ffi;
mod install;
mod names;
mod peephole;
mod probe;
mod program;
mod protocol;
mod select;
mod set;
mod spec;
mod stats;
mod strategy;
#[cfg(test)]
mod testing;
mod verify;
mod weights;

pub use api::{
    cacheable, check, child, disassemble, evaluate, tracer, verify, verify_actions, Filter,
};
pub use bpf::Insn;
pub use compile::{
    compile, compile_actions, compile_actions_guarded, compile_actions_weighted, compile_guarded,
    compile_weighted, Program,
};
pub use emulate::{CheckError, Run, SeccompData};
pub use error::{Error, Result};
pub use names::Table as SyscallTable;
pub use spec::{ActionMap, Objective, Options, Personality, Strategy};
pub use stats::{PersonalityStats, Stats};
pub use weights::SyscallWeights;
