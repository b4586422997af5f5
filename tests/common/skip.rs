//! Skipped checks, visible. Cargo hides what a passing test prints with
//! `eprintln!`, so a skip would pass unseen: these write to the process's
//! stderr directly, which the test harness does not capture, one line per
//! skip naming the test. In CI (`CI=true`), where `.ci/run` has installed
//! every tool and runs as root on a recent kernel, a skip fails the test.
#![allow(dead_code)] // each test uses its own part

use std::io::Write;

fn say(kind: &str, why: &str) -> String {
    let test = std::thread::current().name().unwrap_or("?").to_string();
    let line = format!("{kind}: {test}: {why}\n");
    let _ = std::io::stderr().write_all(line.as_bytes());
    line
}

/// A check that cannot run here: printed; a failure under `CI=true`.
pub fn skip(why: &str) {
    let line = say("SKIP", why);
    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
        panic!("{line}CI=true: every check must run on the CI machine");
    }
}

/// Coverage that depends on the machine (e.g. x32 syscalls disabled in the
/// kernel): printed, never a failure.
pub fn note(why: &str) {
    say("NOTE", why);
}
