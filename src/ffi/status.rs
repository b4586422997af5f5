//! The C statuses: every number that stands for an outcome of a call, its
//! fixed text, and the mapping from the core's typed errors. The core never
//! sees a number: it returns [`Error`] (or an install [`Failure`]), and the
//! C boundary turns that into a [`Status`] here, the way rustls-ffi turns
//! its errors into `rustls_result`.
//!
//! The numbers are plain constants beside the other C constants in
//! `ffi/mod.rs`, so that cbindgen emits them as macros in their place (C
//! code may test them with `#ifdef`); the enum is their Rust face.

use std::ffi::{c_int, CStr};

use super::*;

use crate::emulate::CheckError;
use crate::error::Error;
use crate::install::{Failure, Outcome};

/// Every status, one variant per `TRACEFILTER_OK`/`TRACEFILTER_E_*` number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum Status {
    Ok = TRACEFILTER_OK,
    Null = TRACEFILTER_E_NULL,
    Invalid = TRACEFILTER_E_INVALID,
    Overlap = TRACEFILTER_E_OVERLAP,
    TooLarge = TRACEFILTER_E_TOO_LARGE,
    NoMemory = TRACEFILTER_E_NO_MEMORY,
    Verify = TRACEFILTER_E_VERIFY,
    Internal = TRACEFILTER_E_INTERNAL,
    Strategy = TRACEFILTER_E_STRATEGY,
    Unsupported = TRACEFILTER_E_UNSUPPORTED,
    NeedsNoNewPrivs = TRACEFILTER_E_NEEDS_NO_NEW_PRIVS,
    Kernel = TRACEFILTER_E_KERNEL,
    Io = TRACEFILTER_E_IO,
    NoReport = TRACEFILTER_E_NO_REPORT,
    Ptrace = TRACEFILTER_E_PTRACE,
    UnknownName = TRACEFILTER_E_UNKNOWN_NAME,
    Limit = TRACEFILTER_E_LIMIT,
    ProgramLength = TRACEFILTER_E_PROGRAM_LENGTH,
    ProgramOpcode = TRACEFILTER_E_PROGRAM_OPCODE,
    ProgramJump = TRACEFILTER_E_PROGRAM_JUMP,
    ProgramLoad = TRACEFILTER_E_PROGRAM_LOAD,
    ProgramOperand = TRACEFILTER_E_PROGRAM_OPERAND,
    ProgramScratch = TRACEFILTER_E_PROGRAM_SCRATCH,
    ProgramNoReturn = TRACEFILTER_E_PROGRAM_NO_RETURN,
}

impl Status {
    /// Every status, in the header's order.
    pub const ALL: [Status; 24] = [
        Status::Ok,
        Status::Null,
        Status::Invalid,
        Status::Overlap,
        Status::TooLarge,
        Status::NoMemory,
        Status::Verify,
        Status::Internal,
        Status::Strategy,
        Status::Unsupported,
        Status::NeedsNoNewPrivs,
        Status::Kernel,
        Status::Io,
        Status::NoReport,
        Status::Ptrace,
        Status::UnknownName,
        Status::Limit,
        Status::ProgramLength,
        Status::ProgramOpcode,
        Status::ProgramJump,
        Status::ProgramLoad,
        Status::ProgramOperand,
        Status::ProgramScratch,
        Status::ProgramNoReturn,
    ];

    pub const fn code(self) -> c_int {
        self as c_int
    }

    pub fn from_code(code: c_int) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.code() == code)
    }

    /// The fixed text `tracefilter_strerror` gives; the Rust `Display` of
    /// an error adds the detail.
    pub const fn text(self) -> &'static CStr {
        match self {
            Status::Ok => c"success",
            Status::Null => c"a required pointer argument is NULL",
            Status::Invalid => c"invalid argument",
            Status::Overlap => c"duplicate or overlapping personalities",
            Status::TooLarge => c"no program for this syscall set fits in BPF_MAXINSNS instructions",
            Status::NoMemory => c"out of memory",
            Status::Verify => c"internal error: the generated program failed verification",
            Status::Internal => c"internal error",
            Status::Strategy => c"the forced strategy cannot express this syscall set",
            Status::Unsupported => c"the kernel lacks what this call needs (seccomp filter mode; for untraced_clear, a way to read or rewrite the syscall)",
            Status::NeedsNoNewPrivs => c"installing the filter needs no_new_privs, which the caller did not allow",
            Status::Kernel => c"the kernel refused the filter (see the report's step and errno)",
            Status::Io => c"reading or writing the install report failed",
            Status::NoReport => c"no install report: the child exec'd or died before sending it",
            Status::Ptrace => c"ptrace failed while probing",
            Status::UnknownName => c"no syscall of that name in the personality's table",
            Status::Limit => c"the specification exceeds a documented limit on numbers or runs",
            Status::ProgramLength => c"invalid program: length is 0 or above BPF_MAXINSNS",
            Status::ProgramOpcode => c"invalid program: an opcode seccomp does not accept",
            Status::ProgramJump => c"invalid program: a jump leaves the program",
            Status::ProgramLoad => c"invalid program: a load outside struct seccomp_data or not 4-byte aligned",
            Status::ProgramOperand => c"invalid program: a constant division by zero, a shift of 32 or more, or a scratch index above 15",
            Status::ProgramScratch => c"invalid program: scratch memory read before it is written",
            Status::ProgramNoReturn => c"invalid program: the last instruction is not a return",
        }
    }
}

impl From<&Error> for Status {
    fn from(e: &Error) -> Status {
        match e {
            Error::Null(_) => Status::Null,
            Error::Invalid(_) | Error::InvalidArg(_) => Status::Invalid,
            Error::Overlap(_) => Status::Overlap,
            Error::TooLarge(_) => Status::TooLarge,
            Error::NoMemory => Status::NoMemory,
            Error::Verify(_) => Status::Verify,
            Error::Internal(_) => Status::Internal,
            Error::Strategy(_) => Status::Strategy,
            Error::UnknownName(_) => Status::UnknownName,
            Error::Limit(_) => Status::Limit,
            Error::Program(e) => (*e).into(),
            Error::Install(e) => e.failure.into(),
            Error::Unsupported(_) => Status::Unsupported,
            Error::Kernel { .. } => Status::Kernel,
            Error::Io(_) => Status::Io,
            Error::NoReport => Status::NoReport,
            Error::Ptrace(_) => Status::Ptrace,
        }
    }
}

impl From<CheckError> for Status {
    fn from(e: CheckError) -> Status {
        match e {
            CheckError::Length(_) => Status::ProgramLength,
            CheckError::Opcode { .. } => Status::ProgramOpcode,
            CheckError::Jump { .. } => Status::ProgramJump,
            CheckError::Load { .. } => Status::ProgramLoad,
            CheckError::Operand { .. } => Status::ProgramOperand,
            CheckError::Scratch { .. } => Status::ProgramScratch,
            CheckError::NoReturn => Status::ProgramNoReturn,
        }
    }
}

/// The install outcomes and their statuses, both ways: a report crosses
/// the C boundary in both directions (tracefilter_report_send reads one).
const INSTALL: [(Outcome, Status); 8] = [
    (Ok(()), Status::Ok),
    (Err(Failure::Flags), Status::Invalid),
    (Err(Failure::Null), Status::Null),
    (Err(Failure::Length), Status::ProgramLength),
    (Err(Failure::NeedsNoNewPrivs), Status::NeedsNoNewPrivs),
    (Err(Failure::Unsupported), Status::Unsupported),
    (Err(Failure::Kernel), Status::Kernel),
    (Err(Failure::NoReport), Status::NoReport),
];

impl From<Failure> for Status {
    fn from(f: Failure) -> Status {
        Status::of_install(Err(f))
    }
}

impl Status {
    pub fn of_install(outcome: Outcome) -> Status {
        INSTALL
            .iter()
            .find(|(o, _)| *o == outcome)
            .map_or(Status::Internal, |&(_, s)| s)
    }

    /// The install outcome this status stands for; `None` for a status no
    /// install reports.
    pub fn install_outcome(self) -> Option<Outcome> {
        INSTALL.iter().find(|(_, s)| *s == self).map(|&(o, _)| o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_has_one_number_and_a_text() {
        for (i, s) in Status::ALL.iter().enumerate() {
            assert_eq!(Status::from_code(s.code()), Some(*s));
            assert!(!s.text().is_empty());
            assert!(Status::ALL[..i].iter().all(|t| t.code() != s.code()));
        }
        assert_eq!(Status::from_code(-17), None);
        assert_eq!(Status::from_code(1), None);
    }

    #[test]
    fn install_outcomes_map_both_ways() {
        for (outcome, status) in INSTALL {
            assert_eq!(Status::of_install(outcome), status);
            assert_eq!(status.install_outcome(), Some(outcome));
        }
        assert_eq!(Status::Verify.install_outcome(), None);
    }
}
