//! Every check on a pointer that comes from C, in one place.
//!
//! Each helper turns a raw pointer into a reference or slice after the
//! checks C callers get wrong (NULL, a length with no array); what cannot be
//! checked (that the memory is really there) is the caller's contract, stated
//! in the header.

use crate::error::{Error, Result};

/// # Safety
/// `p` is NULL or points to a valid `T` that outlives `'a`.
pub unsafe fn get<'a, T>(p: *const T, what: &'static str) -> Result<&'a T> {
    unsafe { p.as_ref() }.ok_or(Error::Null(what))
}

/// # Safety
/// `p` is NULL or points to a valid, writable `T` that outlives `'a`.
pub unsafe fn get_mut<'a, T>(p: *mut T, what: &'static str) -> Result<&'a mut T> {
    unsafe { p.as_mut() }.ok_or(Error::Null(what))
}

/// An array of `len` elements; NULL is fine when `len` is 0.
///
/// # Safety
/// When `len > 0`, `p` is NULL or points to `len` valid elements.
pub unsafe fn slice<'a, T>(p: *const T, len: usize, what: &'static str) -> Result<&'a [T]> {
    if len == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(Error::Null(what));
    }
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// Writes `value` through an optional output pointer.
///
/// # Safety
/// `p` is NULL or points to a writable `T`.
pub unsafe fn put<T>(p: *mut T, value: T) {
    if let Some(out) = unsafe { p.as_mut() } {
        *out = value;
    }
}

/// Checks the `struct_size` (first field, a u32) of a caller's versioned
/// struct against the first published size `v1`; returns it.
///
/// # Safety
/// `p` is NULL or points to a readable, aligned `T` whose first field is a u32.
pub unsafe fn struct_size<T>(p: *const T, v1: usize, what: &'static str) -> Result<usize> {
    let size = *unsafe { (p as *const u32).as_ref() }.ok_or(Error::Null(what))? as usize;
    if size < v1 {
        return Err(Error::InvalidArg(
            "struct_size is below the first published size",
        ));
    }
    Ok(size)
}

/// Writes `value` over a caller's versioned struct: only the bytes that fit
/// in its `struct_size` (at least `v1`, checked by [`struct_size`]), and
/// the caller's `struct_size` stays as it was.
///
/// # Safety
/// `p` points to at least `size` writable bytes, `size >= 4`.
pub unsafe fn put_sized<T: Copy>(p: *mut T, size: usize, value: T) {
    let n = size.min(std::mem::size_of::<T>());
    // SAFETY: both ranges hold at least `n` bytes; the first 4 bytes (the
    // caller's struct_size) are skipped.
    unsafe {
        std::ptr::copy_nonoverlapping(
            (&value as *const T as *const u8).add(4),
            (p as *mut u8).add(4),
            n - 4,
        )
    };
}
