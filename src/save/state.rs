//! What a save remembers between runs, in `DIR/.rawhttp-save/`: `state.json` (per URL: local
//! path, kind, ETag, Last-Modified) and `orig/` (the HTML and CSS as received, since the files
//! in DIR have rewritten links). A re-save sends the validators (RFC 9110 §13.1.1, §13.1.3)
//! and, on 304, walks the original again. The JSON is written through `.part` + rename.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use crate::fetch::sink::{ensure_dir, Destination, Sink};
use crate::Error;

/// Where save keeps its own state inside DIR (`paths` renames a site path that would land
/// there).
pub const STATE_DIR: &str = ".rawhttp-save";

/// How a saved file is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocKind {
    /// HTML: links found and rewritten.
    Html,
    /// CSS: links found and rewritten.
    Css,
    /// Anything else: saved as received.
    Other,
}

impl DocKind {
    fn name(self) -> &'static str {
        match self {
            DocKind::Html => "html",
            DocKind::Css => "css",
            DocKind::Other => "other",
        }
    }

    fn from_name(name: &str) -> DocKind {
        match name {
            "html" => DocKind::Html,
            "css" => DocKind::Css,
            _ => DocKind::Other,
        }
    }

    /// Whether its links are walked (and its original kept).
    pub(crate) fn has_links(self) -> bool {
        self != DocKind::Other
    }
}

/// One saved URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// Relative to DIR.
    pub(crate) path: PathBuf,
    /// What it is.
    pub(crate) kind: DocKind,
    /// The response's ETag, as received.
    pub(crate) etag: Option<String>,
    /// The response's Last-Modified, as received.
    pub(crate) last_modified: Option<String>,
}

/// URL -> entry.
pub(crate) type State = HashMap<String, Entry>;

/// `DIR/.rawhttp-save/state.json`.
pub(crate) fn state_file(dir: &Path) -> PathBuf {
    dir.join(STATE_DIR).join("state.json")
}

/// `DIR/.rawhttp-save/orig/PATH`: the document as received.
pub(crate) fn original_file(dir: &Path, path: &Path) -> PathBuf {
    dir.join(STATE_DIR).join("orig").join(path)
}

/// The state of an earlier save; empty when there is none or it does not parse (a damaged
/// state only costs a full download, never a wrong file).
pub(crate) fn load(dir: &Path) -> State {
    let Ok(text) = fs::read_to_string(state_file(dir)) else {
        return State::new();
    };
    let Ok(Value::Object(files)) = serde_json::from_str::<Value>(&text)
        .map(|v| v.get("files").cloned().unwrap_or(Value::Null))
    else {
        return State::new();
    };
    files
        .into_iter()
        .filter_map(|(url, v)| Some((url, entry_from(&v)?)))
        .collect()
}

fn entry_from(v: &Value) -> Option<Entry> {
    let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let path = PathBuf::from(text("path")?);
    // Only paths save itself could have made: relative and without `..` (a hand-edited state
    // file must not steer writes outside DIR).
    let safe = path
        .components()
        .all(|c| matches!(c, std::path::Component::Normal(_)));
    if !safe || path.as_os_str().is_empty() {
        return None;
    }
    Some(Entry {
        path,
        kind: DocKind::from_name(&text("kind").unwrap_or_default()),
        etag: text("etag"),
        last_modified: text("last_modified"),
    })
}

/// Write the state atomically.
pub(crate) fn store(dir: &Path, state: &State) -> Result<(), Error> {
    let mut files = Map::new();
    for (url, e) in state {
        files.insert(
            url.clone(),
            json!({
                "path": e.path.to_string_lossy(),
                "kind": e.kind.name(),
                "etag": e.etag,
                "last_modified": e.last_modified,
            }),
        );
    }
    let text = json!({ "version": 1, "files": files }).to_string();
    let path = state_file(dir);
    if let Some(parent) = path.parent() {
        ensure_dir(parent)?;
    }
    let mut sink = Sink::open(&Destination::File {
        path,
        no_clobber: false,
    })?;
    sink.write_all(text.as_bytes())?;
    sink.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_and_refuses_unsafe_paths() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut state = State::new();
        let entry = Entry {
            path: PathBuf::from("css/site.css"),
            kind: DocKind::Css,
            etag: Some("\"abc\"".into()),
            last_modified: None,
        };
        state.insert("http://h/css/site.css".into(), entry.clone());
        store(dir.path(), &state).expect("stored");
        assert_eq!(load(dir.path()), state);
        let hostile = r#"{"files":{"a":{"path":"../x","kind":"html"},"b":{"path":"/etc/x"},"c":{"path":"ok.png"}}}"#;
        fs::write(state_file(dir.path()), hostile).expect("write");
        let loaded = load(dir.path());
        assert_eq!(loaded.len(), 1);
        assert_eq!(loaded["c"].kind, DocKind::Other);
        fs::write(state_file(dir.path()), "not json").expect("write");
        assert!(load(dir.path()).is_empty());
    }
}
