//! The tracer's side: how to resume a tracee at each stop, with the filter
//! (seccomp mode) or without it (ptrace mode). See docs/protocol.md.

/// Where the seccomp stop falls relative to the syscall-entry stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// Not measured, or ptrace unavailable: use ptrace mode.
    Unknown,
    /// Linux < 4.8: the seccomp stop comes before the syscall-entry stop.
    SeccompFirst,
    /// Linux >= 4.8: the seccomp check runs after the syscall-entry stop.
    EntryFirst,
}

/// How the tracer runs the tracee.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Our filter may be active and PTRACE_O_TRACESECCOMP is set: resume
    /// with PTRACE_CONT between traced syscalls.
    Seccomp,
    /// No filter (or not known to be active): every resume is PTRACE_SYSCALL.
    Ptrace,
}

/// The kind of stop the tracer is at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// PTRACE_EVENT_SECCOMP.
    Seccomp,
    /// A syscall-entry stop (`PTRACE_SYSCALL`, `PTRACE_GET_SYSCALL_INFO` op entry).
    SyscallEntry,
    /// A syscall-exit stop.
    SyscallExit,
}

/// The ptrace request that resumes the tracee.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    /// `PTRACE_CONT`: run to the next seccomp stop (or signal).
    Cont,
    /// `PTRACE_SYSCALL`: stop at the next syscall entry or exit.
    Syscall,
}

/// What to do at one stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resume {
    /// How to resume.
    pub request: Request,
    /// This stop is the entry of a syscall to print.
    pub decode_entry: bool,
}

const fn go(request: Request, decode_entry: bool) -> Option<Resume> {
    Some(Resume {
        request,
        decode_entry,
    })
}

/// `None` when the combination cannot describe a correct tracer: seccomp
/// mode with an unknown order (the tracer must use ptrace mode then).
///
/// Ptrace mode is correct whether or not a filter is active, as long as
/// PTRACE_O_TRACESECCOMP is set: a seccomp stop there is passed over with
/// PTRACE_SYSCALL, and the entry and exit stops still come. That is the
/// tracer's safe fallback when it does not know whether the install worked.
///
/// In seccomp mode a syscall-entry stop with order EntryFirst only arises
/// after a PTRACE_SYSCALL the table did not ask for; the seccomp stop for
/// the same syscall follows it, so the entry is not decoded there.
pub fn step(mode: Mode, order: Order, stop: Stop, traced: bool) -> Option<Resume> {
    use Request::*;
    match (mode, order, stop) {
        (Mode::Ptrace, _, Stop::SyscallEntry) => go(Syscall, traced),
        (Mode::Ptrace, _, Stop::SyscallExit | Stop::Seccomp) => go(Syscall, false),

        (Mode::Seccomp, Order::Unknown, _) => None,

        // The seccomp stop is the entry: decode it, catch the exit.
        (Mode::Seccomp, Order::EntryFirst, Stop::Seccomp) if traced => go(Syscall, true),
        (Mode::Seccomp, Order::EntryFirst, Stop::Seccomp) => go(Cont, false),
        (Mode::Seccomp, Order::EntryFirst, Stop::SyscallEntry) => go(Cont, false),

        // Before 4.8: the entry stop follows the seccomp stop.
        (Mode::Seccomp, Order::SeccompFirst, Stop::Seccomp) if traced => go(Syscall, false),
        (Mode::Seccomp, Order::SeccompFirst, Stop::Seccomp) => go(Cont, false),
        (Mode::Seccomp, Order::SeccompFirst, Stop::SyscallEntry) if traced => go(Syscall, true),
        (Mode::Seccomp, Order::SeccompFirst, Stop::SyscallEntry) => go(Cont, false),

        (Mode::Seccomp, _, Stop::SyscallExit) => go(Cont, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Mode::*;
    use Order::*;
    use Request::*;
    use Stop::{SyscallEntry, SyscallExit};

    const MODES: [Mode; 2] = [Seccomp, Ptrace];
    const ORDERS: [Order; 3] = [Unknown, SeccompFirst, EntryFirst];
    const STOPS: [Stop; 3] = [Stop::Seccomp, SyscallEntry, SyscallExit];

    /// Every combination, written out: (mode, order, stop, traced) -> (request, decode).
    fn expected(mode: Mode, order: Order, stop: Stop, traced: bool) -> Option<(Request, bool)> {
        #[rustfmt::skip]
        type Row = (Mode, Order, Stop, bool, Option<(Request, bool)>);
        let table: &[Row] = &[
            (
                Ptrace,
                Unknown,
                Stop::Seccomp,
                false,
                Some((Syscall, false)),
            ),
            (Ptrace, Unknown, Stop::Seccomp, true, Some((Syscall, false))),
            (Ptrace, Unknown, SyscallEntry, false, Some((Syscall, false))),
            (Ptrace, Unknown, SyscallEntry, true, Some((Syscall, true))),
            (Ptrace, Unknown, SyscallExit, false, Some((Syscall, false))),
            (Ptrace, Unknown, SyscallExit, true, Some((Syscall, false))),
            (
                Ptrace,
                SeccompFirst,
                Stop::Seccomp,
                false,
                Some((Syscall, false)),
            ),
            (
                Ptrace,
                SeccompFirst,
                Stop::Seccomp,
                true,
                Some((Syscall, false)),
            ),
            (
                Ptrace,
                SeccompFirst,
                SyscallEntry,
                false,
                Some((Syscall, false)),
            ),
            (
                Ptrace,
                SeccompFirst,
                SyscallEntry,
                true,
                Some((Syscall, true)),
            ),
            (
                Ptrace,
                SeccompFirst,
                SyscallExit,
                false,
                Some((Syscall, false)),
            ),
            (
                Ptrace,
                SeccompFirst,
                SyscallExit,
                true,
                Some((Syscall, false)),
            ),
            (
                Ptrace,
                EntryFirst,
                Stop::Seccomp,
                false,
                Some((Syscall, false)),
            ),
            (
                Ptrace,
                EntryFirst,
                Stop::Seccomp,
                true,
                Some((Syscall, false)),
            ),
            (
                Ptrace,
                EntryFirst,
                SyscallEntry,
                false,
                Some((Syscall, false)),
            ),
            (
                Ptrace,
                EntryFirst,
                SyscallEntry,
                true,
                Some((Syscall, true)),
            ),
            (
                Ptrace,
                EntryFirst,
                SyscallExit,
                false,
                Some((Syscall, false)),
            ),
            (
                Ptrace,
                EntryFirst,
                SyscallExit,
                true,
                Some((Syscall, false)),
            ),
            (Seccomp, Unknown, Stop::Seccomp, false, None),
            (Seccomp, Unknown, Stop::Seccomp, true, None),
            (Seccomp, Unknown, SyscallEntry, false, None),
            (Seccomp, Unknown, SyscallEntry, true, None),
            (Seccomp, Unknown, SyscallExit, false, None),
            (Seccomp, Unknown, SyscallExit, true, None),
            (
                Seccomp,
                SeccompFirst,
                Stop::Seccomp,
                false,
                Some((Cont, false)),
            ),
            (
                Seccomp,
                SeccompFirst,
                Stop::Seccomp,
                true,
                Some((Syscall, false)),
            ),
            (
                Seccomp,
                SeccompFirst,
                SyscallEntry,
                false,
                Some((Cont, false)),
            ),
            (
                Seccomp,
                SeccompFirst,
                SyscallEntry,
                true,
                Some((Syscall, true)),
            ),
            (
                Seccomp,
                SeccompFirst,
                SyscallExit,
                false,
                Some((Cont, false)),
            ),
            (
                Seccomp,
                SeccompFirst,
                SyscallExit,
                true,
                Some((Cont, false)),
            ),
            (
                Seccomp,
                EntryFirst,
                Stop::Seccomp,
                false,
                Some((Cont, false)),
            ),
            (
                Seccomp,
                EntryFirst,
                Stop::Seccomp,
                true,
                Some((Syscall, true)),
            ),
            (
                Seccomp,
                EntryFirst,
                SyscallEntry,
                false,
                Some((Cont, false)),
            ),
            (Seccomp, EntryFirst, SyscallEntry, true, Some((Cont, false))),
            (Seccomp, EntryFirst, SyscallExit, false, Some((Cont, false))),
            (Seccomp, EntryFirst, SyscallExit, true, Some((Cont, false))),
        ];
        let hits: Vec<_> = table
            .iter()
            .filter(|r| r.0 == mode && r.1 == order && r.2 == stop && r.3 == traced)
            .collect();
        assert_eq!(
            hits.len(),
            1,
            "table row for {mode:?} {order:?} {stop:?} {traced}"
        );
        hits[0].4
    }

    #[test]
    fn every_combination_matches_the_table() {
        let mut n = 0;
        for mode in MODES {
            for order in ORDERS {
                for stop in STOPS {
                    for traced in [false, true] {
                        let got =
                            step(mode, order, stop, traced).map(|r| (r.request, r.decode_entry));
                        assert_eq!(got, expected(mode, order, stop, traced));
                        n += 1;
                    }
                }
            }
        }
        assert_eq!(n, 36);
    }

    /// The stops a kernel produces for one syscall, given the resume
    /// request at the stop before it; returns the entries decoded.
    fn simulate(mode: Mode, order: Order, traced: bool) -> (usize, usize) {
        // The tracee is running after a PTRACE_CONT (seccomp mode) or a
        // PTRACE_SYSCALL (ptrace mode) and makes one syscall.
        let mut req = if mode == Seccomp { Cont } else { Syscall };
        let filter_stops = mode == Seccomp && traced;
        // Kernel's sequence: each stop happens if its condition holds.
        let seq: Vec<Stop> = match order {
            SeccompFirst => vec![Stop::Seccomp, SyscallEntry, SyscallExit],
            _ => vec![SyscallEntry, Stop::Seccomp, SyscallExit],
        };
        let (mut decoded, mut exits) = (0, 0);
        for s in seq {
            let happens = match s {
                Stop::Seccomp => filter_stops,
                SyscallEntry | SyscallExit => req == Syscall,
            };
            if !happens {
                continue;
            }
            let r = step(mode, order, s, traced).unwrap();
            decoded += r.decode_entry as usize;
            exits += (s == SyscallExit && decoded > 0) as usize;
            req = r.request;
        }
        // The next syscall must start in the mode's resting state.
        let rest = if mode == Seccomp { Cont } else { Syscall };
        assert_eq!(req, rest, "{mode:?} {order:?} traced {traced}");
        (decoded, exits)
    }

    #[test]
    fn each_traced_syscall_is_decoded_once_with_its_exit() {
        for (mode, order) in [
            (Seccomp, SeccompFirst),
            (Seccomp, EntryFirst),
            (Ptrace, Unknown),
            (Ptrace, EntryFirst),
        ] {
            assert_eq!(simulate(mode, order, true), (1, 1), "{mode:?} {order:?}");
            assert_eq!(simulate(mode, order, false), (0, 0), "{mode:?} {order:?}");
        }
    }

    #[test]
    fn ptrace_mode_tolerates_an_active_filter() {
        // A filter we are not sure about: seccomp stops arrive in ptrace mode
        // too, on both orders, and each traced syscall is still decoded once.
        for seq in [
            [SyscallEntry, Stop::Seccomp, SyscallExit],
            [Stop::Seccomp, SyscallEntry, SyscallExit],
        ] {
            let mut decoded = 0;
            for s in seq {
                let r = step(Ptrace, Unknown, s, true).unwrap();
                assert_eq!(r.request, Syscall);
                decoded += r.decode_entry as usize;
            }
            assert_eq!(decoded, 1);
        }
    }
}
