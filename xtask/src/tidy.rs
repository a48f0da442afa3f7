//! `cargo xtask tidy`: invariants of the code base, checked by reading text.
//!
//! Each check is also a `#[test]`, so a plain `cargo test` catches a broken
//! invariant too.

use std::fs;
use std::path::{Path, PathBuf};

/// The crates of the workspace and the workspace crates each may depend on:
/// dependencies point down only (docs/ARCHITECTURE.md).
const LAYERS: &[(&str, &[&str])] = &[
    ("error", &[]),
    ("wire", &["netrunner-error"]),
    ("pool", &[]),
    (
        "loop",
        &["netrunner-error", "netrunner-wire", "netrunner-pool"],
    ),
    ("router", &["netrunner-error", "netrunner-wire"]),
    (
        "server",
        &["netrunner-loop", "netrunner-router", "netrunner-wire"],
    ),
];

/// External crates that belong to one layer only.
const OWNED: &[(&str, &[&str])] = &[
    ("httparse", &["wire"]),
    ("mio", &["loop"]),
    ("crossbeam-channel", &["loop", "server"]),
    ("socket2", &["loop"]),
    ("rustls", &["loop"]),
    ("mime_guess", &["router"]),
    ("ctrlc", &["server"]),
];

/// Run every check; the errors, one line each.
pub(crate) fn check(root: &Path) -> Result<(), Vec<String>> {
    let mut errors = Vec::new();
    errors.extend(dependency_direction(root));
    errors.extend(module_docs(root));
    errors.extend(readmes(root));
    errors.extend(whitespace(root));
    errors.extend(no_ignored_tests(root));
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// The names under `[dependencies]` of a Cargo.toml (dev-dependencies are
/// free).
fn dependencies(manifest: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut in_deps = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_deps = line == "[dependencies]";
            continue;
        }
        if in_deps {
            if let Some(name) = line.split(['=', '.', ' ']).next() {
                if !name.is_empty() && !name.starts_with('#') {
                    names.push(name.to_owned());
                }
            }
        }
    }
    names
}

fn dependency_direction(root: &Path) -> Vec<String> {
    let mut errors = Vec::new();
    for (dir, allowed) in LAYERS {
        let path = root.join("crates").join(dir).join("Cargo.toml");
        let Ok(manifest) = fs::read_to_string(&path) else {
            errors.push(format!("{}: missing", path.display()));
            continue;
        };
        for dep in dependencies(&manifest) {
            if dep.starts_with("netrunner-") && !allowed.contains(&dep.as_str()) {
                errors.push(format!(
                    "crates/{dir} depends on {dep}: dependencies point down only"
                ));
            }
            if let Some((_, owners)) = OWNED.iter().find(|(name, _)| *name == dep) {
                if !owners.contains(dir) {
                    errors.push(format!(
                        "crates/{dir} depends on {dep}, which belongs to {owners:?}"
                    ));
                }
            }
        }
    }
    errors
}

/// Every Rust file of the project, the fuzz crate's target dir excluded.
fn rust_files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for top in ["crates", "xtask", "tests"] {
        walk(&root.join(top), &mut out);
    }
    out.retain(|p| p.extension().is_some_and(|e| e == "rs"));
    out
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if name == "target" || name == "corpus" || name == "artifacts" {
            continue;
        }
        if path.is_dir() {
            walk(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn module_docs(root: &Path) -> Vec<String> {
    rust_files(root)
        .into_iter()
        .filter(|p| {
            let text = fs::read_to_string(p).unwrap_or_default();
            !text.trim_start().starts_with("//!")
        })
        .map(|p| format!("{}: does not start with a `//!` module doc", p.display()))
        .collect()
}

fn readmes(root: &Path) -> Vec<String> {
    LAYERS
        .iter()
        .map(|(dir, _)| root.join("crates").join(dir).join("README.md"))
        .chain([root.join("README.md"), root.join("docs/ARCHITECTURE.md")])
        .filter(|p| !p.exists())
        .map(|p| format!("{}: missing", p.display()))
        .collect()
}

fn whitespace(root: &Path) -> Vec<String> {
    let mut files = Vec::new();
    for top in ["crates", "xtask", "tests", "docs"] {
        walk(&root.join(top), &mut files);
    }
    files.retain(|p| {
        p.extension()
            .is_some_and(|e| e == "rs" || e == "md" || e == "toml")
    });
    let mut errors = Vec::new();
    for path in files {
        let text = fs::read_to_string(&path).unwrap_or_default();
        for (i, line) in text.lines().enumerate() {
            if line.ends_with(' ') || line.ends_with('\t') {
                errors.push(format!("{}:{}: trailing whitespace", path.display(), i + 1));
            }
        }
    }
    errors
}

fn no_ignored_tests(root: &Path) -> Vec<String> {
    // Spelled in pieces so this file does not trip its own check.
    let banned = [format!("#[{}", "ignore"), format!("#[{}", "should_panic")];
    let mut errors = Vec::new();
    for path in rust_files(root) {
        let text = fs::read_to_string(&path).unwrap_or_default();
        for (i, line) in text.lines().enumerate() {
            if banned.iter().any(|b| line.contains(b.as_str())) {
                errors.push(format!(
                    "{}:{}: ignored or should_panic test; make it pass instead",
                    path.display(),
                    i + 1
                ));
            }
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> PathBuf {
        crate::root()
    }

    fn assert_clean(errors: Vec<String>) {
        assert!(errors.is_empty(), "\n{}", errors.join("\n"));
    }

    #[test]
    fn dependencies_point_down() {
        assert_clean(dependency_direction(&root()));
    }

    #[test]
    fn every_file_has_a_module_doc() {
        assert_clean(module_docs(&root()));
    }

    #[test]
    fn every_crate_has_a_readme() {
        assert_clean(readmes(&root()));
    }

    #[test]
    fn no_trailing_whitespace() {
        assert_clean(whitespace(&root()));
    }

    #[test]
    fn no_ignored_tests() {
        assert_clean(super::no_ignored_tests(&root()));
    }

    #[test]
    fn the_dependency_scan_reads_cargo_toml() {
        let manifest = "[package]\nname = \"x\"\n[dependencies]\nmio.workspace = true\nfoo = \"1\"\n[dev-dependencies]\nproptest = \"1\"\n";
        assert_eq!(dependencies(manifest), vec!["mio", "foo"]);
    }
}
