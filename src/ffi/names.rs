//! C ABI of the syscall name tables.

use std::ffi::{c_char, c_int, CStr, CString};
use std::sync::OnceLock;

use super::ptr;
use crate::error::{Error, Result};
use crate::names::{Table, TABLES};

/// # Safety
/// `p` is NULL or a NUL-terminated string.
unsafe fn c_str<'a>(p: *const c_char, what: &'static str) -> Result<&'a str> {
    let s = unsafe { CStr::from_ptr(ptr::get(p, what)?) };
    s.to_str()
        .map_err(|_| Error::Invalid(format!("{what} is not UTF-8")))
}

fn table(audit_arch: u32, nr_flag: u32) -> Result<Table> {
    Table::by_arch(audit_arch, nr_flag).ok_or_else(|| {
        Error::Invalid(format!(
            "no name table for arch {audit_arch:#x} with nr_flag {nr_flag:#x}"
        ))
    })
}

/// Finds a personality by the name strace gives it: "x86_64", "i386",
/// "x32", "aarch64", "arm" or "riscv64". Fills its audit arch, nr_flag and
/// table size (one past its highest syscall number, a natural `nsyscalls`);
/// each output may be NULL. An unknown name gives TRACEFILTER_E_INVALID.
#[no_mangle]
pub unsafe extern "C" fn tracefilter_personality_lookup(
    name: *const c_char,
    audit_arch: *mut u32,
    nr_flag: *mut u32,
    nsyscalls: *mut u32,
) -> c_int {
    guard!(status, {
        let name = unsafe { c_str(name, "name")? };
        let t = Table::by_name(name)
            .ok_or_else(|| Error::Invalid(format!("unknown personality {name:?}")))?;
        unsafe {
            ptr::put(audit_arch, t.audit_arch);
            ptr::put(nr_flag, t.nr_flag);
            ptr::put(nsyscalls, t.size());
        }
        Ok(())
    })
}

/// The number of syscall `name` in a personality's table, without the
/// nr_flag (the bit index in `tracefilter_personality.traced`).
/// TRACEFILTER_E_UNKNOWN_NAME when the table has no such name (any name
/// that is not UTF-8), TRACEFILTER_E_INVALID for a personality without a
/// name table.
#[no_mangle]
pub unsafe extern "C" fn tracefilter_syscall_number(
    audit_arch: u32,
    nr_flag: u32,
    name: *const c_char,
    nr: *mut u32,
) -> c_int {
    guard!(status, {
        let name = unsafe { CStr::from_ptr(ptr::get(name, "name")?) };
        let out = unsafe { ptr::get_mut(nr, "nr")? };
        let table = table(audit_arch, nr_flag)?;
        // A name that is not UTF-8 is in no table.
        let unknown = || Error::UnknownName(name.to_string_lossy().into_owned());
        let name = name.to_str().map_err(|_| unknown())?;
        *out = table.number(name).ok_or_else(unknown)?;
        Ok(())
    })
}

/// The name of syscall `nr` (without the nr_flag) of a personality, as a
/// static string; NULL when the number has no name or the personality has no
/// name table.
#[no_mangle]
pub extern "C" fn tracefilter_syscall_name(
    audit_arch: u32,
    nr_flag: u32,
    nr: u32,
) -> *const c_char {
    // The crate's names are not NUL-terminated: build each table's C strings
    // once, on first use.
    static NAMES: OnceLock<Vec<Vec<Option<CString>>>> = OnceLock::new();
    guard!(std::ptr::null(), {
        let names = NAMES.get_or_init(|| {
            TABLES
                .iter()
                .map(|t| {
                    (0..t.size())
                        .map(|nr| t.name_of(nr).and_then(|n| CString::new(n).ok()))
                        .collect()
                })
                .collect()
        });
        TABLES
            .iter()
            .position(|t| t.audit_arch == audit_arch && t.nr_flag == nr_flag)
            .and_then(|i| names[i].get(nr as usize))
            .and_then(|n| n.as_deref())
            .map_or(std::ptr::null(), CStr::as_ptr)
    })
}
