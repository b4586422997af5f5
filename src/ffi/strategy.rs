//! C ABI of strategy names, for command lines and reports.

use std::ffi::{c_char, c_int, CStr, CString};
use std::sync::OnceLock;

use super::ptr;
use crate::error::{Error, Result};
use crate::spec::Strategy;

/// Every strategy id with its name as a C string, built once.
fn names() -> &'static [(u32, CString)] {
    static NAMES: OnceLock<Vec<(u32, CString)>> = OnceLock::new();
    NAMES.get_or_init(|| {
        std::iter::once(Strategy::Auto)
            .chain(Strategy::ALL)
            .filter_map(|s| Some((s.id(), CString::new(s.name()).ok()?)))
            .collect()
    })
}

/// The name of a TRACEFILTER_STRATEGY_* value ("auto", "search", ...), or
/// NULL for a value that is not a strategy.
#[no_mangle]
pub extern "C" fn tracefilter_strategy_name(strategy: u32) -> *const c_char {
    guard!(std::ptr::null(), {
        names()
            .iter()
            .find(|(id, _)| *id == strategy)
            .map_or(std::ptr::null(), |(_, n)| n.as_ptr())
    })
}

/// The TRACEFILTER_STRATEGY_* value named `name`; TRACEFILTER_E_INVALID for
/// a name that is not a strategy.
#[no_mangle]
pub unsafe extern "C" fn tracefilter_strategy_lookup(
    name: *const c_char,
    strategy: *mut u32,
) -> c_int {
    guard!(status, {
        let name = unsafe { CStr::from_ptr(ptr::get(name, "name")?) };
        let out = unsafe { ptr::get_mut(strategy, "strategy")? };
        *out = names()
            .iter()
            .find(|(_, n)| n.as_c_str() == name)
            .map(|(id, _)| *id)
            .ok_or_else(|| Error::Invalid(format!("unknown strategy {name:?}")))?;
        Ok(())
    })
}
