//! The layering rules of ARCHITECTURE.md, checked by reading the source.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

/// Source lines that are code (comments stripped, test modules included: they obey the rules too).
fn code_of(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap();
    rel.components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy()
        .trim_end_matches(".rs")
        .to_string()
}

/// (what, the modules allowed to use it, patterns that reveal a use)
const RULES: &[(&str, &[&str], &[&str])] = &[
    ("redb", &["store"], &["redb::"]),
    ("tantivy", &["search"], &["tantivy::"]),
    ("lettre", &["mail"], &["lettre::"]),
    ("reqwest", &["outbound"], &["reqwest::"]),
    (
        "poem",
        &["http", "app", "tls"],
        &["poem::", "poem_openapi::"],
    ),
    (
        "the environment",
        &["config"],
        &["std::env::var", "env::vars"],
    ),
    (
        "the store",
        &["store", "service", "jobs", "app", "bench", "demo"],
        &["crate::store"],
    ),
];

/// Every breach of the rules in the source tree under `src`.
fn violations(src: &Path) -> Vec<String> {
    let mut violations = Vec::new();
    for file in rust_files(src) {
        let module = module_of(src, &file);
        let code = code_of(&file);
        for (what, allowed, patterns) in RULES {
            if allowed.contains(&module.as_str()) {
                continue;
            }
            for pattern in *patterns {
                if code.contains(pattern) {
                    violations.push(format!(
                        "{} uses {what} ({pattern}); only {allowed:?} may",
                        file.display()
                    ));
                }
            }
        }
        if module == "domain" {
            for pattern in [
                "crate::",
                "std::fs",
                "std::net",
                "tokio",
                "std::time::SystemTime",
                "rand::",
            ] {
                let own = pattern == "crate::"
                    && code.matches("crate::").count() == code.matches("crate::domain").count();
                if code.contains(pattern) && !own {
                    violations.push(format!(
                        "{} is domain code and uses {pattern}",
                        file.display()
                    ));
                }
            }
        }
    }
    violations
}

#[test]
fn layers_keep_to_themselves() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let found = violations(&src);
    assert!(found.is_empty(), "layer violations:\n{}", found.join("\n"));
}

#[test]
fn the_checker_sees_each_kind_of_breach() {
    let dir = tempfile::tempdir().unwrap();
    let write = |rel: &str, code: &str| {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, code).unwrap();
    };
    write("http/bad_store.rs", "use crate::store::Store;\n");
    write("service/bad_poem.rs", "fn f(_: poem::Request) {}\n");
    write("jobs/bad_redb.rs", "use redb::Database;\n");
    write("app.rs", "fn f() { let _ = std::env::var(\"X\"); }\n");
    write(
        "domain/bad_io.rs",
        "fn f() { let _ = std::fs::read(\"x\"); }\n",
    );
    write("store/fine.rs", "use redb::Database; // allowed here\n");
    write(
        "http/commented.rs",
        "// redb:: is only mentioned in a comment\n",
    );
    let found = violations(dir.path());
    assert_eq!(found.len(), 5, "{found:#?}");
}
