//! A seccomp cBPF emulator: the kernel's checker, its interpreter, and its
//! action-cache prover, for any program a caller hands us.
//!
//! * [`check`] applies the rules of `bpf_check_classic` followed by
//!   `seccomp_check_filter`: a program it accepts is one the kernel accepts,
//!   and it always terminates because every jump goes forward.
//! * [`run`] executes a checked program on a `seccomp_data` and counts the
//!   instructions executed, the figure that costs time on every syscall the
//!   kernel cannot skip.
//! * [`const_allow`] mirrors `seccomp_is_const_allow` (Linux 5.11+): with only
//!   `nr` and `arch` known, does the program provably return exactly
//!   `SECCOMP_RET_ALLOW`? If so the kernel caches the number and never runs
//!   the filter for it again.

use crate::bpf::*;

/// Why the kernel would refuse a program, with the offending instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[allow(missing_docs)] // pc: the instruction; k, code: its operand and opcode
pub enum CheckError {
    /// The program is empty or longer than `BPF_MAXINSNS`.
    #[error("length {0} is not within 1..=4096")]
    Length(usize),
    /// An opcode seccomp does not accept, at instruction `pc`.
    #[error("instruction {pc}: opcode {code:#06x} is not accepted by seccomp")]
    Opcode { pc: usize, code: u16 },
    /// A jump at `pc` lands outside the program.
    #[error("instruction {pc}: jump target outside the program")]
    Jump { pc: usize },
    /// A load at `pc` from offset `k` outside `seccomp_data` or not 4-byte aligned.
    #[error("instruction {pc}: load at offset {k} outside seccomp_data or misaligned")]
    Load { pc: usize, k: u32 },
    /// A constant division by zero, shift of 32 or more, or scratch index above 15 at `pc`.
    #[error("instruction {pc}: invalid constant operand {k}")]
    Operand { pc: usize, k: u32 },
    /// A read of scratch word `k` at `pc` on a path that has not written it.
    #[error("instruction {pc}: scratch word {k} read before it is written")]
    Scratch { pc: usize, k: u32 },
    /// The last instruction is not a return.
    #[error("the last instruction is not a return")]
    NoReturn,
}

/// The fields of `struct seccomp_data` a filter can load.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SeccompData {
    /// The syscall number, with the personality's `nr_flag` (x32: `0x40000000`).
    pub nr: u32,
    /// The audit arch (`AUDIT_ARCH_*` of linux/audit.h).
    pub arch: u32,
    /// The instruction pointer at the syscall.
    pub instruction_pointer: u64,
    /// The six syscall arguments.
    pub args: [u64; 6],
}

impl SeccompData {
    /// A syscall with zero arguments and instruction pointer.
    pub fn new(arch: u32, nr: u32) -> Self {
        SeccompData {
            nr,
            arch,
            ..Default::default()
        }
    }

    /// The 32-bit word at a checked offset, in the host's byte order as the
    /// kernel loads it.
    fn word(&self, offset: u32) -> u32 {
        let half = |v: u64, high: bool| {
            let (lo, hi) = (v as u32, (v >> 32) as u32);
            if high == cfg!(target_endian = "little") {
                hi
            } else {
                lo
            }
        };
        match offset {
            SECCOMP_DATA_NR => self.nr,
            SECCOMP_DATA_ARCH => self.arch,
            8 | 12 => half(self.instruction_pointer, offset == 12),
            _ => {
                let i = ((offset - SECCOMP_DATA_ARGS) / 8) as usize;
                half(self.args[i], offset % 8 == 4)
            }
        }
    }
}

/// Outcome of running a program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Run {
    /// The action the program returned (`SECCOMP_RET_*` with its data).
    pub action: u32,
    /// Instructions executed, the return included.
    pub executed: u32,
}

/// Opcodes `seccomp_check_filter` lets through (after `bpf_check_classic`),
/// including the two length loads it rewrites into immediates.
fn seccomp_accepts(code: u16) -> bool {
    const ALU_OPS: [u16; 9] = [
        BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_AND, BPF_OR, BPF_XOR, BPF_LSH, BPF_RSH,
    ];
    match class(code) {
        BPF_RET => code == BPF_RET | BPF_K || code == BPF_RET | BPF_A,
        BPF_ALU => {
            code == BPF_ALU | BPF_NEG
                || (code & !(0xf0 | BPF_X) == BPF_ALU && ALU_OPS.contains(&op(code)))
        }
        BPF_LD => matches!(
            code,
            x if x == BPF_LD | BPF_W | BPF_ABS
                || x == BPF_LD | BPF_W | BPF_LEN
                || x == BPF_LD | BPF_IMM
                || x == BPF_LD | BPF_MEM
        ),
        BPF_LDX => {
            code == BPF_LDX | BPF_W | BPF_LEN
                || code == BPF_LDX | BPF_IMM
                || code == BPF_LDX | BPF_MEM
        }
        BPF_ST => code == BPF_ST,
        BPF_STX => code == BPF_STX,
        BPF_MISC => code == BPF_MISC | BPF_TAX || code == BPF_MISC | BPF_TXA,
        BPF_JMP => {
            code == BPF_JMP | BPF_JA
                || (code & !(0xf0 | BPF_X) == BPF_JMP
                    && matches!(op(code), BPF_JEQ | BPF_JGT | BPF_JGE | BPF_JSET))
        }
        _ => false,
    }
}

/// The kernel's acceptance rules for a seccomp filter.
pub fn check(prog: &[Insn]) -> Result<(), CheckError> {
    let len = prog.len();
    if len == 0 || len > BPF_MAXINSNS {
        return Err(CheckError::Length(len));
    }
    // Only a load from scratch memory can fail `check_scratch`.
    let mut loads_scratch = false;
    for (pc, insn) in prog.iter().enumerate() {
        let (code, k) = (insn.code, insn.k);
        if !seccomp_accepts(code) {
            return Err(CheckError::Opcode { pc, code });
        }
        loads_scratch |= code == BPF_LD | BPF_MEM || code == BPF_LDX | BPF_MEM;
        let after = len - pc - 1;
        match code {
            c if c == BPF_LD | BPF_W | BPF_ABS && (k >= SECCOMP_DATA_SIZE || k & 3 != 0) => {
                return Err(CheckError::Load { pc, k });
            }
            c if c == BPF_ALU | BPF_DIV | BPF_K && k == 0 => {
                return Err(CheckError::Operand { pc, k })
            }
            c if (c == BPF_ALU | BPF_LSH | BPF_K || c == BPF_ALU | BPF_RSH | BPF_K) && k >= 32 => {
                return Err(CheckError::Operand { pc, k })
            }
            c if (c == BPF_LD | BPF_MEM
                || c == BPF_LDX | BPF_MEM
                || c == BPF_ST
                || c == BPF_STX)
                && k >= BPF_MEMWORDS =>
            {
                return Err(CheckError::Operand { pc, k })
            }
            c if c == BPF_JMP | BPF_JA && k as usize >= after => {
                return Err(CheckError::Jump { pc });
            }
            _ if insn.is_cond() && (insn.jt as usize >= after || insn.jf as usize >= after) => {
                return Err(CheckError::Jump { pc });
            }
            _ => {}
        }
    }
    if class(prog[len - 1].code) != BPF_RET {
        return Err(CheckError::NoReturn);
    }
    if loads_scratch {
        check_scratch(prog)?;
    }
    Ok(())
}

/// `check_load_and_stores`: on every path, a scratch word is stored before it
/// is loaded. Jumps go forward, so one pass with a mask per target suffices.
fn check_scratch(prog: &[Insn]) -> Result<(), CheckError> {
    let mut masks = vec![u16::MAX; prog.len()];
    let mut valid: u16 = 0;
    for (pc, insn) in prog.iter().enumerate() {
        valid &= masks[pc];
        let code = insn.code;
        if code == BPF_ST || code == BPF_STX {
            valid |= 1 << insn.k;
        } else if code == BPF_LD | BPF_MEM || code == BPF_LDX | BPF_MEM {
            if valid & (1 << insn.k) == 0 {
                return Err(CheckError::Scratch { pc, k: insn.k });
            }
        } else if class(code) == BPF_JMP {
            for to in insn.targets(pc) {
                masks[to] &= valid;
            }
            valid = u16::MAX;
        }
    }
    Ok(())
}

/// Runs a program that passed [`check`]. Jumps only go forward, so this
/// executes at most `prog.len()` instructions.
pub fn run(prog: &[Insn], data: &SeccompData) -> Run {
    exec(prog, data).0
}

/// [`run`], and whether the kernel's action cache proves this (arch, nr)
/// allowed: the same as [`const_allow`] in one pass, since a path made of
/// the instructions the cache follows is exactly the path it follows.
pub fn run_cached(prog: &[Insn], data: &SeccompData) -> (Run, bool) {
    let (r, plain) = exec(prog, data);
    (r, plain && r.action == SECCOMP_RET_ALLOW)
}

/// A checked program made only of `ld [nr]`, `ld [arch]`, `jeq`, `jgt`,
/// `jge`, `jset` with a constant, `ja` and `ret #k`: what every strategy
/// but bit matching emits. Runs take a short loop, and since the action
/// cache follows each of these instructions, a number is cacheable exactly
/// when it is allowed. Selection runs such programs thousands of times.
#[derive(Clone, Copy, Debug)]
pub struct Plain<'p>(&'p [Insn]);

impl<'p> Plain<'p> {
    /// `None` when `prog` uses anything else (then use [`run_cached`]).
    pub fn new(prog: &'p [Insn]) -> Option<Plain<'p>> {
        check(prog).ok()?;
        Plain::of_checked(prog)
    }

    /// [`Plain::new`] for a program that passed [`check`], as every
    /// compiled program has: selection scores them without checking again.
    pub fn of_checked(prog: &'p [Insn]) -> Option<Plain<'p>> {
        let plain = |i: &Insn| match i.code {
            c if c == BPF_LD | BPF_W | BPF_ABS => {
                i.k == SECCOMP_DATA_NR || i.k == SECCOMP_DATA_ARCH
            }
            c if c == BPF_RET | BPF_K || c == BPF_JMP | BPF_JA => true,
            c => {
                class(c) == BPF_JMP
                    && src(c) == BPF_K
                    && matches!(op(c), BPF_JEQ | BPF_JGT | BPF_JGE | BPF_JSET)
            }
        };
        prog.iter().all(plain).then_some(Plain(prog))
    }

    /// [`run_cached`] for this program.
    pub fn run_cached(&self, arch: u32, nr: u32) -> (Run, bool) {
        let prog = self.0;
        let (mut a, mut pc, mut executed) = (0u32, 0usize, 0u32);
        loop {
            let insn = prog[pc];
            executed += 1;
            pc += 1;
            let code = insn.code;
            if code == BPF_LD | BPF_W | BPF_ABS {
                a = if insn.k == SECCOMP_DATA_NR { nr } else { arch };
            } else if code == BPF_RET | BPF_K {
                let r = Run {
                    action: insn.k,
                    executed,
                };
                return (r, insn.k == SECCOMP_RET_ALLOW);
            } else if code == BPF_JMP | BPF_JA {
                pc += insn.k as usize;
            } else {
                let taken = jump_taken(code, a, insn.k);
                pc += if taken { insn.jt } else { insn.jf } as usize;
            }
        }
    }
}

impl Plain<'_> {
    /// [`Plain::run_cached`]'s runs for many numbers of one arch at once,
    /// `nrs` ascending: `out[i]` is the run of `nrs[i]`. Numbers
    /// are carried through the program together, as slices of `nrs`, and
    /// part only where a jump parts them, so a search tree is walked once
    /// rather than once per number (selection scores a program over every
    /// interval: ~2000 steps one number at a time for the x86 trio of
    /// `%file,%network,%process`, ~430 together).
    pub fn run_sorted(&self, arch: u32, nrs: &[u32], out: &mut Vec<Run>) {
        debug_assert!(nrs.is_sorted(), "numbers ascending");
        out.clear();
        out.resize(
            nrs.len(),
            Run {
                action: 0,
                executed: 0,
            },
        );
        if nrs.is_empty() {
            return;
        }
        let prog = self.0;
        // Slices waiting: at `pc`, with A holding the number itself,
        // `executed` instructions done, numbers `lo..hi`. Each number
        // waits in one slice at most.
        let mut stack: Vec<(usize, u32, usize, usize)> = Vec::with_capacity(nrs.len());
        // Until the first load A holds 0, whatever the number.
        let (mut pc, mut a, mut executed, mut lo, mut hi) = (0, Some(0), 0, 0, nrs.len());
        loop {
            let insn = prog[pc];
            executed += 1;
            pc += 1;
            let code = insn.code;
            if code == BPF_LD | BPF_W | BPF_ABS {
                a = (insn.k != SECCOMP_DATA_NR).then_some(arch);
                continue;
            }
            if code == BPF_RET | BPF_K {
                out[lo..hi].fill(Run {
                    action: insn.k,
                    executed,
                });
                let Some(next) = stack.pop() else {
                    return;
                };
                (pc, executed, lo, hi) = next;
                a = None;
                continue;
            }
            if code == BPF_JMP | BPF_JA {
                pc += insn.k as usize;
                continue;
            }
            let to = |nr| {
                let taken = jump_taken(code, nr, insn.k);
                pc + if taken { insn.jt } else { insn.jf } as usize
            };
            if let Some(a) = a {
                pc = to(a);
                continue;
            }
            // Where the slice parts: `jge` and `jgt` decide alike on the
            // numbers below a point and alike above it, `jeq` alike below
            // `k`, on `k` and above it; `jset` parts it number by number.
            // `cut..above` are the numbers equal to `k` for `jeq`.
            let (cut, above) = match op(code) {
                BPF_JGE | BPF_JGT => {
                    let taken = nrs[lo..hi].partition_point(|&x| !jump_taken(code, x, insn.k));
                    (lo + taken, lo + taken)
                }
                BPF_JEQ => {
                    let at = lo + nrs[lo..hi].partition_point(|&x| x < insn.k);
                    (at, at + nrs[at..hi].partition_point(|&x| x == insn.k))
                }
                _ => {
                    for (i, &nr) in (lo + 1..hi).zip(&nrs[lo + 1..hi]) {
                        stack.push((to(nr), executed, i, i + 1));
                    }
                    hi = lo + 1;
                    (hi, hi)
                }
            };
            // What is above `cut` waits, in one or two slices; what is
            // below goes on here.
            if above < hi {
                stack.push((to(nrs[above]), executed, above, hi));
            }
            if cut < above {
                stack.push((to(nrs[cut]), executed, cut, above));
            }
            if cut > lo {
                hi = cut;
                pc = to(nrs[lo]);
            } else {
                let (t, _, l, h) = stack.pop().expect("a slice is never empty");
                (pc, lo, hi) = (t, l, h);
            }
        }
    }
}

/// Whether `seccomp_is_const_allow` follows this instruction with only nr
/// and arch known.
fn cache_follows(insn: &Insn) -> bool {
    let code = insn.code;
    (code == BPF_LD | BPF_W | BPF_ABS && (insn.k == SECCOMP_DATA_NR || insn.k == SECCOMP_DATA_ARCH))
        || code == BPF_RET | BPF_K
        || code == BPF_JMP | BPF_JA
        || code == BPF_JMP | BPF_JEQ | BPF_K
        || code == BPF_JMP | BPF_JGE | BPF_K
        || code == BPF_JMP | BPF_JGT | BPF_K
        || code == BPF_JMP | BPF_JSET | BPF_K
        || code == BPF_ALU | BPF_AND | BPF_K
}

fn exec(prog: &[Insn], data: &SeccompData) -> (Run, bool) {
    let mut plain = true;
    let (mut a, mut x) = (0u32, 0u32);
    let mut mem = [0u32; BPF_MEMWORDS as usize];
    let mut pc = 0usize;
    let mut executed = 0u32;
    loop {
        let insn = prog[pc];
        executed += 1;
        pc += 1;
        plain &= cache_follows(&insn);
        let k = insn.k;
        let operand = if src(insn.code) == BPF_X { x } else { k };
        match class(insn.code) {
            BPF_RET => {
                let action = if insn.code == BPF_RET | BPF_A { a } else { k };
                return (Run { action, executed }, plain);
            }
            BPF_LD => {
                a = match insn.code & 0xe0 {
                    BPF_ABS => data.word(k),
                    BPF_MEM => mem[k as usize],
                    BPF_LEN => SECCOMP_DATA_SIZE,
                    _ => k,
                }
            }
            BPF_LDX => {
                x = match insn.code & 0xe0 {
                    BPF_MEM => mem[k as usize],
                    BPF_LEN => SECCOMP_DATA_SIZE,
                    _ => k,
                }
            }
            BPF_ST => mem[k as usize] = a,
            BPF_STX => mem[k as usize] = x,
            BPF_MISC => {
                if insn.code & 0xf8 == BPF_TXA {
                    a = x
                } else {
                    x = a
                }
            }
            BPF_ALU => {
                a = match op(insn.code) {
                    BPF_ADD => a.wrapping_add(operand),
                    BPF_SUB => a.wrapping_sub(operand),
                    BPF_MUL => a.wrapping_mul(operand),
                    BPF_DIV => {
                        // The kernel's conversion of classic BPF ends the
                        // program with 0 on a division by X == 0.
                        if operand == 0 {
                            let r = Run {
                                action: 0,
                                executed,
                            };
                            return (r, false);
                        }
                        a / operand
                    }
                    BPF_AND => a & operand,
                    BPF_OR => a | operand,
                    BPF_XOR => a ^ operand,
                    BPF_LSH => a.wrapping_shl(operand),
                    BPF_RSH => a.wrapping_shr(operand),
                    _ => a.wrapping_neg(),
                }
            }
            _ if insn.is_ja() => pc += k as usize,
            _ => {
                let taken = jump_taken(insn.code, a, operand);
                pc += if taken { insn.jt } else { insn.jf } as usize;
            }
        }
    }
}

/// Whether the kernel's action cache lets (arch, nr) through without
/// running the filter: the number must lie inside the arch's cache bitmap
/// (`seccomp_cache_check_allow_bitmap` in kernel/seccomp.c refuses an `nr`
/// that is negative as an int or at or past the bitmap's size, the arch's
/// syscall count) and the program must always allow it ([`const_allow`]).
/// x32 numbers carry `__X32_SYSCALL_BIT` (0x40000000) into `nr`, far past
/// x86_64's table, so the kernel never caches them; the other arches'
/// sizes are the running kernel's to know, and are left to the caller.
pub fn kernel_caches(prog: &[Insn], arch: u32, nr: u32) -> bool {
    let x32 = arch == crate::arch::AUDIT_ARCH_X86_64 && nr & crate::arch::X32_SYSCALL_BIT != 0;
    let negative = (nr as i32) < 0;
    !x32 && !negative && const_allow(prog, arch, nr)
}

/// `seccomp_is_const_allow`: whether the kernel's action cache proves that
/// this (arch, nr) always gets exactly `SECCOMP_RET_ALLOW`.
pub fn const_allow(prog: &[Insn], arch: u32, nr: u32) -> bool {
    let mut reg = 0u32;
    let mut pc = 0usize;
    while pc < prog.len() {
        let Insn { code, jt, jf, k } = prog[pc];
        match code {
            c if c == BPF_LD | BPF_W | BPF_ABS => match k {
                SECCOMP_DATA_NR => reg = nr,
                SECCOMP_DATA_ARCH => reg = arch,
                _ => return false,
            },
            c if c == BPF_RET | BPF_K => return k == SECCOMP_RET_ALLOW,
            c if c == BPF_JMP | BPF_JA => pc += k as usize,
            c if c == BPF_JMP | BPF_JEQ | BPF_K
                || c == BPF_JMP | BPF_JGE | BPF_K
                || c == BPF_JMP | BPF_JGT | BPF_K
                || c == BPF_JMP | BPF_JSET | BPF_K =>
            {
                pc += if jump_taken(code, reg, k) { jt } else { jf } as usize;
            }
            c if c == BPF_ALU | BPF_AND | BPF_K => reg &= k,
            _ => return false,
        }
        pc += 1;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bpf::asm::{j, ld, ret};

    fn jeq(k: u32, jt: u8, jf: u8) -> Insn {
        j(BPF_JEQ, k, jt, jf)
    }

    #[test]
    fn runs_and_counts() {
        let p = [
            ld(SECCOMP_DATA_NR),
            jeq(2, 0, 1),
            ret(SECCOMP_RET_TRACE),
            ret(SECCOMP_RET_ALLOW),
        ];
        check(&p).unwrap();
        assert_eq!(
            run(&p, &SeccompData::new(0, 2)),
            Run {
                action: SECCOMP_RET_TRACE,
                executed: 3
            }
        );
        assert_eq!(
            run(&p, &SeccompData::new(0, 3)),
            Run {
                action: SECCOMP_RET_ALLOW,
                executed: 3
            }
        );
        assert!(const_allow(&p, 0, 3));
        assert!(!const_allow(&p, 0, 2));
    }

    #[test]
    fn x32_numbers_are_never_cached() {
        use crate::arch::{AUDIT_ARCH_I386, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT};
        let allow = [Insn::stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)];
        assert!(const_allow(&allow, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT | 1));
        assert!(!kernel_caches(
            &allow,
            AUDIT_ARCH_X86_64,
            X32_SYSCALL_BIT | 1
        ));
        assert!(kernel_caches(&allow, AUDIT_ARCH_X86_64, 1));
        // The bit means x32 on x86_64 only.
        assert!(kernel_caches(&allow, AUDIT_ARCH_I386, X32_SYSCALL_BIT | 1));
        // A negative number is past every bitmap.
        assert!(!kernel_caches(&allow, AUDIT_ARCH_I386, 0x8000_0000));
        assert!(!kernel_caches(&allow, AUDIT_ARCH_X86_64, u32::MAX));
    }

    #[test]
    fn checker_rules() {
        assert_eq!(check(&[]), Err(CheckError::Length(0)));
        assert_eq!(check(&vec![ret(0); 4097]), Err(CheckError::Length(4097)));
        assert_eq!(check(&[ld(SECCOMP_DATA_NR)]), Err(CheckError::NoReturn));
        assert_eq!(
            check(&[ld(2), ret(0)]),
            Err(CheckError::Load { pc: 0, k: 2 })
        );
        assert_eq!(
            check(&[ld(64), ret(0)]),
            Err(CheckError::Load { pc: 0, k: 64 })
        );
        assert_eq!(
            check(&[jeq(1, 1, 0), ret(0)]),
            Err(CheckError::Jump { pc: 0 })
        );
        assert_eq!(
            check(&[Insn::stmt(BPF_JMP | BPF_JA, 1), ret(0)]),
            Err(CheckError::Jump { pc: 0 })
        );
        assert_eq!(
            check(&[Insn::stmt(BPF_LD | BPF_B | BPF_ABS, 0), ret(0)]),
            Err(CheckError::Opcode { pc: 0, code: 0x30 })
        );
        assert_eq!(
            check(&[Insn::stmt(BPF_ALU | BPF_MOD | BPF_K, 3), ret(0)]),
            Err(CheckError::Opcode { pc: 0, code: 0x94 })
        );
        assert_eq!(
            check(&[Insn::stmt(BPF_ALU | BPF_DIV | BPF_K, 0), ret(0)]),
            Err(CheckError::Operand { pc: 0, k: 0 })
        );
        assert_eq!(
            check(&[
                Insn::stmt(BPF_LD | BPF_MEM, 3),
                Insn::stmt(BPF_RET | BPF_A, 0)
            ]),
            Err(CheckError::Scratch { pc: 0, k: 3 })
        );
        // A store on one path only does not make the load valid.
        let p = [
            ld(SECCOMP_DATA_NR),
            jeq(1, 0, 1),
            Insn::stmt(BPF_ST, 2),
            Insn::stmt(BPF_LD | BPF_MEM, 2),
            Insn::stmt(BPF_RET | BPF_A, 0),
        ];
        assert_eq!(check(&p), Err(CheckError::Scratch { pc: 3, k: 2 }));
    }

    /// A checked program of every instruction [`Plain`] takes, jumps to
    /// anywhere ahead, constants near the numbers tried.
    fn plain_program(len: usize, mut next: impl FnMut() -> u32) -> Vec<Insn> {
        let mut p: Vec<Insn> = (0..len - 1)
            .map(|pc| {
                let reach = (len - 2 - pc).min(255) as u32 + 1;
                let (jt, jf) = ((next() % reach) as u8, (next() % reach) as u8);
                let k = next() % 40;
                match next() % 8 {
                    0 => ld(SECCOMP_DATA_NR),
                    1 => ld(SECCOMP_DATA_ARCH),
                    2 => ret(next() % 3),
                    3 => Insn::stmt(BPF_JMP | BPF_JA, next() % reach),
                    4 => j(BPF_JEQ, k, jt, jf),
                    5 => j(BPF_JGT, k, jt, jf),
                    6 => j(BPF_JSET, k, jt, jf),
                    _ => j(BPF_JGE, k, jt, jf),
                }
            })
            .collect();
        p.push(ret(7));
        p
    }

    #[test]
    fn runs_of_many_numbers_are_runs_of_each() {
        let mut next = crate::testing::xorshift32(0x9e37_79b9);
        let mut out = Vec::new();
        for round in 0..3000 {
            let len = 1 + (next() % 40) as usize;
            let p = plain_program(len, &mut next);
            let plain = Plain::new(&p).expect("only plain instructions");
            // Ascending, around the constants, and the far ends; repeated
            // numbers every other round.
            let mut nrs: Vec<u32> = (0..next() % 30).map(|_| next() % 45).collect();
            if round % 3 == 0 {
                nrs.extend([0x4000_0000, u32::MAX]);
            }
            nrs.sort_unstable();
            if round % 2 == 0 {
                nrs.dedup();
            }
            for arch in [3, 36] {
                plain.run_sorted(arch, &nrs, &mut out);
                assert_eq!(out.len(), nrs.len());
                for (&nr, r) in nrs.iter().zip(&out) {
                    let want = plain.run_cached(arch, nr).0;
                    assert_eq!(*r, want, "round {round} arch {arch} nr {nr}: {p:?}");
                }
            }
        }
    }

    #[test]
    fn alu_and_scratch() {
        // A = 1 << (nr & 31) via X, stored and reloaded.
        let p = [
            ld(SECCOMP_DATA_NR),
            Insn::stmt(BPF_ALU | BPF_AND | BPF_K, 31),
            Insn::stmt(BPF_MISC | BPF_TAX, 0),
            Insn::stmt(BPF_LD | BPF_IMM, 1),
            Insn::stmt(BPF_ALU | BPF_LSH | BPF_X, 0),
            Insn::stmt(BPF_ST, 0),
            Insn::stmt(BPF_LD | BPF_MEM, 0),
            Insn::stmt(BPF_RET | BPF_A, 0),
        ];
        check(&p).unwrap();
        assert_eq!(run(&p, &SeccompData::new(0, 37)).action, 1 << 5);
        assert!(!const_allow(&p, 0, 37));
    }

    #[test]
    fn loads_args_in_host_order() {
        let mut d = SeccompData::new(1, 2);
        d.args[1] = 0x1111_2222_3333_4444;
        let lo = [ld(SECCOMP_DATA_ARGS + 8), Insn::stmt(BPF_RET | BPF_A, 0)];
        let hi = [ld(SECCOMP_DATA_ARGS + 12), Insn::stmt(BPF_RET | BPF_A, 0)];
        if cfg!(target_endian = "little") {
            assert_eq!(run(&lo, &d).action, 0x3333_4444);
            assert_eq!(run(&hi, &d).action, 0x1111_2222);
        }
    }
}
