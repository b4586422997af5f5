//! The peers we compare with, on identical bitmaps: strace 6.1's programs
//! (parsed from its debug dump) and libseccomp's (through its C API), plus
//! the public corpus of syscall sets. Shared by tests/optimizer.rs and
//! benches/programs.rs.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use tracefilter::emulate::{check, run, SeccompData};
use tracefilter::names::Table;
use tracefilter::{Insn, Personality};

pub const X86_64: u32 = 0xC000_003E;
pub const I386: u32 = 0x4000_0003;
pub const X32_BIT: u32 = 0x4000_0000;
pub const ALLOW: u32 = 0x7fff_0000;
pub const TRACE: u32 = 0x7ff0_0000;

/// `../shared/corpus.txt` beside the repository: one `-e trace=` set a line.
pub fn corpus() -> Result<Vec<String>, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path: PathBuf = root
        .parent()
        .map(|p| p.join("shared/corpus.txt"))
        .ok_or("no parent directory")?;
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect())
}

/// Owned bitmaps of the three x86 personalities, native first.
#[derive(Clone, Debug, PartialEq)]
pub struct X86Sets {
    /// (audit arch, nr flag, bitmap, nsyscalls): x86_64, i386, x32.
    pub pers: Vec<(u32, u32, Vec<u8>, u32)>,
}

impl X86Sets {
    pub fn views(&self) -> Vec<Personality<'_>> {
        self.pers
            .iter()
            .map(|(a, f, b, n)| Personality {
                audit_arch: *a,
                nr_flag: *f,
                traced: b,
                nsyscalls: *n,
            })
            .collect()
    }

    /// The bitmaps a program encodes: a number is traced unless the
    /// program allows it.
    pub fn from_program(prog: &[Insn]) -> X86Sets {
        let pers = ["x86_64", "i386", "x32"]
            .iter()
            .map(|name| {
                let t = Table::by_name(name).expect("x86 tables exist");
                let n = t.size();
                let mut bits = vec![0u8; n.div_ceil(8) as usize];
                for i in 0..n {
                    let r = run(prog, &SeccompData::new(t.audit_arch, t.nr_flag | i));
                    if r.action != ALLOW {
                        bits[(i / 8) as usize] |= 1 << (i % 8);
                    }
                }
                (t.audit_arch, t.nr_flag, bits, n)
            })
            .collect();
        X86Sets { pers }
    }

    /// Numbers allowed per personality.
    pub fn allowed(&self) -> Vec<u32> {
        self.views()
            .iter()
            .map(|p| (0..p.nsyscalls).filter(|&i| !p.is_traced(i)).count() as u32)
            .collect()
    }
}

/// Runs `strace -d --seccomp-bpf -f -e trace=SET true` and returns the
/// program it dumps, checked by our copy of the kernel's checker.
pub fn strace_program(set: &str) -> Result<Vec<Insn>, String> {
    let out = Command::new("strace")
        .args(["-d", "--seccomp-bpf", "-f", "-e"])
        .arg(format!("trace={set}"))
        .arg("true")
        .output()
        .map_err(|e| format!("cannot run strace: {e}"))?;
    let text = String::from_utf8_lossy(&out.stderr);
    let prog = parse_strace_dump(&text).map_err(|e| {
        let first = text.lines().next().unwrap_or_default();
        format!("{e} (strace said: {first:?})")
    })?;
    check(&prog).map_err(|e| format!("strace's program fails the checker: {e}"))?;
    Ok(prog)
}

/// Whether an strace that dumps its filter is installed.
pub fn strace_available() -> Result<(), String> {
    let out = Command::new("strace")
        .arg("-V")
        .output()
        .map_err(|e| format!("strace not found: {e}"))?;
    let v = String::from_utf8_lossy(&out.stdout);
    if v.contains("version 6.") {
        Ok(())
    } else {
        Err(format!("strace 6.x wanted, found {:?}", v.lines().next()))
    }
}

fn number(s: &str) -> Result<u32, String> {
    let s = s.trim();
    let r = match s.strip_prefix("0x") {
        Some(h) => u32::from_str_radix(h, 16),
        None => s.parse(),
    };
    r.map_err(|_| format!("bad number {s:?}"))
}

/// Parses the `STMT(...)` / `JUMP(...)` lines of strace 6.1's `-d` output
/// (`src/filter_seccomp.c`, `dump_seccomp_bpf`).
pub fn parse_strace_dump(text: &str) -> Result<Vec<Insn>, String> {
    let mut prog = Vec::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("strace: ") else {
            continue;
        };
        let (kind, body) = if let Some(b) = rest.strip_prefix("STMT(") {
            ("STMT", b)
        } else if let Some(b) = rest.strip_prefix("JUMP(") {
            ("JUMP", b)
        } else {
            continue;
        };
        let body = body.strip_suffix(')').ok_or(format!("bad line {line:?}"))?;
        let f: Vec<&str> = body.split(',').map(str::trim).collect();
        let insn = match (kind, f.as_slice()) {
            ("STMT", ["BPF_LDWABS", field]) => Insn::stmt(
                0x20,
                match *field {
                    "data->nr" => 0,
                    "data->arch" => 4,
                    other => return Err(format!("unknown field {other}")),
                },
            ),
            ("STMT", ["BPF_LDWIMM", k]) => Insn::stmt(0x00, number(k)?),
            ("STMT", ["BPF_TAX"]) => Insn::stmt(0x07, 0),
            ("STMT", ["BPF_TXA"]) => Insn::stmt(0x87, 0),
            ("STMT", [op, "X"]) => Insn::stmt(alu(op)? | 0x08, 0),
            ("STMT", ["BPF_RET", action]) => Insn::stmt(
                0x06,
                match *action {
                    "SECCOMP_RET_ALLOW" => ALLOW,
                    "SECCOMP_RET_TRACE" => TRACE,
                    other => number(other)?,
                },
            ),
            ("STMT", [op, k]) => Insn::stmt(alu(op)?, number(k)?),
            ("JUMP", ["BPF_JA", k]) => Insn::stmt(0x05, number(k)?),
            ("JUMP", [op, jt, jf, k]) => {
                let code = match *op {
                    "BPF_JEQ" => 0x15,
                    "BPF_JGT" => 0x25,
                    "BPF_JGE" => 0x35,
                    "BPF_JSET" => 0x45,
                    other => return Err(format!("unknown jump {other}")),
                };
                Insn::jump(code, number(k)?, number(jt)? as u8, number(jf)? as u8)
            }
            _ => return Err(format!("unknown instruction {line:?}")),
        };
        prog.push(insn);
    }
    if prog.is_empty() {
        return Err("no filter in strace's debug output".into());
    }
    Ok(prog)
}

fn alu(op: &str) -> Result<u16, String> {
    Ok(match op {
        "BPF_ADD" => 0x04,
        "BPF_SUB" => 0x14,
        "BPF_AND" => 0x54,
        "BPF_OR" => 0x44,
        "BPF_LSH" => 0x64,
        "BPF_RSH" => 0x74,
        other => return Err(format!("unknown ALU op {other}")),
    })
}
