//! Audit architectures: the value a filter sees in `seccomp_data.arch`.

pub(crate) const AUDIT_ARCH_X86_64: u32 = 0xC000_003E;
pub(crate) const AUDIT_ARCH_I386: u32 = 0x4000_0003;
pub(crate) const AUDIT_ARCH_AARCH64: u32 = 0xC000_00B7;
pub(crate) const AUDIT_ARCH_ARM: u32 = 0x4000_0028;
pub(crate) const AUDIT_ARCH_RISCV64: u32 = 0xC000_00F3;
pub(crate) const AUDIT_ARCH_PPC64LE: u32 = 0xC000_0015;
pub(crate) const AUDIT_ARCH_PPC64: u32 = 0x8000_0015;
pub(crate) const AUDIT_ARCH_S390X: u32 = 0x8000_0016;
pub(crate) const AUDIT_ARCH_S390: u32 = 0x0000_0016;
pub(crate) const AUDIT_ARCH_LOONGARCH64: u32 = 0xC000_0102;

/// x32 shares x86_64's audit arch; its numbers carry this bit.
pub(crate) const X32_SYSCALL_BIT: u32 = 0x4000_0000;

const NAMES: &[(u32, &str)] = &[
    (AUDIT_ARCH_X86_64, "x86_64"),
    (AUDIT_ARCH_I386, "i386"),
    (AUDIT_ARCH_AARCH64, "aarch64"),
    (AUDIT_ARCH_ARM, "arm"),
    (AUDIT_ARCH_RISCV64, "riscv64"),
    (AUDIT_ARCH_PPC64LE, "ppc64le"),
    (AUDIT_ARCH_PPC64, "ppc64"),
    (AUDIT_ARCH_S390X, "s390x"),
    (AUDIT_ARCH_S390, "s390"),
    (AUDIT_ARCH_LOONGARCH64, "loongarch64"),
];

/// A short name for an audit arch, for disassembly comments and reports.
pub fn name(audit_arch: u32) -> Option<&'static str> {
    NAMES
        .iter()
        .find(|(a, _)| *a == audit_arch)
        .map(|(_, n)| *n)
}
