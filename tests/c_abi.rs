//! The C ABI from C: builds tests/c/abi.c (the whole ABI) and
//! tests/c/actions.c (per-syscall action maps) against the committed header
//! and the shared library of this very build, with AddressSanitizer and
//! UBSan where they work here, runs each, and requires it to finish cleanly.

mod common;
#[path = "common/skip.rs"]
mod skip;

use std::path::Path;
use std::process::{Command, Output};

const SANITIZE: &[&str] = &[
    "-fsanitize=address,undefined",
    "-fno-sanitize-recover=all",
    "-fno-omit-frame-pointer",
];

/// `STATUS(name)` for every status constant the committed header defines,
/// so the C program covers statuses added later without being edited.
fn status_list(header: &str) -> String {
    let mut out = String::new();
    for line in header.lines() {
        let mut words = line.split_whitespace();
        if words.next() != Some("#define") {
            continue;
        }
        let (Some(name), Some(value)) = (words.next(), words.next()) else {
            continue;
        };
        let is_status = name == "TRACEFILTER_OK" || name.starts_with("TRACEFILTER_E_");
        if is_status && value.parse::<i32>().is_ok() {
            out.push_str(&format!("STATUS({name})\n"));
        }
    }
    out
}

fn show(out: &Output) -> String {
    format!(
        "status: {}\n--- stdout\n{}--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Whether `cc` builds and runs a sanitized program here (ASan needs a
/// usable address space layout and, for leak checks, ptrace of itself).
fn sanitizers_work(cc: &str, dir: &Path) -> Result<(), String> {
    let src = dir.join("probe.c");
    let exe = dir.join("probe");
    std::fs::write(
        &src,
        "#include <stdlib.h>\nint main(void) { char *p = malloc(4); p[0] = 1; free(p); return 0; }\n",
    )
    .map_err(|e| e.to_string())?;
    let out = Command::new(cc)
        .args(SANITIZE)
        .arg("-o")
        .arg(&exe)
        .arg(&src)
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!("cc cannot build with sanitizers: {}", show(&out)));
    }
    let out = Command::new(&exe).output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!("sanitized program does not run: {}", show(&out)));
    }
    Ok(())
}

#[test]
fn c_program_exercises_the_whole_abi() {
    run_c_program("abi");
}

#[test]
fn c_program_exercises_action_maps() {
    run_c_program("actions");
}

/// Builds and runs tests/c/`name`.c, which ends with "`name`: ok, N checks".
fn run_c_program(name: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    if Command::new(&cc).arg("--version").output().is_err() {
        skip::skip(&format!("no C compiler ({cc}) to build tests/c/{name}.c"));
        return;
    }
    let lib = common::cdylib().unwrap_or_else(|e| panic!("no shared library to test: {e}"));

    let dir = std::env::temp_dir().join(format!("tracefilter-c-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let libdir = dir.join("lib");
    std::fs::create_dir_all(&libdir).unwrap();
    // A private copy with the SONAME link the loader looks for, so the test
    // neither writes into the target directory nor races another build.
    std::fs::copy(&lib, libdir.join("libtracefilter.so")).unwrap();
    std::os::unix::fs::symlink("libtracefilter.so", libdir.join("libtracefilter.so.0")).unwrap();

    let header = std::fs::read_to_string(root.join("include/tracefilter.h")).unwrap();
    let statuses = status_list(&header);
    assert!(
        statuses.contains("STATUS(TRACEFILTER_OK)") && statuses.contains("TRACEFILTER_E_NULL"),
        "no status constants found in include/tracefilter.h"
    );
    std::fs::write(dir.join("statuses.h"), statuses).unwrap();

    let sanitize = match sanitizers_work(&cc, &dir) {
        Ok(()) => true,
        Err(why) => {
            skip::note(&format!(
                "building tests/c/{name}.c WITHOUT sanitizers: {why}"
            ));
            false
        }
    };

    let exe = dir.join(name);
    let mut build = Command::new(&cc);
    build.args(["-std=c11", "-O1", "-g", "-Wall", "-Wextra", "-Werror"]);
    if sanitize {
        build.args(SANITIZE);
    }
    build
        .arg(format!(
            "-DEXPECTED_VERSION=\"{}\"",
            env!("CARGO_PKG_VERSION")
        ))
        .arg(format!("-I{}", root.join("include").display()))
        .arg(format!("-I{}", dir.display()))
        .arg("-o")
        .arg(&exe)
        .arg(root.join(format!("tests/c/{name}.c")))
        .arg(format!("-L{}", libdir.display()))
        .arg("-ltracefilter")
        .arg(format!("-Wl,-rpath,{}", libdir.display()));
    let out = build.output().expect("run the C compiler");
    assert!(
        out.status.success(),
        "tests/c/{name}.c does not build:\n{}",
        show(&out)
    );

    // The program must load our copy, not an installed libtracefilter.
    let run = Command::new(&exe)
        .env_remove("LD_LIBRARY_PATH")
        .env(
            "ASAN_OPTIONS",
            "detect_leaks=1:abort_on_error=0:exitcode=99",
        )
        .env("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
        .output()
        .expect("run the C test program");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.code() == Some(0),
        "tests/c/{name}.c failed (sanitizers: {sanitize}):\n{}",
        show(&run)
    );
    let summary = stdout.lines().last().unwrap_or("");
    assert!(
        summary.starts_with(&format!("{name}: ok, ")),
        "the C program exited 0 without finishing:\n{}",
        show(&run)
    );
    println!("{stdout}(sanitizers: {sanitize})");
    let _ = std::fs::remove_dir_all(&dir);
}
