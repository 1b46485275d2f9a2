//! The tables that cite tests cannot go stale: every test that COMPLIANCE.md (and SECURITY.md's
//! guarantee table) names must exist, and so must every source file they name.
//!
//! A citation is a backticked span in a table row:
//! - `module::path::tests::name`: a unit test, looked up in `src/module/path.rs`,
//!   `src/module/path/mod.rs`, or a `tests.rs` (or `tests/mod.rs`) in `src/module/path/`;
//! - `tests/it/file.rs::name`: a black-box test in that module file;
//! - `{a, b}` in place of `name` cites several tests, and `*` cites the whole file, which only
//!   has to exist;
//! - a file path such as `src/jws.rs`, which has to exist.
//!
//! A cited test exists when its file contains `fn name(`.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

#[test]
fn compliance_md_cites_only_tests_that_exist() {
    check("COMPLIANCE.md", Require::TestInEveryRow);
}

#[test]
fn security_md_cites_only_tests_that_exist() {
    check("SECURITY.md", Require::Nothing);
}

/// Auth0's default, RS256 with keys by discovery, works with `bearer-guard = "0.1"` (issue
/// 21): the default features must keep the fetcher, which brings `jwks`. The test suite runs
/// with every feature, so this reads the manifest rather than `cfg!`.
#[test]
fn the_default_features_verify_rs256_with_keys_by_discovery() {
    let manifest =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml")).unwrap();
    let default = manifest
        .lines()
        .find_map(|line| line.strip_prefix("default = "))
        .expect("Cargo.toml names its default features");
    assert!(default.contains("\"reqwest\""), "default = {default}");
    let reqwest = manifest
        .lines()
        .find_map(|line| line.strip_prefix("reqwest = ["))
        .expect("Cargo.toml has the reqwest feature");
    assert!(reqwest.contains("\"jwks\""), "reqwest = [{reqwest}");
}

#[test]
fn citations_resolve_to_the_files_rust_loads_the_module_from() {
    let Citation::Tests { files, tests } = citation("token::validator::tests::{a, b_2}") else {
        panic!("a module citation was not read as one");
    };
    assert_eq!(
        files,
        [
            "src/token/validator.rs",
            "src/token/validator/mod.rs",
            "src/token/validator/tests.rs",
            "src/token/validator/tests/mod.rs"
        ]
        .map(PathBuf::from)
    );
    assert_eq!(tests, ["a", "b_2"]);

    let Citation::Tests { files, tests } = citation("tests/it/form.rs::*") else {
        panic!("a black-box citation was not read as one");
    };
    assert_eq!(files, [PathBuf::from("tests/it/form.rs")]);
    assert!(tests.is_empty());

    assert!(matches!(citation("src/jws.rs"), Citation::File(path) if path == "src/jws.rs"));
    for not_a_citation in [
        "allow_query_token",
        "TokenValidator::validate_at",
        "64 * 1024",
    ] {
        assert!(matches!(citation(not_a_citation), Citation::None));
    }
    for unreadable in ["jws::tests::{a b}", "jws::tests::", "tests/x.rs::a::b"] {
        assert!(matches!(citation(unreadable), Citation::Unreadable));
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Require {
    /// Every row of the document's tables cites at least one test.
    TestInEveryRow,
    /// A row may be checked by a tool rather than a test.
    Nothing,
}

/// Fails with every stale citation of `document` (a file at the crate root) at once.
fn check(document: &str, require: Require) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = fs::read_to_string(root.join(document))
        .unwrap_or_else(|error| panic!("cannot read {document}: {error}"));
    let rows = table_rows(&text);
    assert!(
        !rows.is_empty(),
        "{document} has no table: this test reads its citations from Markdown table rows"
    );

    let mut stale = String::new();
    for row in &rows {
        let mut tests_cited = 0;
        for span in row.cells.iter().flat_map(|cell| code_spans(cell)) {
            let problem = match citation(span) {
                Citation::Tests { files, tests } => {
                    tests_cited += 1;
                    missing_tests(root, &files, &tests)
                }
                Citation::File(path) => {
                    (!root.join(&path).is_file()).then(|| format!("no file {path}"))
                }
                Citation::Unreadable => Some(
                    "cannot be read as `module::path::tests::NAMES` or `tests/it/file.rs::NAMES`, \
                     where NAMES is `name`, `{a, b}` or `*`"
                        .to_owned(),
                ),
                Citation::None => None,
            };
            if let Some(problem) = problem {
                let _ = writeln!(stale, "  {document} {}: `{span}`: {problem}", row.label());
            }
        }
        if require == Require::TestInEveryRow && tests_cited == 0 {
            let _ = writeln!(stale, "  {document} {}: cites no test", row.label());
        }
    }
    assert!(
        stale.is_empty(),
        "{document} cites tests or files that do not exist; rename the citation along with the \
         test (or the module path along with the file):\n{stale}"
    );
}

/// A row of a Markdown table, header and separator rows left out.
struct Row {
    line: usize,
    cells: Vec<String>,
}

impl Row {
    /// How a failure names the row: its first cell (the rule's number in COMPLIANCE.md) and
    /// its line.
    fn label(&self) -> String {
        let first = self.cells.first().map_or("", String::as_str);
        let first: String = if first.chars().count() > 40 {
            first.chars().take(40).chain(['…']).collect()
        } else {
            first.to_owned()
        };
        format!("row {first} (line {})", self.line)
    }
}

fn table_rows(text: &str) -> Vec<Row> {
    let lines: Vec<&str> = text.lines().collect();
    let is_row = |line: &str| line.trim_start().starts_with('|');
    let is_separator = |line: &str| {
        is_row(line)
            && line
                .chars()
                .all(|c| matches!(c, '|' | '-' | ':' | ' ' | '\t'))
    };
    lines
        .iter()
        .enumerate()
        .filter(|&(i, line)| {
            let is_header = lines.get(i + 1).is_some_and(|next| is_separator(next));
            is_row(line) && !is_separator(line) && !is_header
        })
        .map(|(i, line)| Row {
            line: i + 1,
            cells: cells(line),
        })
        .collect()
}

/// The cells of a table row: split at each `|` outside a code span.
fn cells(line: &str) -> Vec<String> {
    let inner = line.trim().trim_start_matches('|').trim_end_matches('|');
    let mut cells = vec![String::new()];
    let mut in_code = false;
    for c in inner.chars() {
        match c {
            '`' => in_code = !in_code,
            '|' if !in_code => {
                cells.push(String::new());
                continue;
            }
            _ => {}
        }
        if let Some(cell) = cells.last_mut() {
            cell.push(c);
        }
    }
    cells.iter().map(|cell| cell.trim().to_owned()).collect()
}

/// The text between each pair of backticks.
fn code_spans(cell: &str) -> Vec<&str> {
    cell.split('`').skip(1).step_by(2).collect()
}

enum Citation {
    /// Tests by name (none: the whole file) in the first of `files` that exists.
    Tests {
        files: Vec<PathBuf>,
        tests: Vec<String>,
    },
    /// A file of the repository.
    File(String),
    /// Looks like a citation, but cannot be read as one.
    Unreadable,
    /// Not a citation: a setting, a claim, a value.
    None,
}

fn citation(span: &str) -> Citation {
    if let Some((file, names)) = span.split_once(".rs::") {
        if !file.starts_with("tests/") || !is_path(file) {
            return Citation::Unreadable;
        }
        return match test_names(names) {
            Some(tests) => Citation::Tests {
                files: vec![PathBuf::from(format!("{file}.rs"))],
                tests,
            },
            None => Citation::Unreadable,
        };
    }
    if let Some((module, names)) = span.rsplit_once("::tests::") {
        let segments: Vec<&str> = module.split("::").collect();
        return match test_names(names) {
            Some(tests) if segments.iter().all(|s| is_identifier(s)) => Citation::Tests {
                files: module_files(&segments),
                tests,
            },
            _ => Citation::Unreadable,
        };
    }
    let has_extension = span
        .rsplit_once('/')
        .is_some_and(|(_, name)| name.contains('.'));
    if is_path(span) && has_extension {
        return Citation::File(span.to_owned());
    }
    Citation::None
}

/// Where the unit tests of `a::b` can be: `src/a/b.rs`, `src/a/b/mod.rs`, or a file of their
/// own beside them.
fn module_files(segments: &[&str]) -> Vec<PathBuf> {
    let dir: PathBuf = ["src"].iter().chain(segments).collect();
    vec![
        dir.with_extension("rs"),
        dir.join("mod.rs"),
        dir.join("tests.rs"),
        dir.join("tests").join("mod.rs"),
    ]
}

/// `name`, `{a, b}`, or `*` (the file itself: no names).
fn test_names(names: &str) -> Option<Vec<String>> {
    if names == "*" {
        return Some(Vec::new());
    }
    let list = names
        .strip_prefix('{')
        .and_then(|rest| rest.strip_suffix('}'))
        .unwrap_or(names);
    let names: Vec<String> = list.split(',').map(|n| n.trim().to_owned()).collect();
    names.iter().all(|n| is_identifier(n)).then_some(names)
}

fn missing_tests(root: &Path, files: &[PathBuf], tests: &[String]) -> Option<String> {
    let shown = |paths: &[PathBuf]| {
        paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(" or ")
    };
    let existing: Vec<PathBuf> = files
        .iter()
        .filter(|file| root.join(file).is_file())
        .cloned()
        .collect();
    if existing.is_empty() {
        return Some(format!("no file {}", shown(files)));
    }
    let source: String = existing
        .iter()
        .filter_map(|file| fs::read_to_string(root.join(file)).ok())
        .collect();
    let missing: Vec<&str> = tests
        .iter()
        .map(String::as_str)
        .filter(|test| !source.contains(&format!("fn {test}(")))
        .collect();
    (!missing.is_empty()).then(|| {
        format!(
            "no test {} in {}",
            missing
                .iter()
                .map(|test| format!("`fn {test}(`"))
                .collect::<Vec<_>>()
                .join(", "),
            shown(&existing)
        )
    })
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A relative path inside the repository, such as `src/jws.rs`.
fn is_path(s: &str) -> bool {
    s.contains('/')
        && !s.starts_with('/')
        && !s.contains("..")
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/'))
}
