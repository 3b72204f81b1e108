//! The layering check (issue 10, STYLE.md "Layers"): reads every file under
//! `src/`, collects the `crate::…` and `super::…` paths its non-test code
//! uses (`use` items and inline paths), and fails on
//!
//! * an import that goes up the table below (or between `web` and `api`),
//! * an import cycle between top-level modules,
//!
//! unless the edge is in [`ALLOWED`], the explicit list of edges the redesign
//! has not removed yet. An entry that no longer matches anything fails the
//! check too, so the list can only shrink.
//!
//! The reader is a small tokenizer, not a Rust parser: comments, string and
//! char literals and `#[cfg(test)]` items are dropped, then every path that
//! starts with `crate` or `super` (including `use` groups) is resolved to the
//! longest module it names. `main.rs` is the binary and imports `keyward::`,
//! so it is not read.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Each line may import only from the lines above it (lower rank), or from
/// its own line; `web` and `api` share a line but never import each other.
const LAYERS: &[(&str, u8)] = &[
    ("domain", 0),
    ("store", 1),
    // The instance's counters: below everything that counts, above nothing
    // but the domain (the rejection codes it registers).
    ("metrics", 1),
    ("error", 2),
    ("auth", 3),
    ("service", 4),
    // actix route-table plumbing the two faces share; imports no crate module.
    ("routing", 5),
    ("web", 6),
    ("api", 6),
    // The composition root.
    ("startup", 7),
    ("config", 7),
    ("secret_file", 7),
    ("cli", 7),
    ("commands", 7),
    ("telemetry", 7),
];

/// Modules on one line that still must not import each other.
const NEVER_EACH_OTHER: &[(&str, &str)] = &[("web", "api"), ("api", "web")];

/// Edges that break the table today, each with why it is still here. A
/// module path matches itself and everything under it (`web` matches
/// `web::login`). Remove an entry when its edge goes; never add one.
const ALLOWED: &[(&str, &str, &str)] = &[];

#[test]
fn imports_follow_the_layer_table_and_form_no_cycle() {
    let graph = Graph::read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    let report = graph.check();
    println!("{}", report.summary);
    assert!(
        report.failures.is_empty(),
        "{}\n{}",
        report.failures.join("\n"),
        report.summary
    );
}

/// The module graph: file module → the modules its non-test code names, with
/// one sample path per edge for the message.
struct Graph {
    modules: BTreeSet<String>,
    edges: BTreeMap<(String, String), String>,
}

struct Report {
    failures: Vec<String>,
    summary: String,
}

impl Graph {
    fn read(src: &Path) -> Self {
        let mut files = Vec::new();
        walk(src, &mut files);
        let mut parsed = Vec::new();
        let mut modules = BTreeSet::new();
        for file in files {
            let rel = file.strip_prefix(src).expect("under src");
            let Some(module) = module_path(rel) else { continue };
            let text = std::fs::read_to_string(&file).expect("readable source");
            modules.insert(module.clone());
            parsed.push((module, text));
        }
        let mut edges = BTreeMap::new();
        for (module, text) in &parsed {
            let tokens = without_cfg_test(tokenize(text));
            for path in crate_paths(&tokens, module) {
                let Some(target) = longest_module(&modules, &path) else {
                    continue;
                };
                if target == *module || target == "crate" {
                    continue;
                }
                edges.entry((module.clone(), target)).or_insert_with(|| path.join("::"));
            }
        }
        Graph { modules, edges }
    }

    fn check(&self) -> Report {
        let mut failures = Vec::new();
        let mut used = vec![false; ALLOWED.len()];
        let allowed = |from: &str, to: &str, used: &mut Vec<bool>| {
            let hit = ALLOWED.iter().position(|(f, t, _)| under(from, f) && under(to, t));
            if let Some(i) = hit {
                used[i] = true;
            }
            hit.is_some()
        };

        // (b) edges that break the table.
        let mut breaking = Vec::new();
        for ((from, to), sample) in &self.edges {
            let (a, b) = (top(from), top(to));
            if a == b {
                continue;
            }
            let upward = match (rank(a), rank(b)) {
                (Some(ra), Some(rb)) => rb > ra,
                _ => {
                    failures.push(format!(
                        "module `{}` is in no line of LAYERS; give it one",
                        if rank(a).is_none() { a } else { b }
                    ));
                    continue;
                }
            };
            let sideways = NEVER_EACH_OTHER.contains(&(a, b));
            if upward || sideways {
                let ok = allowed(from, to, &mut used);
                breaking.push(format!(
                    "  {from} -> {to} ({sample}){}",
                    if ok { "  [allowed]" } else { "" }
                ));
                if !ok {
                    failures.push(format!("NEW upward import: {from} -> {to} (`crate::{sample}`)"));
                }
            }
        }

        // (a) cycles between top-level modules, allowed edges removed.
        let mut top_edges: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        let mut all_top_edges: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for (from, to) in self.edges.keys() {
            let (a, b) = (top(from), top(to));
            if a == b {
                continue;
            }
            all_top_edges.entry(a).or_default().insert(b);
            if !allowed(from, to, &mut used) {
                top_edges.entry(a).or_default().insert(b);
            }
        }
        let tops: BTreeSet<&str> = self.modules.iter().map(|m| top(m)).collect();
        for scc in sccs(&tops, &top_edges) {
            failures.push(format!(
                "import cycle between top-level modules not covered by ALLOWED: {}",
                scc.join(", ")
            ));
        }

        for (i, (f, t, why)) in ALLOWED.iter().enumerate() {
            if !used[i] {
                failures.push(format!(
                    "ALLOWED entry {f} -> {t} ({why}) matches no edge any more: remove it"
                ));
            }
        }

        // The summary: what still breaks the table, and the cycles as they
        // stand with every edge counted (top-level modules and files).
        let mut summary = String::new();
        let file_edges: BTreeMap<&str, BTreeSet<&str>> = self.edges.keys().fold(BTreeMap::new(), |mut m, (a, b)| {
            m.entry(a.as_str()).or_default().insert(b.as_str());
            m
        });
        let files: BTreeSet<&str> = self.modules.iter().map(String::as_str).collect();
        let top_sccs = sccs(&tops, &all_top_edges);
        let file_sccs = sccs(&files, &file_edges);
        let _ = writeln!(
            summary,
            "layering: {} modules, {} edges; {} ALLOWED entries",
            self.modules.len(),
            self.edges.len(),
            ALLOWED.len()
        );
        let _ = writeln!(summary, "edges that break the table ({}):", breaking.len());
        for line in &breaking {
            let _ = writeln!(summary, "{line}");
        }
        for scc in &top_sccs {
            let _ = writeln!(
                summary,
                "top-level cycle ({} of {} top-level modules): {}",
                scc.len(),
                tops.len(),
                scc.join(", ")
            );
        }
        for scc in &file_sccs {
            let _ = writeln!(
                summary,
                "module cycle ({} of {} modules): {}",
                scc.len(),
                files.len(),
                scc.join(", ")
            );
        }
        if top_sccs.is_empty() && file_sccs.is_empty() {
            let _ = writeln!(summary, "no import cycle");
        }
        Report { failures, summary }
    }
}

fn rank(top: &str) -> Option<u8> {
    LAYERS.iter().find(|(m, _)| *m == top).map(|(_, r)| *r)
}

fn top(module: &str) -> &str {
    module.split("::").next().unwrap_or(module)
}

/// `module` is `prefix` or under it.
fn under(module: &str, prefix: &str) -> bool {
    module == prefix || module.strip_prefix(prefix).is_some_and(|rest| rest.starts_with("::"))
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("readable src dir")
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            walk(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `auth/mod.rs` → `auth`, `web/api_keys/list.rs` → `web::api_keys::list`,
/// `lib.rs` → `crate`; `main.rs` (the binary) → none.
fn module_path(rel: &Path) -> Option<String> {
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    let last = parts.pop()?;
    let stem = last.strip_suffix(".rs")?;
    match (parts.is_empty(), stem) {
        (true, "main") => return None,
        (true, "lib") => return Some("crate".into()),
        (_, "mod") => {}
        _ => parts.push(stem.into()),
    }
    Some(parts.join("::"))
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    PathSep,
    Punct(char),
}

/// Identifiers, `::` and single punctuation; comments, strings, chars and
/// numbers dropped.
fn tokenize(text: &str) -> Vec<Tok> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == 'r' && (next == Some('#') || next == Some('"')) && raw_string_start(&chars, i) {
            // r"…", r#"…"#, br#"…"# (the `b` is lexed as an ident before, harmless)
            let mut hashes = 0;
            i += 1;
            while chars.get(i) == Some(&'#') {
                hashes += 1;
                i += 1;
            }
            i += 1; // opening quote
            loop {
                if i >= chars.len() {
                    break;
                }
                if chars[i] == '"' && (1..=hashes).all(|k| chars.get(i + k) == Some(&'#')) {
                    i += 1 + hashes;
                    break;
                }
                i += 1;
            }
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
        } else if c == '\'' {
            // a char literal ('a', '\n', '\u{..}') or a lifetime ('a)
            if next == Some('\\') {
                i += 2;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if chars.get(i + 2) == Some(&'\'') {
                i += 3;
            } else {
                i += 1;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
            }
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Tok::Ident(chars[start..i].iter().collect()));
        } else if c.is_ascii_digit() {
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
        } else if c == ':' && next == Some(':') {
            out.push(Tok::PathSep);
            i += 2;
        } else if c.is_whitespace() {
            i += 1;
        } else {
            out.push(Tok::Punct(c));
            i += 1;
        }
    }
    out
}

fn raw_string_start(chars: &[char], i: usize) -> bool {
    // `r` must start a token (not the end of an identifier like `for`)
    let prev_ident = i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
    let starts = i == 0
        || !prev_ident
        || (i == 1 && chars[0] == 'b')
        || (chars[i - 1] == 'b' && !(i >= 2 && (chars[i - 2].is_alphanumeric() || chars[i - 2] == '_')));
    if !starts {
        return false;
    }
    let mut j = i + 1;
    while chars.get(j) == Some(&'#') {
        j += 1;
    }
    chars.get(j) == Some(&'"')
}

/// Drops each item marked `#[cfg(test)]`: up to its `;` or its closing `}`.
fn without_cfg_test(tokens: Vec<Tok>) -> Vec<Tok> {
    let attr = [
        Tok::Punct('#'),
        Tok::Punct('['),
        Tok::Ident("cfg".into()),
        Tok::Punct('('),
        Tok::Ident("test".into()),
        Tok::Punct(')'),
        Tok::Punct(']'),
    ];
    let mut out = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        if tokens[i..].starts_with(&attr) {
            i += attr.len();
            let mut depth = 0usize;
            while i < tokens.len() {
                match &tokens[i] {
                    Tok::Punct('{') => depth += 1,
                    Tok::Punct('}') => {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            i += 1;
                            break;
                        }
                    }
                    Tok::Punct(';') if depth == 0 => {
                        i += 1;
                        break;
                    }
                    _ => {}
                }
                i += 1;
            }
        } else {
            out.push(tokens[i].clone());
            i += 1;
        }
    }
    out
}

/// Every path starting with `crate` or `super`, `use` groups expanded, as
/// absolute segment lists (without the leading `crate`).
/// (`super` of `a::b` is `a` whether `a::b` is `a/b.rs` or `a/b/mod.rs`.)
fn crate_paths(tokens: &[Tok], module: &str) -> Vec<Vec<String>> {
    let here: Vec<String> = if module == "crate" {
        Vec::new()
    } else {
        module.split("::").map(String::from).collect()
    };
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let start = match &tokens[i] {
            Tok::Ident(s) if s == "crate" || s == "super" => s.clone(),
            _ => {
                i += 1;
                continue;
            }
        };
        // `pub(crate)`, `pub(in crate::x)`, `a::crate`: not a path start.
        let prev_sep = i > 0 && tokens[i - 1] == Tok::PathSep;
        let prev_in = i > 0 && tokens[i - 1] == Tok::Ident("in".into());
        if prev_sep || prev_in || tokens.get(i + 1) != Some(&Tok::PathSep) {
            i += 1;
            continue;
        }
        let mut base = if start == "crate" { Vec::new() } else { parent(&here) };
        i += 1;
        // further `::super`
        while tokens.get(i) == Some(&Tok::PathSep) && tokens.get(i + 1) == Some(&Tok::Ident("super".into())) {
            base = parent(&base);
            i += 2;
        }
        if tokens.get(i) == Some(&Tok::PathSep) {
            i += 1;
            i = tree(tokens, i, base, &mut out);
        } else {
            out.push(base);
        }
    }
    out
}

fn parent(path: &[String]) -> Vec<String> {
    path[..path.len().saturating_sub(1)].to_vec()
}

/// Reads a use tree (or a plain path) at `i` under `prefix`; returns the index
/// after it.
fn tree(tokens: &[Tok], mut i: usize, mut prefix: Vec<String>, out: &mut Vec<Vec<String>>) -> usize {
    loop {
        match tokens.get(i) {
            Some(Tok::Ident(s)) if s == "self" => {
                i += 1;
            }
            Some(Tok::Ident(s)) => {
                prefix.push(s.clone());
                i += 1;
            }
            Some(Tok::Punct('*')) => {
                i += 1;
            }
            Some(Tok::Punct('{')) => {
                i += 1;
                loop {
                    match tokens.get(i) {
                        None => return i,
                        Some(Tok::Punct('}')) => return i + 1,
                        Some(Tok::Punct(',')) => i += 1,
                        Some(_) => {
                            let before = i;
                            i = tree(tokens, i, prefix.clone(), out);
                            // skip `as name` and anything unexpected
                            while let Some(t) = tokens.get(i) {
                                if matches!(t, Tok::Punct(',') | Tok::Punct('}')) {
                                    break;
                                }
                                i += 1;
                            }
                            if i == before {
                                i += 1;
                            }
                        }
                    }
                }
            }
            _ => {
                out.push(prefix);
                return i;
            }
        }
        if tokens.get(i) == Some(&Tok::PathSep) {
            i += 1;
        } else {
            out.push(prefix);
            return i;
        }
    }
}

fn longest_module(modules: &BTreeSet<String>, path: &[String]) -> Option<String> {
    (1..=path.len())
        .rev()
        .map(|n| path[..n].join("::"))
        .find(|m| modules.contains(m))
}

/// Strongly connected components of more than one node (Tarjan), each sorted.
fn sccs<'a>(nodes: &BTreeSet<&'a str>, edges: &BTreeMap<&'a str, BTreeSet<&'a str>>) -> Vec<Vec<&'a str>> {
    struct State<'a> {
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        next: usize,
        out: Vec<Vec<&'a str>>,
    }
    fn visit<'a>(v: &'a str, edges: &BTreeMap<&'a str, BTreeSet<&'a str>>, s: &mut State<'a>) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        s.on_stack.insert(v);
        for &w in edges.get(v).into_iter().flatten() {
            if !s.index.contains_key(w) {
                visit(w, edges, s);
                let lw = s.low[w];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(lw);
            } else if s.on_stack.contains(w) {
                let iw = s.index[w];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                comp.push(w);
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort_unstable();
                s.out.push(comp);
            }
        }
    }
    let mut s = State {
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for &v in nodes {
        if !s.index.contains_key(v) {
            visit(v, edges, &mut s);
        }
    }
    s.out.sort_by_key(|c| std::cmp::Reverse(c.len()));
    s.out
}

#[test]
fn the_reader_finds_use_groups_inline_paths_and_skips_comments_strings_and_tests() {
    let text = r##"
        use crate::{auth::{csrf, guard::Role}, store as s};
        use super::super::domain::*;
        pub(crate) fn f() -> crate::error::AppError { todo() }
        // crate::web::not_this
        const S: &str = "crate::api::nor_this";
        const R: &str = r#"crate::cli::nor_this"#;
        fn g<'a>(c: char) -> bool { c == '"' || c == '\'' }
        #[cfg(test)]
        mod tests { use crate::startup::Nope; }
        use crate::config::Settings;
    "##;
    let paths: Vec<String> = crate_paths(&without_cfg_test(tokenize(text)), "web::api_keys::list")
        .into_iter()
        .map(|p| p.join("::"))
        .collect();
    assert_eq!(
        paths,
        [
            "auth::csrf",
            "auth::guard::Role",
            "store",
            "web::domain",
            "error::AppError",
            "config::Settings",
        ]
    );
}
