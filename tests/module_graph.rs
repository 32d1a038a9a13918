//! The module graph of every crate has no circle (DESIGN.md, "Inside the
//! harness: layers"): a module may use the modules below it, never one
//! that uses it back. The scan reads the sources, not the compiler's view:
//! every `crate::`, `super::` and `self::` path and every path through a
//! declared child module (`mod child;` then `child::x`) is an edge from the
//! file it appears in to the module file the path lands in. Paths through
//! a re-export (`pub use a::B`) are followed to where the item is defined,
//! and the re-export itself is a facade, not a dependency (a `mod.rs` that
//! re-exports its children's items may be used by them). Comments and
//! string literals are ignored, so a doc link is not an edge.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Source folders of the workspace's crates.
const CRATES: &[&str] = &[
    "core/src",
    "spaces/src",
    "ops/src",
    "datasets/src",
    "strategies/src",
    "harness/src",
    "results/src",
    "src",
];

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Ident(String),
    PathSep,
    Open,
    Close,
    Comma,
    Semi,
    Star,
    Other,
}

/// Tokens of `src` without comments, string and char literals.
fn tokens(src: &str) -> Vec<Token> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                    depth += 1;
                    i += 2;
                } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == b'r' && matches!(b.get(i + 1), Some(b'"') | Some(b'#')) {
            // Raw string r"..." or r#"..."#.
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&b'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&b'"') {
                out.push(Token::Ident("r".into()));
                i += 1;
                continue;
            }
            j += 1;
            let close: Vec<u8> = std::iter::once(b'"')
                .chain(std::iter::repeat_n(b'#', hashes))
                .collect();
            while j < b.len() && !b[j..].starts_with(&close) {
                j += 1;
            }
            i = j + close.len();
            out.push(Token::Other);
        } else if c == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push(Token::Other);
        } else if c == b'\'' {
            // A char literal ('a', '\n') or a lifetime ('a).
            if b.get(i + 1) == Some(&b'\\') {
                i += 2;
                while i < b.len() && b[i] != b'\'' {
                    i += 1;
                }
                i += 1;
            } else if b.get(i + 2) == Some(&b'\'') {
                i += 3;
            } else {
                i += 1;
            }
            out.push(Token::Other);
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push(Token::Ident(src[start..i].to_string()));
        } else if c == b':' && b.get(i + 1) == Some(&b':') {
            out.push(Token::PathSep);
            i += 2;
        } else {
            out.push(match c {
                b'{' => Token::Open,
                b'}' => Token::Close,
                b',' => Token::Comma,
                b';' => Token::Semi,
                b'*' => Token::Star,
                _ => Token::Other,
            });
            i += 1;
        }
    }
    out
}

/// One module file of a crate.
#[derive(Debug, Default)]
struct Module {
    /// Paths (segments) this file names, relative to its own module, each
    /// with the number of inline modules (`mod tests { .. }`) around it.
    paths: Vec<(usize, Vec<String>)>,
    /// Paths of `pub use` items: re-exported name -> full path segments.
    reexports: BTreeMap<String, Vec<String>>,
    /// Declared child modules.
    children: BTreeSet<String>,
}

/// Expands a use tree starting at `toks[*i]` under `prefix` into full
/// paths; stops at the matching `,`, `}` or `;`.
fn use_tree(toks: &[Token], i: &mut usize, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
    let mut path = prefix;
    while *i < toks.len() {
        match &toks[*i] {
            Token::Ident(s) if s == "as" => {
                *i += 2;
            }
            Token::Ident(s) => {
                path.push(s.clone());
                *i += 1;
            }
            Token::PathSep => *i += 1,
            Token::Star => {
                path.push("*".into());
                *i += 1;
            }
            Token::Open => {
                *i += 1;
                loop {
                    use_tree(toks, i, path.clone(), out);
                    match toks.get(*i) {
                        Some(Token::Comma) => *i += 1,
                        Some(Token::Close) => {
                            *i += 1;
                            break;
                        }
                        _ => break,
                    }
                }
                return;
            }
            _ => break,
        }
    }
    out.push(path);
}

/// The module-relative paths a file names.
fn scan(src: &str) -> Module {
    let toks = tokens(src);
    let mut m = Module::default();
    // Brace depths at which inline modules were opened.
    let mut inline: Vec<usize> = Vec::new();
    let mut depth = 0;
    let mut i = 0;
    while i < toks.len() {
        let ident = |k: usize| match toks.get(k) {
            Some(Token::Ident(s)) => Some(s.as_str()),
            _ => None,
        };
        if ident(i) == Some("mod")
            && matches!(toks.get(i + 2), Some(Token::Semi) | Some(Token::Open))
        {
            match (ident(i + 1), &toks[i + 2]) {
                (Some(name), Token::Semi) => {
                    m.children.insert(name.to_string());
                }
                _ => inline.push(depth + 1),
            }
            i += 2;
            continue;
        }
        match toks[i] {
            Token::Open => depth += 1,
            Token::Close => {
                if inline.last() == Some(&depth) {
                    inline.pop();
                }
                depth -= 1;
            }
            _ => {}
        }
        if ident(i) == Some("use") {
            let public = i > 0 && matches!(ident(i - 1), Some("pub")) || {
                // pub(crate) use / pub(super) use
                i >= 4 && ident(i - 4) == Some("pub")
            };
            i += 1;
            if toks.get(i) == Some(&Token::PathSep) {
                i += 1;
            }
            let mut found = Vec::new();
            use_tree(&toks, &mut i, Vec::new(), &mut found);
            for p in found {
                if public {
                    if let Some(name) = p.last().filter(|n| *n != "*") {
                        m.reexports.insert(name.clone(), p.clone());
                    }
                } else {
                    m.paths.push((inline.len(), p));
                }
            }
            continue;
        }
        // An expression or type path: ident (:: ident)*, not itself the
        // tail of a longer path.
        if let Some(first) = ident(i) {
            let tail = i > 0 && toks[i - 1] == Token::PathSep;
            if !tail && toks.get(i + 1) == Some(&Token::PathSep) {
                let mut path = vec![first.to_string()];
                let mut k = i + 1;
                while toks.get(k) == Some(&Token::PathSep) {
                    match ident(k + 1) {
                        Some(s) => path.push(s.to_string()),
                        None => break,
                    }
                    k += 2;
                }
                m.paths.push((inline.len(), path));
                i = k;
                continue;
            }
        }
        i += 1;
    }
    m
}

/// The module path of a file relative to its crate's `src`.
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|s| s.to_string_lossy().into_owned())
        .collect();
    let file = parts.pop().unwrap_or_default();
    let stem = file.trim_end_matches(".rs");
    let root_file = parts.is_empty() && (stem == "lib" || stem == "main");
    if stem != "mod" && !root_file {
        parts.push(stem.to_string());
    }
    parts
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// A crate's module files, keyed by module path.
fn crate_modules(src: &Path) -> BTreeMap<Vec<String>, Module> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files
        .into_iter()
        .map(|f| {
            let rel = f.strip_prefix(src).unwrap_or(&f).to_path_buf();
            let text = std::fs::read_to_string(&f).unwrap_or_default();
            (module_path(&rel), scan(&text))
        })
        .collect()
}

/// Turns a path named in module `at`, inside `inline` inline modules,
/// into an absolute one, or `None` when it names something outside the
/// crate or inside the same file.
fn absolute(at: &[String], inline: usize, path: &[String], m: &Module) -> Option<Vec<String>> {
    let first = path.first()?;
    let mut base: Vec<String> = at.to_vec();
    let mut rest = path;
    match first.as_str() {
        "crate" => {
            base.clear();
            rest = &path[1..];
        }
        "self" => rest = &path[1..],
        "super" => {
            let mut skip = inline;
            while rest.first().is_some_and(|s| s == "super") {
                if skip > 0 {
                    skip -= 1;
                } else {
                    base.pop()?;
                }
                rest = &rest[1..];
            }
        }
        name if inline == 0 && m.children.contains(name) => {}
        _ => return None,
    }
    base.extend(rest.iter().cloned());
    Some(base)
}

/// The module a full path lands in, following re-exports.
fn target(modules: &BTreeMap<Vec<String>, Module>, path: &[String], hops: usize) -> Vec<String> {
    let mut len = path.len();
    while len > 0 && !modules.contains_key(&path[..len]) {
        len -= 1;
    }
    let module = path[..len].to_vec();
    if hops < 8 {
        if let (Some(name), Some(m)) = (path.get(len), modules.get(&module)) {
            if let Some(re) = m.reexports.get(name) {
                if let Some(abs) = absolute(&module, 0, re, m) {
                    return target(modules, &abs, hops + 1);
                }
            }
        }
    }
    module
}

/// Edges between module files of one crate.
fn edges(modules: &BTreeMap<Vec<String>, Module>) -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let mut graph: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for (at, m) in modules {
        for (inline, p) in &m.paths {
            let inline = *inline;
            let Some(abs) = absolute(at, inline, p, m) else {
                continue;
            };
            let to = target(modules, &abs, 0);
            if &to != at {
                graph.entry(at.clone()).or_default().insert(to);
            }
        }
    }
    graph
}

/// Every group of modules that reach each other (strongly connected
/// components of more than one module, Tarjan's algorithm), by name.
fn circles(graph: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Vec<Vec<String>> {
    struct Walk<'g> {
        graph: &'g BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        index: BTreeMap<&'g Vec<String>, usize>,
        low: BTreeMap<&'g Vec<String>, usize>,
        stack: Vec<&'g Vec<String>>,
        found: Vec<Vec<String>>,
    }
    impl<'g> Walk<'g> {
        fn visit(&mut self, n: &'g Vec<String>) {
            let i = self.index.len();
            self.index.insert(n, i);
            self.low.insert(n, i);
            self.stack.push(n);
            for next in self.graph.get(n).into_iter().flatten() {
                if !self.index.contains_key(next) {
                    self.visit(next);
                    let low = self.low[next].min(self.low[n]);
                    self.low.insert(n, low);
                } else if self.stack.contains(&next) {
                    let low = self.index[next].min(self.low[n]);
                    self.low.insert(n, low);
                }
            }
            if self.low[n] == self.index[n] {
                let mut group = Vec::new();
                while let Some(m) = self.stack.pop() {
                    group.push(name(m));
                    if m == n {
                        break;
                    }
                }
                if group.len() > 1 {
                    group.sort();
                    self.found.push(group);
                }
            }
        }
    }
    let mut walk = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        found: Vec::new(),
    };
    for n in graph.keys() {
        if !walk.index.contains_key(n) {
            walk.visit(n);
        }
    }
    walk.found
}

/// One circle, if any (for the tests of the scan itself).
fn find_circle(graph: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Option<Vec<String>> {
    circles(graph).into_iter().next()
}

fn name(m: &[String]) -> String {
    if m.is_empty() {
        "crate".into()
    } else {
        m.join("::")
    }
}

#[test]
fn no_crate_has_a_module_circle() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut found = Vec::new();
    for krate in CRATES {
        let modules = crate_modules(&root.join(krate));
        assert!(!modules.is_empty(), "no sources under {krate}");
        for group in circles(&edges(&modules)) {
            found.push(format!(
                "{krate}: {{{}}} reach each other",
                group.join(", ")
            ));
        }
    }
    assert!(found.is_empty(), "module circles:\n{}", found.join("\n"));
}

#[test]
fn the_scan_sees_a_circle_through_super_and_child_paths() {
    let mut modules = BTreeMap::new();
    let parent = scan("mod child; pub fn helper() {} fn f() { child::g() }");
    let child = scan("use super::helper; pub fn g() { helper() }");
    modules.insert(vec!["p".to_string()], parent);
    modules.insert(vec!["p".to_string(), "child".to_string()], child);
    modules.insert(Vec::new(), scan("mod p;"));
    let circle = find_circle(&edges(&modules)).expect("p <-> p::child is a circle");
    assert!(circle.contains(&"p::child".to_string()), "{circle:?}");
}

#[test]
fn the_scan_ignores_comments_strings_and_root_facades() {
    let mut modules = BTreeMap::new();
    // The root re-exports `a::A`; `b` names it through the root and `a`
    // names `b` only in a comment and a string: no circle.
    modules.insert(Vec::new(), scan("mod a; mod b; pub use a::A;"));
    modules.insert(
        vec!["a".to_string()],
        scan("//! see [`crate::b::B`]\npub struct A; const S: &str = \"crate::b::B\";"),
    );
    modules.insert(
        vec!["b".to_string()],
        scan("use crate::A; pub struct B(A);"),
    );
    assert_eq!(find_circle(&edges(&modules)), None);
    // A real edge back from `a` to `b` closes the circle.
    modules.insert(
        vec!["a".to_string()],
        scan("pub struct A; fn f(_: crate::b::B) {}"),
    );
    assert!(find_circle(&edges(&modules)).is_some());
}

#[test]
fn no_harness_file_is_over_400_lines() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("harness/src"), &mut files);
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let lines = std::fs::read_to_string(f).ok()?.lines().count();
            (lines > 400).then(|| format!("{} ({lines} lines)", f.display()))
        })
        .collect();
    assert!(long.is_empty(), "split these files: {long:?}");
}
