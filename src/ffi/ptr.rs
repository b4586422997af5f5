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

/// The caller's version of a versioned struct: its `struct_size`, and the
/// largest published size of the struct that fits in it (the version the
/// library reads or writes).
///
/// One rule for every versioned struct (options, stats, install report,
/// kernel), after Linux's extensible structs (copy_struct_from_user):
/// - `struct_size` below the first published size: TRACEFILTER_E_INVALID.
/// - The library uses the largest published version that fits in
///   `struct_size`; a caller built against an older header gets exactly the
///   fields it knows.
/// - Input: those fields are read and every later one keeps its default.
///   Every byte past them, up to `struct_size`, must be 0 (else
///   TRACEFILTER_E_INVALID): a field the library does not know, or cannot
///   read whole, is never silently ignored.
/// - Output: those fields are written, nothing past them, and
///   `struct_size` is never changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Version {
    pub size: usize,
    pub known: usize,
}

/// Reads the `struct_size` (first field, a u32) of a caller's versioned
/// struct; `published` lists the published sizes in ascending order, the
/// last being `size_of::<T>()`.
///
/// # Safety
/// `p` is NULL or points to at least `struct_size` readable bytes, aligned
/// for `T`.
pub unsafe fn version<T>(p: *const T, published: &[usize], what: &'static str) -> Result<Version> {
    debug_assert_eq!(published.last(), Some(&std::mem::size_of::<T>()));
    let size = *unsafe { (p as *const u32).as_ref() }.ok_or(Error::Null(what))? as usize;
    let known = published.iter().copied().filter(|&v| v <= size).max();
    let known = known.ok_or(Error::InvalidArg(
        "struct_size is below the first published size",
    ))?;
    Ok(Version { size, known })
}

/// Reads a caller's versioned struct over `defaults` under the rule of
/// [`Version`].
///
/// # Safety
/// As for [`version`].
pub unsafe fn read_versioned<T: Copy>(
    p: *const T,
    published: &[usize],
    what: &'static str,
    defaults: T,
) -> Result<T> {
    let v = unsafe { version(p, published, what) }?;
    // SAFETY: the caller vouches for `v.size` readable bytes.
    let tail =
        unsafe { std::slice::from_raw_parts((p as *const u8).add(v.known), v.size - v.known) };
    if tail.iter().any(|&b| b != 0) {
        return Err(Error::InvalidArg(
            "the struct sets fields this library does not know (bytes past its version are not 0)",
        ));
    }
    let mut out = defaults;
    // SAFETY: `v.known` is at most size_of::<T>() and at most the caller's
    // size; the struct_size field is copied too, as the caller set it.
    unsafe {
        std::ptr::copy_nonoverlapping(p as *const u8, &mut out as *mut T as *mut u8, v.known)
    };
    Ok(out)
}

/// Writes `value` over a caller's versioned struct under the rule of
/// [`Version`]: the fields of version `v.known`, never `struct_size`.
///
/// # Safety
/// `p` points to at least `v.size` writable bytes, as [`version`] read them.
pub unsafe fn write_versioned<T: Copy>(p: *mut T, v: Version, value: T) {
    let n = v.known.min(std::mem::size_of::<T>());
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
