//! The tracer's half of the CLONE_UNTRACED guard ([`crate::clone_guard`]):
//! at the tracee's seccomp stop (or syscall-entry stop) on clone or clone3,
//! clear CLONE_UNTRACED from the flags, so that the child is created traced
//! and reported through PTRACE_O_TRACECLONE/TRACEFORK/TRACEVFORK. At a
//! seccomp stop the kernel then runs the filter again (kernel/seccomp.c,
//! `__seccomp_filter` after the PTRACE_EVENT_SECCOMP report): on x86 it
//! sees the new flags and allows the clone (or traces it, as the set
//! says); on arm64 it still sees the old ones (`orig_x0`) and says trace
//! again; and a trace on that recheck lets the syscall through. Either way
//! clone runs with the new flags. On arm64 a syscall-entry stop is still
//! followed by the guard's seccomp stop (the filter reads `orig_x0`), and
//! PTRACE_GET_SYSCALL_INFO keeps reporting the old flags, so a second call
//! at the same stop says [`Outcome::Clone`] again (writing the same value).
//!
//! - The syscall, its arch and arguments come from PTRACE_GET_SYSCALL_INFO
//!   (Linux 5.3+).
//! - clone: the flags argument is rewritten with PTRACE_SET_SYSCALL_INFO
//!   (Linux 6.16+), else through the tracee's registers: on an x86_64
//!   tracer PTRACE_GETREGS / PTRACE_SETREGS (rdi for x86_64 and x32, ebx
//!   for i386 tracees), on an aarch64 tracer PTRACE_GETREGSET /
//!   PTRACE_SETREGSET of NT_PRSTATUS (x0 for aarch64, r0 for arm tracees).
//!   Other tracer arches need PTRACE_SET_SYSCALL_INFO: riscv64's syscalls
//!   read their first argument from `orig_a0`
//!   (arch/riscv/include/asm/syscall_wrapper.h), which the general
//!   register set (NT_PRSTATUS) does not hold.
//! - clone3: the flags live in the tracee's `struct clone_args` (args[0]),
//!   rewritten with process_vm_writev, else PTRACE_POKEDATA. The tracee sees
//!   its struct changed; clone3 reads it after the stop.
//!
//! Only the low word of the flags is touched (CLONE_UNTRACED is bit 23).
//! A tracee with another thread rewriting its own clone_args between this
//! stop and the kernel's copy can still win that race: a tracer is not a
//! sandbox.

use std::ffi::c_void;

use libc::{c_long, pid_t};

use crate::clone_guard::{clone_numbers, CLONE_UNTRACED};
use crate::error::{Error, Result};
use crate::install::errno;

const PTRACE_GET_SYSCALL_INFO: u32 = 0x420e;
const PTRACE_SET_SYSCALL_INFO: u32 = 0x4212;
const INFO_ENTRY: u8 = 1;
const INFO_SECCOMP: u8 = 3;
const X32_SYSCALL_BIT: u64 = 0x4000_0000;

/// Force the register path for clone (tests, and kernels where
/// PTRACE_SET_SYSCALL_INFO misbehaves).
pub(crate) const NO_SET_SYSCALL_INFO: u32 = 1;
/// Force PTRACE_POKEDATA for clone3.
pub(crate) const NO_VM_WRITEV: u32 = 2;
const KNOWN_FLAGS: u32 = NO_SET_SYSCALL_INFO | NO_VM_WRITEV;

/// What the CLONE_UNTRACED clear found and did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Not a clone or clone3 stop, or no CLONE_UNTRACED in its flags.
    Nothing = 0,
    /// CLONE_UNTRACED cleared in clone's flags argument.
    Clone = 1,
    /// CLONE_UNTRACED cleared in clone3's struct clone_args.
    Clone3 = 2,
}

/// `struct ptrace_syscall_info` (include/uapi/linux/ptrace.h) with the
/// entry/seccomp member of its union; `reserved` and `flags` must be 0 for
/// PTRACE_SET_SYSCALL_INFO.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct SyscallInfo {
    op: u8,
    reserved: u8,
    flags: u16,
    arch: u32,
    instruction_pointer: u64,
    stack_pointer: u64,
    nr: u64,
    args: [u64; 6],
    ret_data: u32,
    reserved2: u32,
}

fn ptrace(req: u32, pid: pid_t, addr: usize, data: usize) -> std::result::Result<c_long, i32> {
    // SAFETY: raw ptrace; `data` points to memory of the size the request
    // says, owned by the caller for the call.
    let r = unsafe { libc::syscall(libc::SYS_ptrace, req as c_long, pid, addr, data) };
    if r < 0 {
        Err(errno())
    } else {
        Ok(r as c_long)
    }
}

fn kernel(step: &'static str, errno: i32) -> Error {
    Error::Kernel { step, errno }
}

/// Clears CLONE_UNTRACED if `pid` is stopped at the entry of a clone or
/// clone3 that sets it. `flags`: [`NO_SET_SYSCALL_INFO`], [`NO_VM_WRITEV`].
pub fn clear(pid: pid_t, flags: u32) -> Result<Outcome> {
    if flags & !KNOWN_FLAGS != 0 {
        return Err(Error::InvalidArg(
            "unknown tracefilter_untraced_clear flags",
        ));
    }
    let mut info = SyscallInfo::default();
    let size = std::mem::size_of::<SyscallInfo>();
    ptrace(
        PTRACE_GET_SYSCALL_INFO,
        pid,
        size,
        &mut info as *mut SyscallInfo as usize,
    )
    .map_err(|e| match e {
        libc::EIO | libc::EINVAL => Error::Unsupported("PTRACE_GET_SYSCALL_INFO (Linux 5.3+)"),
        e => Error::Ptrace(e),
    })?;
    if info.op != INFO_SECCOMP && info.op != INFO_ENTRY {
        return Ok(Outcome::Nothing);
    }
    let x32 = info.arch == crate::arch::AUDIT_ARCH_X86_64 && info.nr & X32_SYSCALL_BIT != 0;
    let nr_flag = if x32 { X32_SYSCALL_BIT } else { 0 };
    let Some((clone, clone3, index)) = clone_numbers(info.arch, nr_flag as u32) else {
        return Ok(Outcome::Nothing);
    };
    let nr = info.nr & !nr_flag;
    if nr == clone as u64 {
        let index = index as usize;
        if info.args[index] as u32 & CLONE_UNTRACED == 0 {
            return Ok(Outcome::Nothing);
        }
        let cleared = info.args[index] & !(CLONE_UNTRACED as u64);
        if flags & NO_SET_SYSCALL_INFO == 0 {
            let mut set = info;
            set.reserved = 0;
            set.flags = 0;
            set.args[index] = cleared;
            match ptrace(
                PTRACE_SET_SYSCALL_INFO,
                pid,
                size,
                &set as *const SyscallInfo as usize,
            ) {
                Ok(_) => return Ok(Outcome::Clone),
                // Before 6.16 the request is unknown (EIO).
                Err(libc::EIO) | Err(libc::EINVAL) => {}
                Err(e) => return Err(Error::Ptrace(e)),
            }
        }
        set_flags_register(pid, info.arch, index, cleared)?;
        return Ok(Outcome::Clone);
    }
    if Some(nr) == clone3.map(u64::from) {
        let addr = info.args[0] as usize;
        if addr == 0 {
            return Ok(Outcome::Nothing);
        }
        // The low word of `__aligned_u64 flags`, the struct's first field.
        let low = addr + if cfg!(target_endian = "big") { 4 } else { 0 };
        let mut word = 0u32;
        let mut via_poke = flags & NO_VM_WRITEV != 0;
        if !via_poke {
            match vm_rw(pid, low, &mut word, false) {
                Ok(()) => {}
                Err(libc::ENOSYS) | Err(libc::EPERM) => via_poke = true,
                // An unreadable clone_args: clone3 fails with EFAULT anyway.
                Err(libc::EFAULT) => return Ok(Outcome::Nothing),
                Err(e) => return Err(kernel("process_vm_readv", e)),
            }
        }
        if via_poke {
            return poke_clone3(pid, addr);
        }
        if word & CLONE_UNTRACED == 0 {
            return Ok(Outcome::Nothing);
        }
        word &= !CLONE_UNTRACED;
        match vm_rw(pid, low, &mut word, true) {
            Ok(()) => Ok(Outcome::Clone3),
            Err(libc::ENOSYS) | Err(libc::EPERM) => poke_clone3(pid, addr),
            Err(e) => Err(kernel("process_vm_writev", e)),
        }
    } else {
        Ok(Outcome::Nothing)
    }
}

/// Reads (`write` false) or writes one u32 of the tracee at `addr`.
fn vm_rw(pid: pid_t, addr: usize, word: &mut u32, write: bool) -> std::result::Result<(), i32> {
    let local = libc::iovec {
        iov_base: word as *mut u32 as *mut c_void,
        iov_len: 4,
    };
    let remote = libc::iovec {
        iov_base: addr as *mut c_void,
        iov_len: 4,
    };
    // SAFETY: one iovec each, `local` is 4 bytes of ours; the remote side
    // is checked by the kernel.
    let n = unsafe {
        if write {
            libc::process_vm_writev(pid, &local, 1, &remote, 1, 0)
        } else {
            libc::process_vm_readv(pid, &local, 1, &remote, 1, 0)
        }
    };
    match n {
        4 => Ok(()),
        n if n < 0 => Err(errno()),
        _ => Err(libc::EFAULT),
    }
}

/// clone3's flags through PTRACE_PEEKDATA/POKEDATA: one tracer word at the
/// struct's start holds the flags' low word on a little-endian machine.
// PTRACE_* are c_uint in glibc's bindings, c_int elsewhere.
#[allow(clippy::unnecessary_cast)]
fn poke_clone3(pid: pid_t, addr: usize) -> Result<Outcome> {
    if cfg!(target_endian = "big") {
        return Err(Error::Unsupported(
            "PTRACE_POKEDATA of clone3's flags on a big-endian tracer",
        ));
    }
    // PEEKDATA returns the word; errno tells an error from a word of -1.
    // SAFETY: clearing errno, then a raw PEEKDATA (the glibc wrapper's
    // convention would hide the word in `data`).
    unsafe { *libc::__errno_location() = 0 };
    let word = unsafe { libc::ptrace(libc::PTRACE_PEEKDATA, pid, addr as *mut c_void, 0usize) };
    match errno() {
        0 => {}
        libc::EFAULT | libc::EIO => return Ok(Outcome::Nothing),
        e => return Err(Error::Ptrace(e)),
    }
    if word as u32 & CLONE_UNTRACED == 0 {
        return Ok(Outcome::Nothing);
    }
    let word = word & !(CLONE_UNTRACED as c_long);
    ptrace(libc::PTRACE_POKEDATA as u32, pid, addr, word as usize).map_err(Error::Ptrace)?;
    Ok(Outcome::Clone3)
}

/// clone's flags argument through the register set.
#[cfg(target_arch = "x86_64")]
#[allow(clippy::unnecessary_cast)]
fn set_flags_register(pid: pid_t, arch: u32, index: usize, value: u64) -> Result<()> {
    // SAFETY: user_regs_struct is plain data filled by the kernel.
    let mut regs: libc::user_regs_struct = unsafe { std::mem::zeroed() };
    ptrace(
        libc::PTRACE_GETREGS as u32,
        pid,
        0,
        &mut regs as *mut libc::user_regs_struct as usize,
    )
    .map_err(Error::Ptrace)?;
    // The syscall calling conventions (arch/x86/entry/entry_64.S,
    // entry_32.S): x86_64 and x32 pass args[0] in rdi, i386 in ebx.
    match (arch, index) {
        (crate::arch::AUDIT_ARCH_X86_64, 0) => regs.rdi = value,
        (crate::arch::AUDIT_ARCH_I386, 0) => regs.rbx = value & 0xffff_ffff,
        _ => {
            return Err(Error::Unsupported(
                "clone's flags of this audit arch through registers",
            ))
        }
    }
    ptrace(
        libc::PTRACE_SETREGS as u32,
        pid,
        0,
        &regs as *const libc::user_regs_struct as usize,
    )
    .map_err(Error::Ptrace)?;
    Ok(())
}

/// clone's flags argument through the general registers (NT_PRSTATUS):
/// arm64's syscalls take their arguments from `regs[0..]`, native and
/// compat alike (arch/arm64/include/asm/syscall_wrapper.h), so x0, or r0 of
/// an arm tracee, is what clone gets. The filter's recheck after the stop
/// still sees the old flags (seccomp_data's first argument is `orig_x0`,
/// which the register set does not hold), but a recheck after a trace stop
/// lets the syscall through (kernel/seccomp.c, `recheck_after_trace`).
#[cfg(target_arch = "aarch64")]
#[allow(clippy::unnecessary_cast)]
fn set_flags_register(pid: pid_t, arch: u32, index: usize, _value: u64) -> Result<()> {
    const NT_PRSTATUS: usize = 1;
    // struct user_pt_regs (x0..x30, sp, pc, pstate): 34 words; an arm
    // tracee's view is 18 u32 (r0..r15, cpsr, orig_r0), r0 the low half of
    // the first word here on a little-endian tracer. The flag is cleared in
    // the register itself, whatever `orig_x0` (where the caller's value
    // comes from) holds.
    const NATIVE: usize = 34 * 8;
    const COMPAT: usize = 18 * 4;
    let mut regs = [0u64; 34];
    let mut iov = libc::iovec {
        iov_base: regs.as_mut_ptr() as *mut c_void,
        iov_len: NATIVE,
    };
    // GET and SET alike write iov_len back.
    let regset = |request, iov: &mut libc::iovec| {
        ptrace(
            request as u32,
            pid,
            NT_PRSTATUS,
            iov as *mut libc::iovec as usize,
        )
        .map_err(Error::Ptrace)
    };
    regset(libc::PTRACE_GETREGSET, &mut iov)?;
    match (arch, index, iov.iov_len) {
        (crate::arch::AUDIT_ARCH_AARCH64, 0, NATIVE) => regs[0] &= !u64::from(CLONE_UNTRACED),
        (crate::arch::AUDIT_ARCH_ARM, 0, COMPAT) if cfg!(target_endian = "little") => {
            regs[0] &= !u64::from(CLONE_UNTRACED)
        }
        _ => {
            return Err(Error::Unsupported(
                "clone's flags of this audit arch through registers",
            ))
        }
    }
    // The changed registers, at the length the kernel gave.
    iov.iov_base = regs.as_mut_ptr() as *mut c_void;
    regset(libc::PTRACE_SETREGSET, &mut iov)?;
    Ok(())
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
fn set_flags_register(_pid: pid_t, _arch: u32, _index: usize, _value: u64) -> Result<()> {
    Err(Error::Unsupported(
        "clone's flags on this tracer arch need PTRACE_SET_SYSCALL_INFO (Linux 6.16+)",
    ))
}
