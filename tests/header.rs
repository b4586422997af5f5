//! The committed C header is exactly what cbindgen generates from the sources.

use std::path::Path;

#[test]
fn committed_header_is_current() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("cbindgen.toml");
    let bindings = cbindgen::Builder::new()
        .with_crate(root)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header");
    let mut generated = Vec::new();
    bindings.write(&mut generated);
    let path = root.join("include/tracefilter.h");
    if std::env::var_os("TRACEFILTER_BLESS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "include/tracefilter.h is stale; regenerate with: TRACEFILTER_BLESS=1 cargo test --test header"
    );
}

/// Every name the header declares is in the library's namespace: C callers
/// include it next to their own code and other libraries' headers.
#[test]
fn header_declares_only_prefixed_names() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let header = std::fs::read_to_string(root.join("include/tracefilter.h")).unwrap();
    let foreign: Vec<&str> = header
        .lines()
        .filter_map(|l| {
            let name = l
                .strip_prefix("#define ")
                .or_else(|| l.strip_prefix("struct "))
                .or_else(|| l.strip_prefix("typedef "))
                .or_else(|| l.strip_prefix("enum "))?;
            let name = name.split([' ', ';', '(']).next().unwrap_or("");
            let ok = name.starts_with("TRACEFILTER_")
                || name.starts_with("tracefilter_")
                || name == "TRACEFILTER_H";
            (!ok).then_some(l)
        })
        .collect();
    assert!(
        foreign.is_empty(),
        "unprefixed names in include/tracefilter.h: {foreign:#?}"
    );
}
