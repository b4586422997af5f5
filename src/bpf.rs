//! Classic BPF as seccomp sees it: instruction encoding, `seccomp_data`
//! offsets and the return actions.
//!
//! The values are the kernel's UAPI (`linux/filter.h`, `linux/bpf_common.h`,
//! `linux/seccomp.h`). They are restated here so that the compiler core stays
//! free of libc and can be tested on any host; the FFI layer checks that
//! [`Insn`] has the layout of `struct sock_filter`.

/// One instruction, laid out exactly like the kernel's `struct sock_filter`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Insn {
    /// The operation: class, size or operation, and source (`BPF_*` of linux/filter.h).
    pub code: u16,
    /// Jump offset when the condition holds, counted from the next instruction.
    pub jt: u8,
    /// Jump offset when it does not.
    pub jf: u8,
    /// The constant operand: an offset, a value or the return action.
    pub k: u32,
}

impl Insn {
    /// A non-jump instruction (`BPF_STMT` of linux/filter.h).
    pub const fn stmt(code: u16, k: u32) -> Insn {
        Insn {
            code,
            jt: 0,
            jf: 0,
            k,
        }
    }

    /// A jump instruction (`BPF_JUMP` of linux/filter.h).
    pub const fn jump(code: u16, k: u32, jt: u8, jf: u8) -> Insn {
        Insn { code, jt, jf, k }
    }

    /// A conditional jump: `jeq`, `jgt`, `jge` or `jset`, taking `jt` or `jf`.
    pub const fn is_cond(&self) -> bool {
        class(self.code) == BPF_JMP && op(self.code) != BPF_JA
    }

    /// The unconditional `ja`, whose offset is `k`.
    pub const fn is_ja(&self) -> bool {
        self.code == BPF_JMP | BPF_JA
    }

    /// A `ret`, which ends the program.
    pub const fn is_ret(&self) -> bool {
        class(self.code) == BPF_RET
    }

    /// Where control may go after this instruction at `pc`: (taken, not
    /// taken) for a conditional jump, the one target of `ja` or of any
    /// other instruction, nothing after a return. Offsets are not checked
    /// against the program's length.
    pub fn targets(&self, pc: usize) -> impl Iterator<Item = usize> {
        let next = pc + 1;
        let t = if self.is_cond() {
            [Some(next + self.jt as usize), Some(next + self.jf as usize)]
        } else if self.is_ja() {
            [Some(next + self.k as usize), None]
        } else if self.is_ret() {
            [None, None]
        } else {
            [Some(next), None]
        };
        t.into_iter().flatten()
    }
}

/// Whether the conditional jump `code` is taken with A = `a` and operand
/// `k`: the one statement of cBPF's comparison semantics (unsigned 32-bit,
/// `jset` a bit test).
pub(crate) const fn jump_taken(code: u16, a: u32, k: u32) -> bool {
    match op(code) {
        BPF_JEQ => a == k,
        BPF_JGT => a > k,
        BPF_JGE => a >= k,
        _ => a & k != 0,
    }
}

/// An inclusive range of values of A, `None` when empty.
pub(crate) type Range = Option<(u32, u32)>;

/// Splits the values `lo..=hi` of A by the ordered comparison `code`
/// (`jge` or `jgt`) with `k`: (the range that takes the jump, the range
/// that does not), each `None` when empty. `jgt k` is `jge k + 1`, and
/// `jgt 0xffffffff` never jumps.
pub(crate) fn split_ordered(code: u16, k: u32, lo: u32, hi: u32) -> (Range, Range) {
    let from = if op(code) == BPF_JGE {
        Some(k)
    } else {
        k.checked_add(1)
    };
    match from {
        Some(t) if t <= lo => (Some((lo, hi)), None),
        Some(t) if t <= hi => (Some((t, hi)), Some((lo, t - 1))),
        _ => (None, Some((lo, hi))),
    }
}

/// Hand-written programs for the tests of every module.
#[cfg(test)]
pub(crate) mod asm {
    use super::*;

    /// `ld [k]`: a word of seccomp_data.
    pub(crate) fn ld(k: u32) -> Insn {
        Insn::stmt(BPF_LD | BPF_W | BPF_ABS, k)
    }
    pub(crate) fn ret(k: u32) -> Insn {
        Insn::stmt(BPF_RET | BPF_K, k)
    }
    /// A conditional jump on a constant: `op` is BPF_JEQ, BPF_JGT, ...
    pub(crate) fn j(op: u16, k: u32, jt: u8, jf: u8) -> Insn {
        Insn::jump(BPF_JMP | op | BPF_K, k, jt, jf)
    }
}

// Instruction classes.
pub(crate) const BPF_LD: u16 = 0x00;
pub(crate) const BPF_LDX: u16 = 0x01;
pub(crate) const BPF_ST: u16 = 0x02;
pub(crate) const BPF_STX: u16 = 0x03;
pub(crate) const BPF_ALU: u16 = 0x04;
pub(crate) const BPF_JMP: u16 = 0x05;
pub(crate) const BPF_RET: u16 = 0x06;
pub(crate) const BPF_MISC: u16 = 0x07;

// Load sizes and modes.
pub(crate) const BPF_W: u16 = 0x00;
#[allow(dead_code)]
pub(crate) const BPF_H: u16 = 0x08;
#[allow(dead_code)]
pub(crate) const BPF_B: u16 = 0x10;
pub(crate) const BPF_IMM: u16 = 0x00;
pub(crate) const BPF_ABS: u16 = 0x20;
#[allow(dead_code)]
pub(crate) const BPF_IND: u16 = 0x40;
pub(crate) const BPF_MEM: u16 = 0x60;
pub(crate) const BPF_LEN: u16 = 0x80;
#[allow(dead_code)]
pub(crate) const BPF_MSH: u16 = 0xa0;

// ALU and jump operations.
pub(crate) const BPF_ADD: u16 = 0x00;
pub(crate) const BPF_SUB: u16 = 0x10;
pub(crate) const BPF_MUL: u16 = 0x20;
pub(crate) const BPF_DIV: u16 = 0x30;
pub(crate) const BPF_OR: u16 = 0x40;
pub(crate) const BPF_AND: u16 = 0x50;
pub(crate) const BPF_LSH: u16 = 0x60;
pub(crate) const BPF_RSH: u16 = 0x70;
pub(crate) const BPF_NEG: u16 = 0x80;
pub(crate) const BPF_MOD: u16 = 0x90;
pub(crate) const BPF_XOR: u16 = 0xa0;

pub(crate) const BPF_JA: u16 = 0x00;
pub(crate) const BPF_JEQ: u16 = 0x10;
pub(crate) const BPF_JGT: u16 = 0x20;
pub(crate) const BPF_JGE: u16 = 0x30;
pub(crate) const BPF_JSET: u16 = 0x40;

// Operand sources.
pub(crate) const BPF_K: u16 = 0x00;
pub(crate) const BPF_X: u16 = 0x08;
pub(crate) const BPF_A: u16 = 0x10;

pub(crate) const BPF_TAX: u16 = 0x00;
pub(crate) const BPF_TXA: u16 = 0x80;

pub(crate) const BPF_MAXINSNS: usize = 4096;
pub(crate) const BPF_MEMWORDS: u32 = 16;

pub(crate) const fn class(code: u16) -> u16 {
    code & 0x07
}
pub(crate) const fn op(code: u16) -> u16 {
    code & 0xf0
}
pub(crate) const fn src(code: u16) -> u16 {
    code & 0x08
}

/// Offsets into `struct seccomp_data { int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6]; }`.
pub(crate) const SECCOMP_DATA_NR: u32 = 0;
pub(crate) const SECCOMP_DATA_ARCH: u32 = 4;
#[allow(dead_code)]
pub(crate) const SECCOMP_DATA_IP: u32 = 8;
pub(crate) const SECCOMP_DATA_ARGS: u32 = 16;
pub(crate) const SECCOMP_DATA_SIZE: u32 = 64;

// Return actions: the high 16 bits select the action, the low 16 bits are data.
pub(crate) const SECCOMP_RET_KILL_PROCESS: u32 = 0x8000_0000;
pub(crate) const SECCOMP_RET_KILL_THREAD: u32 = 0x0000_0000;
pub(crate) const SECCOMP_RET_TRAP: u32 = 0x0003_0000;
pub(crate) const SECCOMP_RET_ERRNO: u32 = 0x0005_0000;
pub(crate) const SECCOMP_RET_USER_NOTIF: u32 = 0x7fc0_0000;
pub(crate) const SECCOMP_RET_TRACE: u32 = 0x7ff0_0000;
pub(crate) const SECCOMP_RET_LOG: u32 = 0x7ffc_0000;
pub(crate) const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;
pub(crate) const SECCOMP_RET_ACTION_FULL: u32 = 0xffff_0000;
pub(crate) const SECCOMP_RET_DATA: u32 = 0x0000_ffff;

/// Whether `value` is an action a filter may return on purpose.
///
/// The kernel treats an unknown action as KILL_PROCESS, so a typo would kill
/// the tracee; it is refused instead. Data bits are accepted only for the
/// actions that pass them on (TRAP, ERRNO, TRACE): on ALLOW in particular they
/// would silently defeat the kernel's action cache, which matches
/// `SECCOMP_RET_ALLOW` exactly.
pub(crate) const fn action_is_valid(value: u32) -> bool {
    let data = value & SECCOMP_RET_DATA;
    match value & SECCOMP_RET_ACTION_FULL {
        SECCOMP_RET_TRAP | SECCOMP_RET_ERRNO | SECCOMP_RET_TRACE => true,
        SECCOMP_RET_KILL_PROCESS
        | SECCOMP_RET_KILL_THREAD
        | SECCOMP_RET_USER_NOTIF
        | SECCOMP_RET_LOG
        | SECCOMP_RET_ALLOW => data == 0,
        _ => false,
    }
}

/// The action's name as seccomp(2) spells it, without data.
pub(crate) const fn action_name(value: u32) -> &'static str {
    match value & SECCOMP_RET_ACTION_FULL {
        SECCOMP_RET_KILL_PROCESS => "KILL_PROCESS",
        SECCOMP_RET_KILL_THREAD => "KILL_THREAD",
        SECCOMP_RET_TRAP => "TRAP",
        SECCOMP_RET_ERRNO => "ERRNO",
        SECCOMP_RET_USER_NOTIF => "USER_NOTIF",
        SECCOMP_RET_TRACE => "TRACE",
        SECCOMP_RET_LOG => "LOG",
        SECCOMP_RET_ALLOW => "ALLOW",
        _ => "KILL_PROCESS(unknown)",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_with_data_only_where_the_kernel_uses_it() {
        assert!(action_is_valid(SECCOMP_RET_TRACE | 7));
        assert!(action_is_valid(SECCOMP_RET_ERRNO | 1));
        assert!(action_is_valid(SECCOMP_RET_ALLOW));
        assert!(action_is_valid(SECCOMP_RET_KILL_THREAD));
        assert!(!action_is_valid(SECCOMP_RET_ALLOW | 1));
        assert!(!action_is_valid(0x1234_0000));
        assert!(!action_is_valid(0xffff_0000));
    }

    #[test]
    fn ordered_split_covers_the_range_exactly() {
        let (jge, jgt) = (BPF_JMP | BPF_JGE | BPF_K, BPF_JMP | BPF_JGT | BPF_K);
        for (code, k, lo, hi) in [
            (jge, 5, 0, 10),
            (jgt, 5, 0, 10),
            (jge, 0, 0, u32::MAX),
            (jgt, u32::MAX, 3, u32::MAX),
            (jge, 11, 0, 10),
            (jgt, 2, 3, 9),
        ] {
            let (yes, no) = split_ordered(code, k, lo, hi);
            for a in [lo, lo.saturating_add(1), k, k.wrapping_add(1), hi] {
                if a < lo || a > hi {
                    continue;
                }
                let inside = |r: Range| r.is_some_and(|(x, y)| x <= a && a <= y);
                assert_eq!(inside(yes), jump_taken(code, a, k), "{code:#x} {k} {a}");
                assert_eq!(inside(no), !jump_taken(code, a, k), "{code:#x} {k} {a}");
            }
        }
    }

    #[test]
    fn targets_follow_the_encoding() {
        let at = |i: Insn| i.targets(10).collect::<Vec<_>>();
        assert_eq!(at(Insn::jump(BPF_JMP | BPF_JEQ | BPF_K, 1, 2, 3)), [13, 14]);
        assert_eq!(at(Insn::stmt(BPF_JMP | BPF_JA, 7)), [18]);
        assert_eq!(at(Insn::stmt(BPF_RET | BPF_K, 0)), [0usize; 0]);
        assert_eq!(at(Insn::stmt(BPF_LD | BPF_W | BPF_ABS, 0)), [11]);
    }
}
