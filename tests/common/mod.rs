//! Helpers shared by the integration tests that look at the built library.

use std::path::PathBuf;
use std::process::Command;

/// The shared library built together with the rlib this test links. Cargo
/// leaves it in `deps/` next to the test executable during `cargo test`
/// (and copies it up a level only on `cargo build`), so that copy is never
/// stale. If a cargo layout puts it elsewhere, build it.
pub fn cdylib() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let deps = exe.parent().ok_or("test executable has no directory")?;
    let in_deps = deps.join("libtracefilter.so");
    if in_deps.exists() {
        return Ok(in_deps);
    }
    let profile_dir = deps.parent().ok_or("deps directory has no parent")?;
    let profile = profile_dir
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or("cannot name the profile")?;
    let target_dir = profile_dir.parent().ok_or("profile dir has no parent")?;
    let cargo = option_env!("CARGO").unwrap_or("cargo");
    let mut cmd = Command::new(cargo);
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["build", "--lib", "--quiet", "--target-dir"])
        .arg(target_dir);
    match profile {
        "debug" => {}
        "release" => {
            cmd.arg("--release");
        }
        other => {
            cmd.args(["--profile", other]);
        }
    }
    let out = cmd.output().map_err(|e| format!("running {cargo}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo build --lib failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let built = profile_dir.join("libtracefilter.so");
    if built.exists() {
        Ok(built)
    } else {
        Err(format!("{} missing after cargo build", built.display()))
    }
}
