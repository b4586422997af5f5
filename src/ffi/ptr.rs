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
