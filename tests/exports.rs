//! The shared library's dynamic interface: only `tracefilter_*` symbols,
//! exactly the functions the committed header declares, and the SONAME a C
//! program links against.

mod common;
#[path = "common/skip.rs"]
mod skip;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// Functions the C ABI contract of the core fixes by name.
const CONTRACT: &[&str] = &[
    "tracefilter_options_init",
    "tracefilter_compile",
    "tracefilter_program_fprog",
    "tracefilter_program_free",
    "tracefilter_evaluate",
    "tracefilter_disassemble",
    "tracefilter_strerror",
    "tracefilter_version",
];

/// Runs a binutils tool; `None` (after printing why) when it is not installed.
fn tool(name: &str, args: &[&str], lib: &Path) -> Option<String> {
    match Command::new(name).args(args).arg(lib).output() {
        Err(e) => {
            skip::skip(&format!("{name} not available ({e}); install binutils"));
            None
        }
        Ok(out) => {
            assert!(
                out.status.success(),
                "{name} {args:?} {} failed:\n{}",
                lib.display(),
                String::from_utf8_lossy(&out.stderr)
            );
            Some(String::from_utf8(out.stdout).expect("tool output is UTF-8"))
        }
    }
}

/// Names of the functions the header declares (not those its comments mention).
fn header_functions(header: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in header.lines() {
        let t = line.trim_start();
        if t.starts_with('*') || t.starts_with("/*") || t.starts_with("//") || t.starts_with('#') {
            continue;
        }
        let mut rest = t;
        while let Some(i) = rest.find("tracefilter_") {
            let tail = &rest[i..];
            let end = tail
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(tail.len());
            if tail[end..].starts_with('(') {
                out.insert(tail[..end].to_string());
            }
            rest = &tail[end..];
        }
    }
    out
}

#[test]
fn only_the_declared_tracefilter_functions_are_exported() {
    let lib = common::cdylib().unwrap_or_else(|e| panic!("no shared library to inspect: {e}"));
    let Some(nm) = tool("nm", &["-D", "--defined-only"], &lib) else {
        return;
    };

    let mut functions = BTreeSet::new();
    let mut foreign = Vec::new();
    for line in nm.lines() {
        // "<address> <type> <name>"; versioned names carry "@VERSION".
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (kind, name) = match fields.as_slice() {
            [_, kind, name] => (*kind, *name),
            [kind, name] => (*kind, *name),
            _ => panic!("unexpected nm line: {line:?}"),
        };
        let name = name.split('@').next().unwrap_or(name);
        if !name.starts_with("tracefilter_") {
            foreign.push(line.to_string());
        } else if kind == "T" {
            functions.insert(name.to_string());
        }
    }
    assert!(
        foreign.is_empty(),
        "{} exports symbols outside the tracefilter_ namespace:\n{}",
        lib.display(),
        foreign.join("\n")
    );
    for name in CONTRACT {
        assert!(
            functions.contains(*name),
            "contract function {name} is not exported as a function; exported: {functions:?}"
        );
    }

    let header = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("include/tracefilter.h"),
    )
    .unwrap();
    let declared = header_functions(&header);
    assert!(
        CONTRACT.iter().all(|n| declared.contains(*n)),
        "the header parser missed contract functions: {declared:?}"
    );
    let undeclared: Vec<_> = functions.difference(&declared).collect();
    let missing: Vec<_> = declared.difference(&functions).collect();
    assert!(
        undeclared.is_empty() && missing.is_empty(),
        "exports and include/tracefilter.h disagree\n  exported, not declared: {undeclared:?}\n  declared, not exported: {missing:?}"
    );
    println!("{} functions exported, all declared", functions.len());
}

#[test]
fn soname_is_libtracefilter_so_0() {
    let lib = common::cdylib().unwrap_or_else(|e| panic!("no shared library to inspect: {e}"));
    let Some(dynamic) = tool("readelf", &["-d"], &lib) else {
        return;
    };
    let sonames: Vec<&str> = dynamic.lines().filter(|l| l.contains("(SONAME)")).collect();
    assert!(
        sonames.len() == 1 && sonames[0].contains("[libtracefilter.so.0]"),
        "expected SONAME libtracefilter.so.0 in {}, found {sonames:?}",
        lib.display()
    );
}
