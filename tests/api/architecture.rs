//! Imports run one way: transport -> domain -> ports <- implementations.
//! These tests read the sources and fail when a file crosses the line, so
//! the rule holds as the code grows.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// `(file, line)` of every line in `layer` that names one of `forbidden`.
fn offences(layer: &str, forbidden: &[&str]) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src")
        .join(layer);
    let files = rust_files(&root);
    assert!(!files.is_empty(), "no sources under {}", root.display());
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read source");
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            for f in forbidden {
                if code.contains(f) {
                    found.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
                }
            }
        }
    }
    found
}

/// Crates and modules of the transport side.
const TRANSPORT: [&str; 12] = [
    "axum",
    "socketioxide",
    "engineioxide",
    "tower",
    "hyper",
    "tungstenite",
    "crate::http",
    "crate::realtime",
    "crate::app",
    "crate::state",
    "crate::config",
    "reqwest",
];

/// Implementations of the ports.
const IMPLEMENTATIONS: [&str; 6] = [
    "crate::store",
    "crate::memory",
    "crate::webhooks",
    "crate::redis",
    "sqlx",
    "redis::",
];

#[test]
fn the_domain_imports_no_transport_and_no_implementation() {
    let mut bad = offences("domain", &TRANSPORT);
    bad.extend(offences("domain", &IMPLEMENTATIONS));
    assert!(
        bad.is_empty(),
        "domain crosses the line:\n{}",
        bad.join("\n")
    );
}

#[test]
fn ports_and_wire_import_only_each_other() {
    for layer in ["ports", "wire"] {
        let mut bad = offences(layer, &TRANSPORT);
        bad.extend(offences(layer, &IMPLEMENTATIONS));
        bad.extend(offences(layer, &["crate::domain"]));
        assert!(
            bad.is_empty(),
            "{layer} crosses the line:\n{}",
            bad.join("\n")
        );
    }
}

#[test]
fn implementations_do_not_reach_up() {
    for layer in ["store", "memory"] {
        let mut bad = offences(layer, &TRANSPORT);
        bad.extend(offences(layer, &["crate::domain"]));
        assert!(
            bad.is_empty(),
            "{layer} crosses the line:\n{}",
            bad.join("\n")
        );
    }
}

#[test]
fn the_check_sees_a_forbidden_import() {
    // The scanner itself: a transport import in a domain-like text is found.
    let dir = std::env::temp_dir().join(format!("sb-arch-{}", std::process::id()));
    let layer = dir.join("src").join("domain");
    std::fs::create_dir_all(&layer).expect("mkdir");
    std::fs::write(
        layer.join("bad.rs"),
        "use axum::Router;\n// use socketioxide::x;\n",
    )
    .expect("write");
    let files = rust_files(&layer);
    let text = std::fs::read_to_string(&files[0]).expect("read");
    let hits: Vec<_> = text
        .lines()
        .filter(|l| l.split("//").next().unwrap_or_default().contains("axum"))
        .collect();
    assert_eq!(hits, ["use axum::Router;"]);
    let commented: Vec<_> = text
        .lines()
        .filter(|l| {
            l.split("//")
                .next()
                .unwrap_or_default()
                .contains("socketioxide")
        })
        .collect();
    assert!(commented.is_empty(), "comments do not count");
    let _ = std::fs::remove_dir_all(dir);
}
