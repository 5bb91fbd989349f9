//! The crate's modules depend one way: read `src/`, build the module graph from its
//! `crate::` and `super::` references (outside `#[cfg(test)]`), and fail on a cycle, naming the
//! modules and the names that tie them. The layering written in `src/lib.rs` must be true: each
//! module listed once, each reference to a lower layer. And no function is over 80 lines.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const SRC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
const ROOT: &str = "crate root";
const MAX_FN_LINES: usize = 80;

/// module -> module -> the names referenced.
type Graph = BTreeMap<String, BTreeMap<String, BTreeSet<String>>>;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// A file's module path: `aws/net.rs` is `aws::net`, `aws/mod.rs` is `aws`.
fn file_module(path: &Path) -> Vec<String> {
    let rel = path.strip_prefix(SRC).unwrap();
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// A folder's `mod.rs` that only declares its rooms (and documents them): no code of its own.
fn declares_only(text: &str) -> bool {
    code(text).lines().map(str::trim).all(|l| {
        l.is_empty() || l.starts_with("#![") || l.starts_with("mod ") || l.starts_with("pub mod ")
    })
}

/// The folders whose `mod.rs` has code: each is one module with everything below it (its
/// files' ties to each other are checked by [`the_files_of_one_module_have_no_cycle`]).
fn folded_folders() -> Vec<Vec<String>> {
    let mut files = Vec::new();
    rust_files(Path::new(SRC), &mut files);
    files
        .iter()
        .filter(|f| f.ends_with("mod.rs"))
        .filter(|f| !declares_only(&std::fs::read_to_string(f).unwrap()))
        .map(|f| file_module(f))
        .collect()
}

/// The module a file belongs to, as `a::b` (the crate root for lib.rs and main.rs): its own
/// path, or the folded folder above it.
fn module_of(path: &Path, folded: &[Vec<String>]) -> String {
    let parts = file_module(path);
    if parts == ["lib"] || parts == ["main"] {
        return ROOT.into();
    }
    let fold = folded
        .iter()
        .filter(|f| parts.starts_with(f))
        .min_by_key(|f| f.len());
    fold.unwrap_or(&parts).join("::")
}

/// A path's module: the longest start of `segments` that is a module, and the name after it.
fn resolve(segments: &[String], modules: &BTreeSet<String>) -> Option<(String, String)> {
    (1..=segments.len()).rev().find_map(|n| {
        let m = segments[..n].join("::");
        modules
            .contains(&m)
            .then(|| (m, segments.get(n).cloned().unwrap_or_else(|| "*".into())))
    })
}

/// The code of a file without its tests and comments.
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap();
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) if !l[..i].contains('"') => &l[..i],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn ident(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// The items of a `{a, b::c, d::{e, f}}` group (without its braces), split at depth 0.
fn group_items(group: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let (mut depth, mut from) = (0, 0);
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(group[from..i].trim());
                from = i + 1;
            }
            _ => {}
        }
    }
    items.push(group[from..].trim());
    items.into_iter().filter(|i| !i.is_empty()).collect()
}

/// The text of a brace group starting right after its `{`, up to its matching `}`.
fn group_body(rest: &str) -> &str {
    let mut depth = 1;
    for (i, c) in rest.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            _ => {}
        }
        if depth == 0 {
            return &rest[..i];
        }
    }
    rest
}

/// The paths after `crate::` (or `super::`) in one `use` or expression, groups expanded:
/// each a list of segments, the last one the name used.
fn paths(rest: &str) -> Vec<Vec<String>> {
    if let Some(group) = rest.strip_prefix('{') {
        return group_items(group_body(group))
            .into_iter()
            .flat_map(paths)
            .collect();
    }
    let first = ident(rest);
    if first.is_empty() {
        return Vec::new();
    }
    let after = &rest[first.len()..];
    match after.strip_prefix("::") {
        Some(g) if g.starts_with('{') || !ident(g).is_empty() => paths(g)
            .into_iter()
            .map(|mut p| {
                p.insert(0, first.to_string());
                p
            })
            .collect(),
        _ => vec![vec![first.to_string()]],
    }
}

/// Every path after `prefix` (`crate::` or `super::`), as segments.
fn references(code: &str, prefix: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for (i, _) in code.match_indices(prefix) {
        let before = code[..i].chars().last();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        out.extend(paths(&code[i + prefix.len()..]));
    }
    out
}

fn graph() -> Graph {
    let mut files = Vec::new();
    rust_files(Path::new(SRC), &mut files);
    let folded = folded_folders();
    let declaring: BTreeSet<PathBuf> = files
        .iter()
        .filter(|f| f.ends_with("mod.rs") && declares_only(&std::fs::read_to_string(f).unwrap()))
        .cloned()
        .collect();
    let mut modules = BTreeSet::new();
    for f in files.iter().filter(|f| !declaring.contains(*f)) {
        modules.insert(module_of(f, &folded));
    }
    let mut g: Graph = BTreeMap::new();
    for f in &files {
        if f.ends_with("main.rs") || declaring.contains(f) {
            continue;
        }
        let module = module_of(f, &folded);
        g.entry(module.clone()).or_default();
        let code = code(&std::fs::read_to_string(f).unwrap());
        let own = file_module(f);
        let parent = if f.ends_with("mod.rs") {
            own[..own.len().saturating_sub(1)].to_vec()
        } else {
            own[..own.len() - 1].to_vec()
        };
        let mut refs: Vec<(String, String)> = Vec::new();
        for path in references(&code, "crate::") {
            refs.push(resolve(&path, &modules).unwrap_or((ROOT.into(), path[0].clone())));
        }
        for path in references(&code, "super::") {
            let full: Vec<String> = parent.iter().cloned().chain(path.clone()).collect();
            let to = resolve(&full, &modules);
            refs.push(to.unwrap_or((ROOT.into(), path[0].clone())));
        }
        for (to, name) in refs {
            if to != module {
                g.entry(module.clone())
                    .or_default()
                    .entry(to)
                    .or_default()
                    .insert(name);
            }
        }
    }
    // The root declares and composes every module.
    for m in modules.iter().filter(|m| *m != ROOT) {
        g.entry(ROOT.into())
            .or_default()
            .entry(m.clone())
            .or_default()
            .insert("mod".into());
    }
    g
}

/// The first cycle found, as text: `a -> b (names) -> a (names)`.
fn find_cycle(g: &Graph) -> Option<String> {
    fn visit(
        g: &Graph,
        m: &str,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|s| s == m) {
            let mut cycle = stack[at..].to_vec();
            cycle.push(m.to_string());
            return Some(cycle);
        }
        if done.contains(m) {
            return None;
        }
        stack.push(m.to_string());
        for next in g.get(m).into_iter().flat_map(|e| e.keys()) {
            if let Some(c) = visit(g, next, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        done.insert(m.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for m in g.keys() {
        if let Some(cycle) = visit(g, m, &mut Vec::new(), &mut done) {
            let mut text = cycle[0].clone();
            for pair in cycle.windows(2) {
                let names: Vec<&str> = g[&pair[0]][&pair[1]].iter().map(String::as_str).collect();
                text.push_str(&format!(" -> {} ({})", pair[1], names.join(", ")));
            }
            return Some(text);
        }
    }
    None
}

/// `//! - layer N: a, b` lines of `src/lib.rs`.
fn declared_layers() -> BTreeMap<String, usize> {
    let lib = std::fs::read_to_string(format!("{SRC}/lib.rs")).unwrap();
    let mut layers = BTreeMap::new();
    for line in lib.lines() {
        let Some(rest) = line.strip_prefix("//! - layer ") else {
            continue;
        };
        let (n, modules) = rest.split_once(": ").expect("layer N: modules");
        for m in modules.split(", ") {
            let previous = layers.insert(m.trim().to_string(), n.parse().unwrap());
            assert!(previous.is_none(), "{m} is listed twice in src/lib.rs");
        }
    }
    layers
}

#[test]
fn the_module_graph_has_no_cycle() {
    let g = graph();
    assert!(g.len() > 10, "the graph was read: {:?}", g.keys());
    if let Some(cycle) = find_cycle(&g) {
        panic!("the modules depend on each other in a cycle: {cycle}");
    }
}

#[test]
fn the_cycle_check_names_the_modules_and_the_names_that_tie_them() {
    let mut g = graph();
    g.entry("aws::net".into())
        .or_default()
        .entry("aws::credentials".into())
        .or_default()
        .insert("Credentials".into());
    let cycle = find_cycle(&g).expect("a cycle added by hand is found");
    assert!(
        cycle.contains("-> aws::credentials (Credentials)")
            && cycle.contains("aws::credentials -> aws::net (Http"),
        "{cycle}"
    );
    let refs = references(
        "use crate::{a::B, c, d::{E, F}};\nuse crate::n::{x, y::Z};\nlet v = crate::g::h();",
        "crate::",
    );
    let want: Vec<Vec<&str>> = vec![
        vec!["a", "B"],
        vec!["c"],
        vec!["d", "E"],
        vec!["d", "F"],
        vec!["n", "x"],
        vec!["n", "y", "Z"],
        vec!["g", "h"],
    ];
    assert_eq!(refs, want);
    // A path names the deepest module it reaches, and the name used in it.
    let modules: BTreeSet<String> = ["hosting::api::jobs", "hosting"].map(String::from).into();
    let path = ["hosting", "api", "jobs", "JobSummary"].map(String::from);
    assert_eq!(
        resolve(&path, &modules),
        Some(("hosting::api::jobs".into(), "JobSummary".into()))
    );
}

/// A folder whose `mod.rs` has code is one module; its files still must not tie each other in
/// a circle (the credential providers once did: github <-> web_identity).
#[test]
fn the_files_of_one_module_have_no_cycle() {
    let mut files = Vec::new();
    rust_files(Path::new(SRC), &mut files);
    let folded = folded_folders();
    assert!(
        folded.contains(&vec!["aws".to_string(), "credentials".to_string()]),
        "{folded:?}"
    );
    for folder in &folded {
        let mut g: Graph = BTreeMap::new();
        let inside: Vec<&PathBuf> = files
            .iter()
            .filter(|f| file_module(f).starts_with(folder) && !f.ends_with("mod.rs"))
            .collect();
        let names: BTreeSet<String> = inside.iter().map(|f| file_module(f).join("::")).collect();
        for f in &inside {
            let me = file_module(f).join("::");
            g.entry(me.clone()).or_default();
            let code = code(&std::fs::read_to_string(f).unwrap());
            for path in references(&code, "super::") {
                let sibling = format!("{}::{}", folder.join("::"), path[0]);
                if names.contains(&sibling) && sibling != me {
                    let name = path.get(1).cloned().unwrap_or_else(|| "*".into());
                    g.entry(me.clone())
                        .or_default()
                        .entry(sibling)
                        .or_default()
                        .insert(name);
                }
            }
        }
        assert!(g.len() > 1, "{folder:?} was read");
        if let Some(cycle) = find_cycle(&g) {
            panic!(
                "the files of {} tie each other in a cycle: {cycle}",
                folder.join("::")
            );
        }
    }
}

/// A folder's `mod.rs` only declares its rooms (the service folders, the report and the
/// modes), so the house reads from the folder names and no room hides behind a re-export.
#[test]
fn the_folders_of_the_house_only_declare_their_rooms() {
    for folder in ["aws", "hosting", "hosting/api", "report", "modes"] {
        let text = std::fs::read_to_string(format!("{SRC}/{folder}/mod.rs")).unwrap();
        assert!(declares_only(&text), "{folder}/mod.rs has code of its own");
    }
    assert!(!declares_only("pub mod a;\npub use a::B;\n"));
}

#[test]
fn every_reference_points_to_a_lower_layer_as_src_lib_rs_says() {
    let g = graph();
    let layers = declared_layers();
    let modules: BTreeSet<&String> = g.keys().filter(|m| *m != ROOT).collect();
    let listed: BTreeSet<&String> = layers.keys().collect();
    assert_eq!(modules, listed, "src/lib.rs lists each module in one layer");
    let mut wrong = Vec::new();
    for (from, edges) in g.iter().filter(|(m, _)| *m != ROOT) {
        for (to, names) in edges {
            let ok = to != ROOT && layers[to] < layers[from];
            if !ok {
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                wrong.push(format!(
                    "{from} (layer {}) -> {to} (layer {}): {}",
                    layers[from],
                    layers.get(to).map_or("root".into(), |l| l.to_string()),
                    names.join(", ")
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "references that do not point down:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn no_function_in_src_is_over_80_lines() {
    let mut files = Vec::new();
    rust_files(Path::new(SRC), &mut files);
    let mut long = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let trimmed = line.trim_start();
            let indent = &line[..line.len() - trimmed.len()];
            let is_fn = [
                "fn ",
                "pub fn ",
                "async fn ",
                "pub async fn ",
                "pub(crate) fn ",
            ]
            .iter()
            .any(|p| trimmed.starts_with(p));
            if !is_fn || trimmed.ends_with(';') {
                continue;
            }
            let close = format!("{indent}}}");
            let end = lines[i..]
                .iter()
                .position(|l| *l == close)
                .map_or(lines.len(), |n| i + n);
            let n = end - i + 1;
            if n > MAX_FN_LINES {
                long.push(format!("{}:{} is {n} lines", f.display(), i + 1));
            }
        }
    }
    assert!(
        long.is_empty(),
        "split these functions:\n{}",
        long.join("\n")
    );
}

/// The two services are siblings on the shared AWS layer: neither's modules name the other's.
#[test]
fn the_two_services_do_not_reach_into_each_other() {
    let g = graph();
    let mut wrong = Vec::new();
    for (from, edges) in &g {
        for (to, names) in edges {
            let crossing = (from.starts_with("hosting") && to.starts_with("gen3"))
                || (from.starts_with("gen3") && to.starts_with("hosting"));
            if crossing {
                wrong.push(format!("{from} -> {to} ({names:?})"));
            }
        }
    }
    assert!(
        g.keys().any(|m| m.starts_with("gen3::")),
        "the graph has the new service"
    );
    assert!(
        wrong.is_empty(),
        "the services reach into each other:\n{}",
        wrong.join("\n")
    );
}
