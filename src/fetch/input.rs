//! `--input-file FILE`: URLs one per line, each with an optional output name after a tab or
//! spaces; blank lines and `#` comments skipped. Read line by line as the batch asks for
//! more, so a 100,000-line file is never held whole. [`parse_line`] is the pure part.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;

use crate::Error;

/// One useful line: the URL and the output name given after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The URL as written.
    pub url: String,
    /// The output name after it, if any.
    pub name: Option<String>,
}

/// A line of the file; `None` for blank lines and comments. A line longer than any real URL
/// is still just a line: the URL parser refuses it later with its own message.
pub fn parse_line(line: &str) -> Option<Entry> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let (url, rest) = match line.find([' ', '\t']) {
        Some(at) => (&line[..at], line[at..].trim()),
        None => (line, ""),
    };
    Some(Entry {
        url: url.to_string(),
        name: (!rest.is_empty()).then(|| rest.to_string()),
    })
}

/// Longest line kept whole; longer lines are cut (the URL then fails to parse or is wrong,
/// and that transfer fails alone) so a file without newlines cannot grow memory.
const MAX_LINE: u64 = 64 * 1024;

/// The entries of `path` (`-` = stdin), read lazily. A read error ends the input and is
/// reported through the returned cell once the iterator is exhausted.
pub struct Entries {
    reader: Box<dyn BufRead + Send>,
    line: Vec<u8>,
    /// Set when reading failed: what the caller reports after the batch.
    pub error: Option<Error>,
}

impl Entries {
    /// Open `path` for reading (`-` = stdin).
    pub fn open(path: &Path) -> Result<Entries, Error> {
        let reader: Box<dyn BufRead + Send> = if path.as_os_str() == "-" {
            Box::new(BufReader::new(io::stdin()))
        } else {
            let file = File::open(path).map_err(|e| {
                Error::Usage(format!("cannot read --input-file {}: {e}", path.display()))
            })?;
            Box::new(BufReader::new(file))
        };
        Ok(Entries {
            reader,
            line: Vec::new(),
            error: None,
        })
    }

    /// One raw line (without its end), `None` at EOF or after an error.
    fn next_line(&mut self) -> Option<String> {
        self.line.clear();
        let mut limited = io::Read::take(&mut self.reader, MAX_LINE);
        match limited.read_until(b'\n', &mut self.line) {
            Ok(0) => None,
            Ok(_) => {
                if self.line.last() != Some(&b'\n') && self.line.len() as u64 == MAX_LINE {
                    // Skip the rest of an overlong line.
                    let mut sink = Vec::new();
                    let _ = self.reader.read_until(b'\n', &mut sink);
                }
                Some(String::from_utf8_lossy(&self.line).into_owned())
            }
            Err(e) => {
                self.error = Some(Error::Usage(format!("reading --input-file failed: {e}")));
                None
            }
        }
    }
}

impl Iterator for Entries {
    type Item = Entry;

    fn next(&mut self) -> Option<Entry> {
        loop {
            let line = self.next_line()?;
            if let Some(entry) = parse_line(&line) {
                return Some(entry);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(url: &str, name: Option<&str>) -> Option<Entry> {
        Some(Entry {
            url: url.into(),
            name: name.map(str::to_string),
        })
    }

    #[test]
    fn lines_are_urls_with_optional_names() {
        let table = [
            ("http://a/x", e("http://a/x", None)),
            ("  http://a/x  \r\n", e("http://a/x", None)),
            ("http://a/x\tout.txt", e("http://a/x", Some("out.txt"))),
            (
                "http://a/x   my file.txt  ",
                e("http://a/x", Some("my file.txt")),
            ),
            ("", None),
            ("   \t ", None),
            ("# a comment http://a/", None),
            ("  # indented comment", None),
            ("a.example/x#frag", e("a.example/x#frag", None)),
        ];
        for (line, want) in table {
            assert_eq!(parse_line(line), want, "{line:?}");
        }
    }

    #[test]
    fn files_are_read_lazily_and_overlong_lines_are_cut() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("list");
        let long = "x".repeat(MAX_LINE as usize + 10);
        std::fs::write(
            &path,
            format!("# c\n\nhttp://a/1\n{long}\nhttp://a/2 two\n"),
        )
        .expect("write");
        let got: Vec<Entry> = Entries::open(&path).expect("open").collect();
        assert_eq!(got.len(), 3);
        assert_eq!(got[0], e("http://a/1", None).expect("entry"));
        assert_eq!(got[1].url.len(), MAX_LINE as usize);
        assert_eq!(got[2], e("http://a/2", Some("two")).expect("entry"));
        let missing = Entries::open(&dir.path().join("nope")).map(|_| ());
        assert_eq!(missing.map_err(|e| e.exit_code()), Err(2));
    }
}
