//! Errors of the library, typed. The C layer maps each variant to one
//! status number (`ffi::status`); no number lives here.

use crate::emulate::CheckError;
use crate::install::InstallError;

pub type Result<T> = std::result::Result<T, Error>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("null pointer argument: {0}")]
    Null(&'static str),
    #[error("invalid argument: {0}")]
    Invalid(String),
    /// Same status as `Invalid`, without heap data, for the paths that must
    /// not allocate.
    #[error("invalid argument: {0}")]
    InvalidArg(&'static str),
    #[error("duplicate or overlapping personalities: {0}")]
    Overlap(String),
    #[error("program too large: {0}")]
    TooLarge(String),
    #[error("out of memory")]
    NoMemory,
    #[error("internal error: generated program failed verification: {0}")]
    Verify(String),
    #[error("internal error: {0}")]
    Internal(String),
    #[error("the forced strategy cannot express this syscall set: {0}")]
    Strategy(String),
    #[error("unknown syscall name: {0}")]
    UnknownName(String),
    #[error("the specification exceeds a limit: {0}")]
    Limit(String),
    #[error("invalid program: {0}")]
    Program(#[from] CheckError),
    // The kernel-side variants carry no heap data: they are built on the
    // install path, which must not allocate.
    #[error("not supported by this kernel: {0}")]
    Unsupported(&'static str),
    /// An install left no filter active; the report's step and errno
    /// travel with it.
    #[error(transparent)]
    Install(#[from] InstallError),
    #[error("the kernel refused {step}: errno {errno}")]
    Kernel { step: &'static str, errno: i32 },
    #[error("report pipe: errno {0}")]
    Io(i32),
    #[error("no report: the child exec'd or died before sending it")]
    NoReport,
    #[error("ptrace failed: errno {0}")]
    Ptrace(i32),
}
