//! The peers we compare with, on identical bitmaps: strace 6.1's programs
//! (read from its debug dump by tools/strace-program.sh) and libseccomp's (through its C API), plus
//! the public corpus of syscall sets. Shared by tests/optimizer.rs and
//! benches/programs.rs.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use tracefilter::SyscallTable;
use tracefilter::{check, Filter, SeccompData};
use tracefilter::{Insn, Personality};

pub const X86_64: u32 = 0xC000_003E;
pub const I386: u32 = 0x4000_0003;
pub const X32_BIT: u32 = 0x4000_0000;
pub const ALLOW: u32 = 0x7fff_0000;
pub const TRACE: u32 = 0x7ff0_0000;

/// The repository's corpus, `tests/corpus.txt`: one `-e trace=` set a line.
pub fn corpus() -> Result<Vec<String>, String> {
    let path: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus.txt");
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
    /// The bitmaps tracing `names`, in each table where they exist.
    pub fn named(names: &[&str]) -> X86Sets {
        let pers = ["x86_64", "i386", "x32"]
            .iter()
            .map(|t| {
                let t = SyscallTable::by_name(t).unwrap();
                let n = t.size();
                let mut bits = vec![0u8; n.div_ceil(8) as usize];
                for nr in names.iter().filter_map(|s| t.number(s)) {
                    bits[(nr / 8) as usize] |= 1 << (nr % 8);
                }
                (t.audit_arch, t.nr_flag, bits, n)
            })
            .collect();
        X86Sets { pers }
    }

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
        let prog = Filter::new(prog).expect("a program the kernel accepts");
        let pers = ["x86_64", "i386", "x32"]
            .iter()
            .map(|name| {
                let t = SyscallTable::by_name(name).expect("x86 tables exist");
                let n = t.size();
                let mut bits = vec![0u8; n.div_ceil(8) as usize];
                for i in 0..n {
                    let r = prog.evaluate(&SeccompData::new(t.audit_arch, t.nr_flag | i));
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

/// The program in strace's `-d` output, through tools/strace-program.sh (the
/// project's one reader of that dump), which writes it as raw instructions.
pub fn parse_strace_dump(text: &str) -> Result<Vec<Insn>, String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/strace-program.sh");
    let mut child = Command::new("sh")
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    // Written from a thread: the script's output could fill its pipe first.
    let mut stdin = child.stdin.take().ok_or("no stdin")?;
    let input = text.as_bytes().to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child
        .wait_with_output()
        .map_err(|e| format!("{}: {e}", script.display()))?;
    writer
        .join()
        .map_err(|_| "writer thread panicked")?
        .map_err(|e| format!("writing to {}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    if out.stdout.is_empty() || out.stdout.len() % 8 != 0 {
        return Err(format!("{} bytes: no whole instructions", out.stdout.len()));
    }
    Ok(out
        .stdout
        .chunks_exact(8)
        .map(|b| Insn {
            code: u16::from_le_bytes([b[0], b[1]]),
            jt: b[2],
            jf: b[3],
            k: u32::from_le_bytes([b[4], b[5], b[6], b[7]]),
        })
        .collect())
}
