//! The shape of the workspace: which crate may depend on which (the table in
//! `docs/architecture.md` is the rule), and no oversized file without a reason.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// `crate → (kind, allowed sklad dependencies or None for any)` from the crates table.
fn rule() -> BTreeMap<String, (String, Option<BTreeSet<String>>)> {
    let doc = std::fs::read_to_string(root().join("docs/architecture.md")).unwrap();
    let section = doc
        .split("\n## Crates")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .unwrap();
    let mut rules = BTreeMap::new();
    for line in section.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let name = cells[0].trim_matches('`').to_owned();
        let kind = cells[1].to_owned();
        let allowed = cells[3];
        let allowed = if allowed.starts_with("any") {
            None
        } else {
            Some(
                allowed
                    .split(',')
                    .map(|c| c.trim().trim_matches('`').to_owned())
                    .filter(|c| !c.is_empty() && c != "—")
                    .collect(),
            )
        };
        rules.insert(name, (kind, allowed));
    }
    rules
}

/// Every workspace crate and the workspace crates it depends on (normal dependencies).
fn workspace() -> BTreeMap<String, BTreeSet<String>> {
    let output = std::process::Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let packages = metadata["packages"].as_array().unwrap();
    let names: BTreeSet<String> = packages
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect();
    packages
        .iter()
        .map(|p| {
            let deps = p["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["kind"].is_null())
                .map(|d| d["name"].as_str().unwrap().to_owned())
                .filter(|d| names.contains(d))
                .collect();
            (p["name"].as_str().unwrap().to_owned(), deps)
        })
        .collect()
}

#[test]
fn dependencies_point_down_as_the_architecture_says() {
    let rules = rule();
    let crates = workspace();
    let services: BTreeSet<&String> = rules
        .iter()
        .filter(|(_, (kind, _))| kind == "service")
        .map(|(name, _)| name)
        .collect();
    assert!(services.len() >= 5, "{services:?}");
    for (name, deps) in &crates {
        let (kind, allowed) = rules
            .get(name)
            .unwrap_or_else(|| panic!("{name} is not in the crates table of docs/architecture.md"));
        if kind == "service" || kind == "library" {
            let into_services: Vec<&String> =
                deps.iter().filter(|d| services.contains(d)).collect();
            assert!(
                into_services.is_empty(),
                "{kind} {name} depends on the service(s) {into_services:?}"
            );
        }
        if let Some(allowed) = allowed {
            let extra: Vec<&String> = deps.difference(allowed).collect();
            assert!(
                extra.is_empty(),
                "{name} depends on {extra:?}, which docs/architecture.md does not allow"
            );
        }
    }
    for name in rules.keys() {
        assert!(
            crates.contains_key(name),
            "the table names {name}, which is no workspace crate"
        );
    }
}

#[test]
fn no_source_file_is_long_without_saying_why() {
    let mut long = Vec::new();
    let mut stack = vec![root().join("crates")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                let header: String = text.lines().take_while(|l| l.starts_with("//!")).collect();
                if text.lines().count() > 600 && !header.contains("Why this file is long:") {
                    long.push(path.display().to_string());
                }
            }
        }
    }
    assert!(
        long.is_empty(),
        "over 600 lines with no reason at the top: {long:?}"
    );
}

/// `text` without askama's `{{ … }}`, `{% … %}` and `{# … #}`.
fn without_template_code(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    loop {
        let next = ["{{", "{%", "{#"]
            .iter()
            .filter_map(|open| rest.find(open).map(|at| (at, *open)))
            .min();
        let Some((at, open)) = next else {
            out.push_str(rest);
            return out;
        };
        out.push_str(&rest[..at]);
        let close = match open {
            "{{" => "}}",
            "{%" => "%}",
            _ => "#}",
        };
        rest = rest[at..]
            .find(close)
            .map_or("", |end| &rest[at + end + close.len()..]);
    }
}

/// The words a person reads in a template: its text and the texts of its attributes that
/// are shown (placeholders, titles, labels).
fn shown_words(template: &str) -> Vec<String> {
    let code_free = without_template_code(template);
    let mut shown = String::new();
    let mut rest = code_free.as_str();
    while let Some(open) = rest.find('<') {
        shown.push_str(&rest[..open]);
        let end = rest[open..].find('>').map_or(rest.len(), |e| open + e + 1);
        let tag = &rest[open..end];
        for attribute in ["placeholder=\"", "title=\"", "aria-label=\"", "alt=\""] {
            if let Some(start) = tag.find(attribute) {
                let value = &tag[start + attribute.len()..];
                shown.push(' ');
                shown.push_str(value.split('"').next().unwrap_or(""));
            }
        }
        shown.push(' ');
        rest = &rest[end..];
    }
    shown.push_str(rest);
    shown
        .split(|c: char| !c.is_alphabetic())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The console speaks two languages: every word it shows comes from its catalogue, never
/// from a template (only the names "sklad" and "keyCRM" may stand there).
#[test]
fn console_templates_hold_no_words_of_their_own() {
    let dir = root().join("crates/console/templates");
    let mut found = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for word in shown_words(&text) {
            if word != "sklad" && word != "keyCRM" {
                found.push(format!("{}: {word}", path.display()));
            }
        }
    }
    assert!(found.is_empty(), "hard-coded words: {found:#?}");
    assert_eq!(
        shown_words("<p title=\"Hi {{ t.x }}\">{{ t.y }} Hello</p>"),
        ["Hi", "Hello"],
        "the check itself sees text and shown attributes"
    );
}
