//! The minimum Rust versions the README states, per command, against what
//! the locked dependencies declare: `make run` builds the library (normal
//! and build dependencies), `make test` also the dev-dependencies. A figure
//! is the highest `rust-version` of the packages in that graph (a package
//! without one counts by its edition: 2018 needs 1.31, 2021 1.56, 2024 1.85),
//! and Cargo.toml's own `rust-version` for `make run`.
//!
//! What this proves: no locked package asks for more than the README says,
//! and the README says no more than they ask. It does not compile anything
//! with the stated toolchain (no other toolchain can be installed here), so
//! our own code's use of newer features rests on Cargo.toml's `rust-version`.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use serde_json::Value;

type Version = (u32, u32, u32);

fn parse(v: &str) -> Version {
    let mut it = v
        .split('.')
        .map(|p| p.parse::<u32>().expect("a numeric Rust version"));
    (
        it.next().unwrap_or(0),
        it.next().unwrap_or(0),
        it.next().unwrap_or(0),
    )
}

fn show(v: Version) -> String {
    format!("{}.{}", v.0, v.1)
}

/// The version the README states before "+ for `COMMAND`".
fn stated(readme: &str, command: &str) -> Version {
    let marker = format!("+ for `{command}`");
    let at = readme.find(&marker).unwrap_or_else(|| {
        panic!("README.md states no Rust version for {command} ('1.xx{marker}')")
    });
    let start = readme[..at]
        .rfind(|c: char| !(c.is_ascii_digit() || c == '.'))
        .map_or(0, |i| i + 1);
    parse(&readme[start..at])
}

/// The packages reachable from `root` through dependencies of `kinds` at the
/// root and normal/build dependencies below it.
fn graph<'a>(
    nodes: &'a BTreeMap<&str, &Value>,
    root: &'a str,
    kinds: &[&str],
) -> BTreeSet<&'a str> {
    let mut seen = BTreeSet::new();
    let mut stack = vec![root];
    while let Some(id) = stack.pop() {
        if !seen.insert(id) {
            continue;
        }
        for dep in nodes[id]["deps"].as_array().expect("deps") {
            let ok = dep["dep_kinds"]
                .as_array()
                .expect("dep_kinds")
                .iter()
                .any(|k| {
                    let kind = k["kind"].as_str().unwrap_or("normal");
                    if id == root {
                        kinds.contains(&kind)
                    } else {
                        kind != "dev"
                    }
                });
            if ok {
                stack.push(dep["pkg"].as_str().expect("pkg"));
            }
        }
    }
    seen
}

#[test]
fn stated_rust_versions_are_what_the_locked_packages_need() {
    let dir = env!("CARGO_MANIFEST_DIR");
    let cargo = option_env!("CARGO").unwrap_or("cargo");
    let host = String::from_utf8(
        Command::new("rustc")
            .arg("-vV")
            .output()
            .expect("rustc -vV")
            .stdout,
    )
    .expect("UTF-8");
    let host = host
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .expect("rustc -vV names the host");
    let out = Command::new(cargo)
        .current_dir(dir)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--locked",
            "--filter-platform",
            host,
        ])
        .output()
        .expect("cargo metadata");
    assert!(
        out.status.success(),
        "cargo metadata failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).expect("cargo metadata JSON");
    let packages: BTreeMap<&str, &Value> = meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| (p["id"].as_str().expect("id"), p))
        .collect();
    let nodes: BTreeMap<&str, &Value> = meta["resolve"]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| (n["id"].as_str().expect("id"), n))
        .collect();
    let root = meta["resolve"]["root"].as_str().expect("root package");
    let needs = |p: &Value| -> Version {
        match p["rust_version"].as_str() {
            Some(v) => parse(v),
            None => match p["edition"].as_str() {
                Some("2024") => (1, 85, 0),
                Some("2021") => (1, 56, 0),
                Some("2018") => (1, 31, 0),
                _ => (1, 0, 0),
            },
        }
    };
    let readme = std::fs::read_to_string(format!("{dir}/README.md")).expect("README.md");

    for (command, kinds) in [
        ("make run", &["normal", "build"][..]),
        ("make test", &["normal", "build", "dev"][..]),
    ] {
        let ids = graph(&nodes, root, kinds);
        let (need, by) = ids
            .iter()
            .map(|id| {
                let p = packages[id];
                (
                    needs(p),
                    format!(
                        "{} {}",
                        p["name"].as_str().unwrap(),
                        p["version"].as_str().unwrap()
                    ),
                )
            })
            .max()
            .expect("the root package at least");
        let says = stated(&readme, command);
        println!(
            "{command}: README says {}, the locked packages need {} ({by}; {} packages)",
            show(says),
            show(need),
            ids.len()
        );
        assert_eq!(
            show(says),
            show(need),
            "README.md's Rust version for {command} must be what {by} declares"
        );
    }
    let own = packages[root]["rust_version"]
        .as_str()
        .expect("Cargo.toml sets rust-version");
    assert_eq!(
        show(parse(own)),
        show(stated(&readme, "make run")),
        "Cargo.toml's rust-version is the figure for make run"
    );
}
