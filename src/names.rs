//! Syscall names and numbers per personality.
//!
//! The tables come from the `syscalls` crate, which generates them from the
//! kernel's own syscall tables. It has no x32 table, so x32 is derived from
//! x86_64's the way the kernel's `syscall_64.tbl` defines it: every "common"
//! entry keeps its number, the "64"-only entries do not exist, and the
//! entries that x32 numbers differently live at 512..=547.
//!
//! Numbers are returned without the personality's `nr_flag`: they index the
//! `traced` bitmap of a `tracefilter_personality`.

use crate::arch::{
    AUDIT_ARCH_AARCH64, AUDIT_ARCH_ARM, AUDIT_ARCH_I386, AUDIT_ARCH_RISCV64, AUDIT_ARCH_X86_64,
    X32_SYSCALL_BIT,
};

/// A personality whose syscall names are known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Table {
    /// The name as strace spells it (`x86_64`, `x32`, `i386`, `aarch64`, `arm`, `riscv64`).
    pub name: &'static str,
    /// Its audit arch, as in `seccomp_data.arch`.
    pub audit_arch: u32,
    /// The flag its numbers carry in `seccomp_data.nr` (x32: `0x40000000`; else 0).
    pub nr_flag: u32,
    kind: Kind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    X86_64,
    X32,
    I386,
    Aarch64,
    Arm,
    Riscv64,
}

pub const TABLES: [Table; 6] = [
    Table {
        name: "x86_64",
        audit_arch: AUDIT_ARCH_X86_64,
        nr_flag: 0,
        kind: Kind::X86_64,
    },
    Table {
        name: "i386",
        audit_arch: AUDIT_ARCH_I386,
        nr_flag: 0,
        kind: Kind::I386,
    },
    Table {
        name: "x32",
        audit_arch: AUDIT_ARCH_X86_64,
        nr_flag: X32_SYSCALL_BIT,
        kind: Kind::X32,
    },
    Table {
        name: "aarch64",
        audit_arch: AUDIT_ARCH_AARCH64,
        nr_flag: 0,
        kind: Kind::Aarch64,
    },
    Table {
        name: "arm",
        audit_arch: AUDIT_ARCH_ARM,
        nr_flag: 0,
        kind: Kind::Arm,
    },
    Table {
        name: "riscv64",
        audit_arch: AUDIT_ARCH_RISCV64,
        nr_flag: 0,
        kind: Kind::Riscv64,
    },
];

/// x86_64 numbers marked "64" in `syscall_64.tbl`: absent from x32.
const X86_64_ONLY: [u32; 47] = [
    13, 15, 16, 19, 20, 45, 46, 47, 54, 55, 59, 101, 127, 128, 129, 131, 134, 156, 174, 177, 178,
    180, 205, 206, 209, 211, 214, 215, 222, 236, 244, 246, 247, 273, 274, 278, 279, 295, 296, 297,
    299, 307, 310, 311, 322, 327, 328,
];

/// The x32 entries of `syscall_64.tbl`, numbered from 512.
const X32_ONLY: [&str; 36] = [
    "rt_sigaction",
    "rt_sigreturn",
    "ioctl",
    "readv",
    "writev",
    "recvfrom",
    "sendmsg",
    "recvmsg",
    "execve",
    "ptrace",
    "rt_sigpending",
    "rt_sigtimedwait",
    "rt_sigqueueinfo",
    "sigaltstack",
    "timer_create",
    "mq_notify",
    "kexec_load",
    "waitid",
    "set_robust_list",
    "get_robust_list",
    "vmsplice",
    "move_pages",
    "preadv",
    "pwritev",
    "rt_tgsigqueueinfo",
    "recvmmsg",
    "sendmmsg",
    "process_vm_readv",
    "process_vm_writev",
    "setsockopt",
    "getsockopt",
    "io_setup",
    "io_submit",
    "execveat",
    "preadv2",
    "pwritev2",
];
const X32_BASE: u32 = 512;

/// Where the `syscalls` crate's aarch64 table differs from the kernel's
/// (include/uapi/asm-generic/unistd.h, which arm64 uses): 79 is
/// `__NR3264_fstatat`, named `newfstatat` on 64-bit arches (as the crate's
/// riscv64 table and strace spell it), and 403..=423, the `*_time64` calls,
/// exist only `#if defined(__SYSCALL_COMPAT) || __BITS_PER_LONG == 32`.
const AARCH64_RENAMED: (u32, &str) = (79, "newfstatat");
const AARCH64_ABSENT: std::ops::RangeInclusive<u32> = 403..=423;

/// One lookup pair per table of the `syscalls` crate. The crate spells
/// syscalls whose name is a Rust keyword as raw identifiers ("r#break");
/// the kernel and strace spell them plainly.
macro_rules! crate_table {
    ($module:ident) => {
        (
            |name: &str| {
                let parse = |n: &str| n.parse::<syscalls::$module::Sysno>().ok();
                parse(name)
                    .filter(|s| !s.name().starts_with("r#"))
                    .or_else(|| parse(&format!("r#{name}")))
                    .map(|s| s.id() as u32)
            },
            |nr: u32| {
                syscalls::$module::Sysno::new(nr as usize)
                    .map(|s| s.name().strip_prefix("r#").unwrap_or(s.name()))
            },
            || syscalls::$module::Sysno::last().id() as u32 + 1,
        )
    };
}

type Lookups = (
    fn(&str) -> Option<u32>,
    fn(u32) -> Option<&'static str>,
    fn() -> u32,
);

fn crate_lookups(kind: Kind) -> Lookups {
    match kind {
        Kind::X86_64 | Kind::X32 => crate_table!(x86_64),
        Kind::I386 => crate_table!(x86),
        Kind::Aarch64 => crate_table!(aarch64),
        Kind::Arm => crate_table!(arm),
        Kind::Riscv64 => crate_table!(riscv64),
    }
}

impl Table {
    /// The table of a personality name as strace spells it ("x86_64",
    /// "i386", "x32", "aarch64", "arm", "riscv64").
    pub fn by_name(name: &str) -> Option<Table> {
        TABLES.into_iter().find(|t| t.name == name)
    }

    /// The table of an (audit arch, nr_flag) pair.
    pub fn by_arch(audit_arch: u32, nr_flag: u32) -> Option<Table> {
        TABLES
            .into_iter()
            .find(|t| t.audit_arch == audit_arch && t.nr_flag == nr_flag)
    }

    /// The syscall number of `name`, without the nr_flag.
    pub fn number(&self, name: &str) -> Option<u32> {
        let (by_name, _, _) = crate_lookups(self.kind);
        if self.kind == Kind::Aarch64 {
            let (renamed, kernel_name) = AARCH64_RENAMED;
            return match by_name(name) {
                _ if name == kernel_name => Some(renamed),
                Some(nr) if nr == renamed || AARCH64_ABSENT.contains(&nr) => None,
                found => found,
            };
        }
        if self.kind != Kind::X32 {
            return by_name(name);
        }
        if let Some(i) = X32_ONLY.iter().position(|&n| n == name) {
            return Some(X32_BASE + i as u32);
        }
        by_name(name).filter(|nr| !X86_64_ONLY.contains(nr))
    }

    /// The name of syscall `nr` (without the nr_flag), if it has one.
    pub fn name_of(&self, nr: u32) -> Option<&'static str> {
        let (_, by_nr, _) = crate_lookups(self.kind);
        if self.kind == Kind::Aarch64 {
            return match nr {
                _ if nr == AARCH64_RENAMED.0 => Some(AARCH64_RENAMED.1),
                _ if AARCH64_ABSENT.contains(&nr) => None,
                _ => by_nr(nr),
            };
        }
        if self.kind != Kind::X32 {
            return by_nr(nr);
        }
        match nr.checked_sub(X32_BASE) {
            Some(i) if (i as usize) < X32_ONLY.len() => Some(X32_ONLY[i as usize]),
            _ if X86_64_ONLY.contains(&nr) => None,
            _ => by_nr(nr),
        }
    }

    /// One past the highest numbered syscall: the natural `nsyscalls`.
    pub fn size(&self) -> u32 {
        let (_, _, size) = crate_lookups(self.kind);
        match self.kind {
            Kind::X32 => size().max(X32_BASE + X32_ONLY.len() as u32),
            _ => size(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_numbers() {
        let t = |n| Table::by_name(n).unwrap();
        assert_eq!(t("x86_64").number("openat"), Some(257));
        assert_eq!(t("i386").number("openat"), Some(295));
        assert_eq!(t("aarch64").number("openat"), Some(56));
        assert_eq!(t("arm").number("openat"), Some(322));
        assert_eq!(t("riscv64").number("openat"), Some(56));
        assert_eq!(t("x86_64").name_of(59), Some("execve"));
        assert_eq!(t("x86_64").number("no_such_call"), None);
        assert_eq!(t("i386").name_of(17), Some("break"));
        assert_eq!(t("i386").number("break"), Some(17));
        assert_eq!(t("i386").number("r#break"), None);
    }

    #[test]
    fn aarch64_follows_the_kernel_table() {
        let a = Table::by_name("aarch64").unwrap();
        assert_eq!(a.number("newfstatat"), Some(79));
        assert_eq!(a.name_of(79), Some("newfstatat"));
        assert_eq!(a.number("fstatat"), None, "no such name in the kernel");
        assert_eq!(a.number("clock_gettime64"), None, "32-bit only");
        assert_eq!(a.name_of(403), None);
        assert_eq!(a.name_of(424), Some("pidfd_send_signal"));
    }

    #[test]
    fn x32_follows_the_kernel_table() {
        let x32 = Table::by_name("x32").unwrap();
        assert_eq!(
            (x32.audit_arch, x32.nr_flag),
            (AUDIT_ARCH_X86_64, X32_SYSCALL_BIT)
        );
        assert_eq!(x32.number("read"), Some(0));
        assert_eq!(x32.number("execve"), Some(520));
        assert_eq!(x32.number("pwritev2"), Some(547));
        assert_eq!(x32.number("uselib"), None, "64-only, no x32 entry");
        assert_eq!(x32.name_of(59), None);
        assert_eq!(x32.name_of(520), Some("execve"));
        assert_eq!(x32.name_of(257), Some("openat"));
        assert!(x32.size() >= 548);
        // Every x32-only name is a "64" entry of x86_64, and the other way
        // round apart from the calls x32 never had.
        let x86_64 = Table::by_name("x86_64").unwrap();
        for name in X32_ONLY {
            let nr = x86_64.number(name).unwrap();
            assert!(X86_64_ONLY.contains(&nr), "{name}");
        }
    }

    #[test]
    fn names_and_numbers_round_trip() {
        for t in TABLES {
            let mut seen = 0;
            for nr in 0..t.size() {
                if let Some(name) = t.name_of(nr) {
                    assert_eq!(t.number(name), Some(nr), "{} {name}", t.name);
                    assert!(
                        name.bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                        "{} {nr}: {name:?} is not a kernel syscall name",
                        t.name
                    );
                    seen += 1;
                }
            }
            assert!(seen > 250, "{}: {seen}", t.name);
            assert!(
                t.name_of(t.size() - 1).is_some(),
                "{}: the last entry",
                t.name
            );
        }
    }
}
