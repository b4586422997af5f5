//! A readable listing of any cBPF program, in the syntax of the kernel's
//! `bpf_dbg`/`bpfc`, with absolute jump targets and seccomp annotations.
//! A program the kernel would refuse is still listed, followed by the
//! checker's verdict, so a caller can see what is wrong with it.

use std::fmt::Write;

use crate::arch;
use crate::bpf::*;
use crate::emulate;

pub fn disassemble(prog: &[Insn]) -> String {
    let mut s = String::new();
    for (pc, insn) in prog.iter().enumerate() {
        let (text, note) = describe(pc, insn);
        let _ = write!(s, "{pc:4}: {text}");
        if let Some(note) = note {
            let pad = 34usize.saturating_sub(text.len());
            let _ = write!(s, "{:pad$} ; {note}", "");
        }
        s.push('\n');
    }
    if let Err(e) = emulate::check(prog) {
        let _ = writeln!(s, "; invalid program: {e}");
    }
    s
}

fn field(k: u32) -> Option<&'static str> {
    Some(match k {
        SECCOMP_DATA_NR => "nr",
        SECCOMP_DATA_ARCH => "arch",
        8 | 12 => "instruction_pointer",
        16..=63 => [
            "args[0]", "args[1]", "args[2]", "args[3]", "args[4]", "args[5]",
        ][((k - 16) / 8) as usize],
        _ => return None,
    })
}

fn describe(pc: usize, insn: &Insn) -> (String, Option<String>) {
    let Insn { code, jt, jf, k } = *insn;
    let operand = if src(code) == BPF_X {
        "x".to_string()
    } else {
        format!("#{k:#x}")
    };
    let target = |off: u32| pc as u64 + 1 + off as u64;
    match class(code) {
        BPF_RET if code == BPF_RET | BPF_A => ("ret a".into(), None),
        BPF_RET if code == BPF_RET | BPF_K => {
            let data = k & SECCOMP_RET_DATA;
            let name = action_name(k);
            (
                format!("ret #{k:#x}"),
                Some(if data != 0 {
                    format!("{name}({data})")
                } else {
                    name.into()
                }),
            )
        }
        BPF_LD | BPF_LDX => {
            let reg = if class(code) == BPF_LD { "ld" } else { "ldx" };
            match code & 0xe0 {
                BPF_ABS if code & 0x18 == BPF_W => {
                    let note = field(k).map(|f| {
                        if k % 8 == 4 && k >= 8 {
                            format!("{f} (high half)")
                        } else {
                            f.into()
                        }
                    });
                    (format!("{reg} [{k}]"), note)
                }
                BPF_IMM => (format!("{reg} #{k:#x}"), None),
                BPF_MEM => (format!("{reg} M[{k}]"), None),
                BPF_LEN => (format!("{reg} #len"), None),
                _ => raw(insn),
            }
        }
        BPF_ST => (format!("st M[{k}]"), None),
        BPF_STX => (format!("stx M[{k}]"), None),
        BPF_MISC if code == BPF_MISC | BPF_TAX => ("tax".into(), None),
        BPF_MISC if code == BPF_MISC | BPF_TXA => ("txa".into(), None),
        BPF_ALU => {
            let name = match op(code) {
                BPF_ADD => "add",
                BPF_SUB => "sub",
                BPF_MUL => "mul",
                BPF_DIV => "div",
                BPF_OR => "or",
                BPF_AND => "and",
                BPF_LSH => "lsh",
                BPF_RSH => "rsh",
                BPF_NEG => return ("neg".into(), None),
                BPF_MOD => "mod",
                BPF_XOR => "xor",
                _ => return raw(insn),
            };
            (format!("{name} {operand}"), None)
        }
        BPF_JMP => {
            let name = match op(code) {
                BPF_JA if code == BPF_JMP | BPF_JA => return (format!("ja {}", target(k)), None),
                BPF_JEQ => "jeq",
                BPF_JGT => "jgt",
                BPF_JGE => "jge",
                BPF_JSET => "jset",
                _ => return raw(insn),
            };
            let note = (op(code) == BPF_JEQ && src(code) == BPF_K)
                .then(|| arch::name(k))
                .flatten()
                .map(String::from);
            (
                format!(
                    "{name} {operand:<12} jt {:<4} jf {}",
                    target(jt as u32),
                    target(jf as u32)
                ),
                note,
            )
        }
        _ => raw(insn),
    }
}

fn raw(insn: &Insn) -> (String, Option<String>) {
    (
        format!(
            ".insn {:#06x}, {}, {}, {:#x}",
            insn.code, insn.jt, insn.jf, insn.k
        ),
        Some("unknown opcode".into()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_annotates() {
        let p = [
            Insn::stmt(BPF_LD | BPF_W | BPF_ABS, SECCOMP_DATA_ARCH),
            Insn::jump(
                BPF_JMP | BPF_JEQ | BPF_K,
                crate::arch::AUDIT_ARCH_X86_64,
                0,
                1,
            ),
            Insn::stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
            Insn::stmt(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 38),
        ];
        let s = disassemble(&p);
        assert!(s.contains("   0: ld [4]"), "{s}");
        assert!(s.contains("; arch"), "{s}");
        assert!(s.contains("jeq #0xc000003e"), "{s}");
        assert!(s.contains("jt 2    jf 3"), "{s}");
        assert!(s.contains("; x86_64"), "{s}");
        assert!(s.contains("ret #0x50026"), "{s}");
        assert!(s.contains("ERRNO(38)"), "{s}");
        assert!(!s.contains("invalid"), "{s}");
    }

    #[test]
    fn marks_what_the_kernel_refuses() {
        let p = [
            Insn::stmt(0xffff, 1),
            Insn::jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 9, 0),
        ];
        let s = disassemble(&p);
        assert!(s.contains(".insn 0xffff"), "{s}");
        assert!(
            s.contains("; invalid program: instruction 0: opcode 0xffff"),
            "{s}"
        );
        assert_eq!(
            disassemble(&[]),
            "; invalid program: length 0 is not within 1..=4096\n"
        );
    }
}
