//! Errors of the library, typed. The C layer maps each variant to one
//! status number (`ffi::status`); no number lives here.

use crate::emulate::CheckError;
use crate::install::InstallError;

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
    /// An install left no filter active; the report's step and errno
    /// travel with it.
    #[error(transparent)]
    Install(#[from] InstallError),
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
