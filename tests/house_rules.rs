//! The house rules of ARCHITECTURE.md that a machine can check, checked over `src/` with a real
//! Rust parser (syn), so "small files, small functions, no import cycles" stays true after
//! the change that made it true.
//!
//! - no file under `src/` over [`MAX_FILE_LINES`] lines, unit tests included;
//! - no function (free, method, trait default, nested, test) over [`MAX_FN_LINES`] lines;
//! - no import cycle between sibling modules: a module may use its parent's items and the
//!   parent may call into its children, but two modules that are not ancestor and
//!   descendant never depend on each other both ways (test-only code is not counted).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use syn::visit::Visit;

const MAX_FILE_LINES: usize = 600;
const MAX_FN_LINES: usize = 50;

/// One Rust source file of the crate, with its module path (`["serve", "conn"]`).
struct Source {
    file: PathBuf,
    module: Vec<String>,
    text: String,
}

fn sources() -> Vec<Source> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    collect_rs(&root, &mut files);
    files.sort();
    files
        .into_iter()
        .map(|file| {
            let text = std::fs::read_to_string(&file).expect("read source");
            let module = module_of(file.strip_prefix(&root).expect("under src"));
            Source { file, module, text }
        })
        .collect()
}

fn collect_rs(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            collect_rs(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `serve/conn.rs` -> serve::conn; `serve/mod.rs` -> serve; `lib.rs`, `main.rs` -> the root.
fn module_of(relative: &Path) -> Vec<String> {
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

fn parse(source: &Source) -> syn::File {
    syn::parse_file(&source.text)
        .unwrap_or_else(|e| panic!("{} does not parse: {e}", source.file.display()))
}

#[test]
fn no_source_file_is_over_the_line_cap() {
    let over: Vec<String> = sources()
        .iter()
        .map(|s| (s.text.lines().count(), s))
        .filter(|(lines, _)| *lines > MAX_FILE_LINES)
        .map(|(lines, s)| format!("{} has {lines} lines", s.file.display()))
        .collect();
    assert!(
        over.is_empty(),
        "over {MAX_FILE_LINES} lines:\n{}",
        over.join("\n")
    );
}

/// Collects every function body's length in lines.
#[derive(Default)]
struct FnLengths {
    found: Vec<(String, usize, usize)>,
}

impl FnLengths {
    /// From the `fn` keyword to the closing brace: doc comments and attributes do not count.
    fn record(&mut self, sig: &syn::Signature, body: &syn::Block) {
        let start = sig.fn_token.span.start().line;
        let end = body.brace_token.span.close().end().line;
        self.found
            .push((sig.ident.to_string(), start, end + 1 - start));
    }
}

impl<'ast> Visit<'ast> for FnLengths {
    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        self.record(&f.sig, &f.block);
        syn::visit::visit_item_fn(self, f);
    }
    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        self.record(&f.sig, &f.block);
        syn::visit::visit_impl_item_fn(self, f);
    }
    fn visit_trait_item_fn(&mut self, f: &'ast syn::TraitItemFn) {
        if let Some(body) = &f.default {
            self.record(&f.sig, body);
        }
        syn::visit::visit_trait_item_fn(self, f);
    }
}

#[test]
fn no_function_is_over_the_line_cap() {
    let mut over = Vec::new();
    for source in sources() {
        let mut lengths = FnLengths::default();
        lengths.visit_file(&parse(&source));
        for (name, line, len) in lengths.found {
            if len > MAX_FN_LINES {
                over.push(format!(
                    "{}:{line} fn {name} has {len} lines",
                    source.file.display()
                ));
            }
        }
    }
    assert!(
        over.is_empty(),
        "over {MAX_FN_LINES} lines:\n{}",
        over.join("\n")
    );
}

/// Collects the paths a module's non-test code names (`use` trees and paths in code),
/// as written, with the inline module they appear in.
struct Mentions<'m> {
    /// The module the current item is in (the file's module plus inline `mod x { }`s).
    scope: Vec<String>,
    found: &'m mut Vec<(Vec<String>, Vec<String>)>,
}

fn is_test_only(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("test")
            || (a.path().is_ident("cfg")
                && a.parse_args::<syn::Meta>()
                    .is_ok_and(|m| m.path().is_ident("test")))
    })
}

impl Mentions<'_> {
    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) => self.mention(prefix, Some(n.ident.to_string())),
            syn::UseTree::Rename(r) => self.mention(prefix, Some(r.ident.to_string())),
            syn::UseTree::Glob(_) => self.mention(prefix, None),
            syn::UseTree::Group(g) => g.items.iter().for_each(|t| self.use_tree(prefix, t)),
        }
    }
    fn mention(&mut self, prefix: &[String], last: Option<String>) {
        let mut path = prefix.to_vec();
        path.extend(last);
        self.found.push((self.scope.clone(), path));
    }
}

impl<'ast> Visit<'ast> for Mentions<'_> {
    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        if is_test_only(&m.attrs) || m.content.is_none() {
            return;
        }
        self.scope.push(m.ident.to_string());
        syn::visit::visit_item_mod(self, m);
        self.scope.pop();
    }
    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        if !is_test_only(&f.attrs) {
            syn::visit::visit_item_fn(self, f);
        }
    }
    fn visit_item_impl(&mut self, i: &'ast syn::ItemImpl) {
        if !is_test_only(&i.attrs) {
            syn::visit::visit_item_impl(self, i);
        }
    }
    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        if !is_test_only(&u.attrs) {
            self.use_tree(&mut Vec::new(), &u.tree);
        }
    }
    fn visit_path(&mut self, p: &'ast syn::Path) {
        let segments: Vec<String> = p.segments.iter().map(|s| s.ident.to_string()).collect();
        self.mention(&segments, None);
        syn::visit::visit_path(self, p);
    }
}

/// The file module a written path lands in, if it names one of the crate's files.
fn resolve(
    modules: &BTreeSet<Vec<String>>,
    file_module: &[String],
    scope: &[String],
    path: &[String],
) -> Option<Vec<String>> {
    let mut base: Vec<String> = scope.to_vec();
    let mut rest = path;
    match rest.first().map(String::as_str) {
        Some("crate") => {
            base.clear();
            rest = &rest[1..];
        }
        Some("self") => rest = &rest[1..],
        Some("super") => {
            while rest.first().is_some_and(|s| s == "super") {
                base.pop()?;
                rest = &rest[1..];
            }
        }
        // A bare first segment is a child module of the scope (2018 paths), or not ours.
        Some(_) => {}
        None => return None,
    }
    let mut target = base;
    let mut landed = None;
    for segment in rest {
        target.push(segment.clone());
        if modules.contains(&target) {
            landed = Some(target.clone());
        } else {
            break;
        }
    }
    landed.filter(|m| m.as_slice() != file_module)
}

fn is_lineal(a: &[String], b: &[String]) -> bool {
    a.starts_with(b) || b.starts_with(a)
}

fn dependencies() -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let sources = sources();
    let modules: BTreeSet<Vec<String>> = sources.iter().map(|s| s.module.clone()).collect();
    let mut graph = BTreeMap::new();
    for source in &sources {
        let mut found = Vec::new();
        let mut mentions = Mentions {
            scope: source.module.clone(),
            found: &mut found,
        };
        mentions.visit_file(&parse(source));
        let edges: BTreeSet<Vec<String>> = found
            .iter()
            .filter_map(|(scope, path)| resolve(&modules, &source.module, scope, path))
            .filter(|target| !is_lineal(target, &source.module))
            .collect();
        graph.insert(source.module.clone(), edges);
    }
    graph
}

/// Every pair of modules that depend on each other, directly or through others.
fn cycles(graph: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Vec<String> {
    let reach = |from: &Vec<String>| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.clone()];
        while let Some(m) = todo.pop() {
            for next in graph.get(&m).into_iter().flatten() {
                if seen.insert(next.clone()) {
                    todo.push(next.clone());
                }
            }
        }
        seen
    };
    let mut found = Vec::new();
    for (module, edges) in graph {
        for target in edges {
            if reach(target).contains(module) {
                found.push(format!(
                    "{} -> {} -> ... -> {}",
                    module.join("::"),
                    target.join("::"),
                    module.join("::")
                ));
            }
        }
    }
    found
}

#[test]
fn no_import_cycle_between_modules() {
    let found = cycles(&dependencies());
    assert!(found.is_empty(), "import cycles:\n{}", found.join("\n"));
}

#[test]
fn the_cycle_check_sees_a_known_shape() {
    let modules: BTreeSet<Vec<String>> = [
        vec![],
        vec!["serve".into()],
        vec!["serve".into(), "conn".into()],
    ]
    .into_iter()
    .collect();
    let conn = vec!["serve".to_string(), "conn".to_string()];
    let path = |s: &str| s.split("::").map(String::from).collect::<Vec<_>>();
    assert_eq!(
        resolve(&modules, &[], &[], &path("crate::serve::conn::Conn")),
        Some(conn.clone())
    );
    assert_eq!(
        resolve(&modules, &conn, &conn, &path("super::conn::Conn")),
        None
    );
    assert_eq!(
        resolve(&modules, &[], &[], &path("serve::conn")),
        Some(conn.clone())
    );
    assert_eq!(resolve(&modules, &[], &[], &path("std::io")), None);
    let mut graph = BTreeMap::new();
    graph.insert(path("a"), [path("b")].into_iter().collect());
    graph.insert(path("b"), [path("c")].into_iter().collect());
    graph.insert(path("c"), [path("a")].into_iter().collect());
    assert_eq!(cycles(&graph).len(), 3);
    graph.insert(path("c"), BTreeSet::new());
    assert!(cycles(&graph).is_empty());
}
