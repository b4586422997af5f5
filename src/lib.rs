//! tracefilter: compiles per-personality syscall bitmaps into small, fast,
//! verified seccomp filters for ptrace-based tracers, behind a C ABI.
//!
//! Data flows one way: [`spec`] (what the caller asks) -> [`set`] (decision
//! intervals per arch, with [`weights`]) -> [`strategy`] (a labelled
//! program, [`program`]; every strategy is tried and [`compile`] keeps the
//! best for the objective) -> [`assemble`] (a `sock_filter` array) ->
//! [`peephole`] -> [`verify`] (a proof against the intervals). [`emulate`] is the kernel's checker, interpreter and
//! action-cache prover; [`disasm`] lists any program. Only [`ffi`] holds
//! `unsafe`,
//! with the syscall layer on the kernel side: [`install`] (between fork and
//! execve), [`probe`] and [`clone_stop`] (the tracer's half of the
//! CLONE_UNTRACED guard of [`clone_guard`]); [`protocol`] tells a tracer how
//! to resume.

#![deny(unsafe_op_in_unsafe_fn)]

pub mod arch;
pub mod assemble;
pub(crate) mod bpf;
pub mod clone_guard;
pub mod clone_stop;
pub mod compile;
pub mod disasm;
pub mod emulate;
pub mod error;
pub mod ffi;
pub mod install;
pub mod names;
pub mod peephole;
pub mod probe;
pub mod program;
pub mod protocol;
pub(crate) mod select;
pub mod set;
pub mod spec;
pub mod stats;
pub mod strategy;
pub mod verify;
pub mod weights;

pub use bpf::Insn;
pub use compile::{compile, compile_guarded, compile_weighted, Program};
pub use error::{Error, Result};
pub use set::Decisions;
pub use spec::{Objective, Options, Personality, Strategy};
