//! Errors of the library and the C status codes they map to.
//!
//! Every variant has one stable negative status; `tracefilter_strerror` gives
//! a fixed text per status, while the Rust `Display` adds the detail.

use std::ffi::CStr;

use crate::emulate::CheckError;

/// The library's result type.
pub type Result<T> = std::result::Result<T, Error>;

/// Everything that can go wrong, with the detail in its text. The C ABI maps
/// each variant to one `TRACEFILTER_E_*` status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[allow(missing_docs)] // the fields of Kernel are named in its text
pub enum Error {
    /// A required argument is missing (the C ABI's NULL pointers).
    #[error("null pointer argument: {0}")]
    Null(&'static str),
    /// An argument is malformed: an action, a bitmap shorter than its `nsyscalls`, weights.
    #[error("invalid argument: {0}")]
    Invalid(String),
    /// Same status as `Invalid`, without heap data, for the paths that must
    /// not allocate.
    #[error("invalid argument: {0}")]
    InvalidArg(&'static str),
    /// Two personalities claim the same arch and numbers.
    #[error("duplicate or overlapping personalities: {0}")]
    Overlap(String),
    /// No program for the set fits in `BPF_MAXINSNS` instructions.
    #[error("program too large: {0}")]
    TooLarge(String),
    /// An allocation failed.
    #[error("out of memory")]
    NoMemory,
    /// A program does not implement its bitmaps: for a compiled program an
    /// internal error; from [`verify`](crate::verify), the first number it gets wrong.
    #[error("internal error: generated program failed verification: {0}")]
    Verify(String),
    /// A bug in the library (a panic caught at the C boundary).
    #[error("internal error: {0}")]
    Internal(String),
    /// The forced strategy cannot express the set.
    #[error("the forced strategy cannot express this syscall set: {0}")]
    Strategy(String),
    /// A syscall name that the personality's table lacks.
    #[error("unknown syscall name: {0}")]
    UnknownName(String),
    /// The spec exceeds a documented limit on numbers or runs.
    #[error("the specification exceeds a limit: {0}")]
    Limit(String),
    /// The kernel would refuse the program.
    #[error("invalid program: {0}")]
    Program(#[from] CheckError),
    // The kernel-side variants carry no heap data: they are built on the
    // install path, which must not allocate.
    /// The kernel lacks what the call needs.
    #[error("not supported by this kernel: {0}")]
    Unsupported(&'static str),
    /// The kernel asked for no_new_privs and the caller did not allow it.
    #[error("the kernel requires no_new_privs (or CAP_SYS_ADMIN) to install a filter")]
    NeedsNoNewPrivs,
    /// The kernel refused a step (named by `step`) with `errno`.
    #[error("the kernel refused {step}: errno {errno}")]
    Kernel { step: &'static str, errno: i32 },
    /// Reading or writing the install report failed with this errno.
    #[error("report pipe: errno {0}")]
    Io(i32),
    /// The child exec'd or died before sending its install report.
    #[error("no report: the child exec'd or died before sending it")]
    NoReport,
    /// ptrace failed (with this errno) while probing.
    #[error("ptrace failed: errno {0}")]
    Ptrace(i32),
}

/// C status codes. Kept as plain constants so cbindgen emits them as macros.
pub mod status {
    use std::os::raw::c_int;

    /// Success.
    pub const TRACEFILTER_OK: c_int = 0;
    /// A required pointer argument is NULL.
    pub const TRACEFILTER_E_NULL: c_int = -1;
    /// An argument is out of range: count 0 or above TRACEFILTER_MAX_PERSONALITIES,
    /// nsyscalls above TRACEFILTER_MAX_NSYSCALLS, an nr_flag that overlaps the numbers,
    /// an options struct_size the library cannot accept, a value that is not a
    /// seccomp action, an unknown strategy or objective.
    pub const TRACEFILTER_E_INVALID: c_int = -2;
    /// Two personalities share an audit arch and either the same nr_flag
    /// (even when one has nsyscalls 0: the same personality named twice) or
    /// number ranges that overlap (an empty range overlaps nothing).
    pub const TRACEFILTER_E_OVERLAP: c_int = -3;
    /// No program fits in BPF_MAXINSNS instructions: under
    /// TRACEFILTER_STRATEGY_AUTO no strategy's program does; under a forced
    /// strategy, that strategy's does not (AUTO may still find one).
    pub const TRACEFILTER_E_TOO_LARGE: c_int = -4;
    /// Out of memory.
    pub const TRACEFILTER_E_NO_MEMORY: c_int = -5;
    /// A generated program failed verification (a library bug; nothing is returned).
    pub const TRACEFILTER_E_VERIFY: c_int = -6;
    /// Any other internal error, including a caught panic.
    pub const TRACEFILTER_E_INTERNAL: c_int = -7;
    /// The forced strategy cannot express this specification at all, whatever
    /// the size (bits and jset need a block of 32 numbers they can test; a
    /// program too long is TRACEFILTER_E_TOO_LARGE).
    pub const TRACEFILTER_E_STRATEGY: c_int = -8;
    /// The kernel lacks what the call needs: seccomp filter mode (install,
    /// probe_install); PTRACE_GET_SYSCALL_INFO, or a way to rewrite clone's
    /// flags on the tracer's arch (untraced_clear).
    pub const TRACEFILTER_E_UNSUPPORTED: c_int = -9;
    /// The filter needs no_new_privs (the caller lacks CAP_SYS_ADMIN) and
    /// TRACEFILTER_INSTALL_ALLOW_NO_NEW_PRIVS was not given; nothing was changed.
    pub const TRACEFILTER_E_NEEDS_NO_NEW_PRIVS: c_int = -10;
    /// The kernel refused a step; the report holds the step and its errno
    /// (ENOMEM: the stack of filters would exceed 32768 instructions).
    pub const TRACEFILTER_E_KERNEL: c_int = -11;
    /// Reading or writing a report failed, or a short report arrived.
    pub const TRACEFILTER_E_IO: c_int = -12;
    /// End of file before any report: the child exec'd or died without sending one.
    pub const TRACEFILTER_E_NO_REPORT: c_int = -13;
    /// A ptrace request failed or gave unexpected stops while probing.
    pub const TRACEFILTER_E_PTRACE: c_int = -14;
    /// No syscall of that name in the personality's table.
    pub const TRACEFILTER_E_UNKNOWN_NAME: c_int = -15;
    /// The specification exceeds a limit on its size: more than
    /// TRACEFILTER_MAX_TOTAL_NSYSCALLS numbers or more than TRACEFILTER_MAX_RUNS
    /// runs over all personalities. Checked before anything is allocated.
    pub const TRACEFILTER_E_LIMIT: c_int = -16;
    /// Checked program (evaluate, disassemble): length 0 or above BPF_MAXINSNS.
    pub const TRACEFILTER_E_PROGRAM_LENGTH: c_int = -20;
    /// Checked program: an opcode seccomp does not accept.
    pub const TRACEFILTER_E_PROGRAM_OPCODE: c_int = -21;
    /// Checked program: a jump leaves the program.
    pub const TRACEFILTER_E_PROGRAM_JUMP: c_int = -22;
    /// Checked program: a load outside struct seccomp_data or not 4-byte aligned.
    pub const TRACEFILTER_E_PROGRAM_LOAD: c_int = -23;
    /// Checked program: constant division by zero, shift of 32 or more, scratch index above 15.
    pub const TRACEFILTER_E_PROGRAM_OPERAND: c_int = -24;
    /// Checked program: scratch memory read before it is written on some path.
    pub const TRACEFILTER_E_PROGRAM_SCRATCH: c_int = -25;
    /// Checked program: the last instruction is not a return.
    pub const TRACEFILTER_E_PROGRAM_NO_RETURN: c_int = -26;
}

use status::*;

impl Error {
    pub(crate) fn status(&self) -> i32 {
        match self {
            Error::Null(_) => TRACEFILTER_E_NULL,
            Error::Invalid(_) | Error::InvalidArg(_) => TRACEFILTER_E_INVALID,
            Error::Overlap(_) => TRACEFILTER_E_OVERLAP,
            Error::TooLarge(_) => TRACEFILTER_E_TOO_LARGE,
            Error::NoMemory => TRACEFILTER_E_NO_MEMORY,
            Error::Verify(_) => TRACEFILTER_E_VERIFY,
            Error::Internal(_) => TRACEFILTER_E_INTERNAL,
            Error::Strategy(_) => TRACEFILTER_E_STRATEGY,
            Error::UnknownName(_) => TRACEFILTER_E_UNKNOWN_NAME,
            Error::Limit(_) => TRACEFILTER_E_LIMIT,
            Error::Program(e) => e.status(),
            Error::Unsupported(_) => TRACEFILTER_E_UNSUPPORTED,
            Error::NeedsNoNewPrivs => TRACEFILTER_E_NEEDS_NO_NEW_PRIVS,
            Error::Kernel { .. } => TRACEFILTER_E_KERNEL,
            Error::Io(_) => TRACEFILTER_E_IO,
            Error::NoReport => TRACEFILTER_E_NO_REPORT,
            Error::Ptrace(_) => TRACEFILTER_E_PTRACE,
        }
    }
}

/// The fixed text for a status; `None` for a value that is not a status.
pub fn describe(status: i32) -> Option<&'static CStr> {
    Some(match status {
        TRACEFILTER_OK => c"success",
        TRACEFILTER_E_NULL => c"a required pointer argument is NULL",
        TRACEFILTER_E_INVALID => c"invalid argument",
        TRACEFILTER_E_OVERLAP => c"duplicate or overlapping personalities",
        TRACEFILTER_E_TOO_LARGE => c"no program for this syscall set fits in BPF_MAXINSNS instructions",
        TRACEFILTER_E_NO_MEMORY => c"out of memory",
        TRACEFILTER_E_VERIFY => c"internal error: the generated program failed verification",
        TRACEFILTER_E_INTERNAL => c"internal error",
        TRACEFILTER_E_STRATEGY => c"the forced strategy cannot express this syscall set",
        TRACEFILTER_E_UNSUPPORTED => c"the kernel lacks what this call needs (seccomp filter mode; for untraced_clear, a way to read or rewrite the syscall)",
        TRACEFILTER_E_NEEDS_NO_NEW_PRIVS => {
            c"installing the filter needs no_new_privs, which the caller did not allow"
        }
        TRACEFILTER_E_KERNEL => c"the kernel refused the filter (see the report's step and errno)",
        TRACEFILTER_E_IO => c"reading or writing the install report failed",
        TRACEFILTER_E_NO_REPORT => c"no install report: the child exec'd or died before sending it",
        TRACEFILTER_E_PTRACE => c"ptrace failed while probing",
        TRACEFILTER_E_UNKNOWN_NAME => c"no syscall of that name in the personality's table",
        TRACEFILTER_E_LIMIT => c"the specification exceeds a documented limit on numbers or runs",
        TRACEFILTER_E_PROGRAM_LENGTH => c"invalid program: length is 0 or above BPF_MAXINSNS",
        TRACEFILTER_E_PROGRAM_OPCODE => c"invalid program: an opcode seccomp does not accept",
        TRACEFILTER_E_PROGRAM_JUMP => c"invalid program: a jump leaves the program",
        TRACEFILTER_E_PROGRAM_LOAD => {
            c"invalid program: a load outside struct seccomp_data or not 4-byte aligned"
        }
        TRACEFILTER_E_PROGRAM_OPERAND => {
            c"invalid program: a constant division by zero, a shift of 32 or more, or a scratch index above 15"
        }
        TRACEFILTER_E_PROGRAM_SCRATCH => c"invalid program: scratch memory read before it is written",
        TRACEFILTER_E_PROGRAM_NO_RETURN => c"invalid program: the last instruction is not a return",
        _ => return None,
    })
}
