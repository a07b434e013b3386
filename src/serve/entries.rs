//! Directory entries as listings hold them, and their order: `?sort=`/`?order=` parsing,
//! dotfile filtering and the natural, case-insensitive name order. Pure: `dirstream` and
//! `respond` read the directory; `listing` renders what this sorted.

use std::cmp::Ordering;
use std::time::SystemTime;

/// What a directory entry is, as the listing reports it (`type` in JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link that resolves inside the root (size and date are its target's).
    Symlink,
}

/// One directory entry as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The name, as the directory holds it (UTF-8; other names are not listed).
    pub name: String,
    /// What the entry itself is.
    pub kind: Kind,
    /// Whether it (or a symlink's target) is a directory: linked with a trailing slash.
    pub is_dir: bool,
    /// Bytes (0 for directories).
    pub size: u64,
    /// Modification time, when known.
    pub modified: Option<SystemTime>,
}

/// The column a listing is sorted by (`?sort=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SortKey {
    /// Natural, case-insensitive name order (`file2` before `file10`).
    #[default]
    Name,
    /// Size in bytes.
    Size,
    /// Modification time.
    Modified,
}

/// How a listing is ordered: a key and a direction; directories always come first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Order {
    /// The column.
    pub key: SortKey,
    /// `order=desc`.
    pub desc: bool,
}

/// `sort=name|size|modified` and `order=asc|desc` from a query string; anything else (unknown
/// values, other parameters) leaves the default, name ascending, as nginx's fancyindex does.
pub fn parse_order(query: Option<&str>) -> Order {
    let mut order = Order::default();
    for (name, value) in query_pairs(query) {
        match (name, value) {
            ("sort", "name") => order.key = SortKey::Name,
            ("sort", "size") => order.key = SortKey::Size,
            ("sort", "modified") => order.key = SortKey::Modified,
            ("order", "asc") => order.desc = false,
            ("order", "desc") => order.desc = true,
            _ => {}
        }
    }
    order
}

/// `format=json` in the query: the JSON listing by URL, so a page can link to it.
pub fn wants_json_query(query: Option<&str>) -> bool {
    query_pairs(query).any(|pair| pair == ("format", "json"))
}

fn query_pairs(query: Option<&str>) -> impl Iterator<Item = (&str, &str)> {
    query
        .unwrap_or("")
        .split('&')
        .map(|p| p.split_once('=').unwrap_or((p, "")))
}

/// Drop dotfiles unless `hidden`, then sort by name: directories first.
#[cfg(test)]
pub fn prepare(entries: Vec<Entry>, hidden: bool) -> Vec<Entry> {
    prepare_by(entries, hidden, Order::default())
}

/// Drop dotfiles unless `hidden`, then sort by `order`: directories first.
pub fn prepare_by(mut entries: Vec<Entry>, hidden: bool, order: Order) -> Vec<Entry> {
    entries.retain(|e| hidden || !e.name.starts_with('.'));
    sort_entries(&mut entries, order);
    entries
}

/// Sort in place: directories first, then by `order`'s key (ties by name), reversed for desc.
/// Each name's natural key is built once, so a comparison is a byte comparison (issue 13: a
/// 10,000-entry sort is one step of the event loop and must stay short).
pub fn sort_entries(entries: &mut Vec<Entry>, order: Order) {
    let mut keyed: Vec<(Vec<u8>, Entry)> = entries
        .drain(..)
        .map(|e| (natural_key(&e.name), e))
        .collect();
    keyed.sort_by(|(ka, a), (kb, b)| {
        let by_key = match order.key {
            SortKey::Name => Ordering::Equal,
            SortKey::Size => a.size.cmp(&b.size),
            SortKey::Modified => a.modified.cmp(&b.modified),
        };
        let by_key = by_key
            .then_with(|| ka.cmp(kb))
            .then_with(|| a.name.cmp(&b.name));
        let by_key = if order.desc { by_key.reverse() } else { by_key };
        b.is_dir.cmp(&a.is_dir).then(by_key)
    });
    entries.extend(keyed.into_iter().map(|(_, e)| e));
}

/// Natural, case-insensitive order: digit runs compare as numbers (`9` < `10`), letters
/// without case (`a` < `B` < `c`); names equal that way fall back to byte order, so the order
/// is total and the same on every request.
#[cfg(test)]
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    natural_key(a).cmp(&natural_key(b)).then_with(|| a.cmp(b))
}

/// Bytes whose order is the natural order: letters lower-cased (UTF-8 keeps code point
/// order), each ASCII digit run as `0`, its length without leading zeros (4 bytes, big
/// endian), then those digits. The run starts with `0` so it sorts among other characters
/// exactly where its first digit would; two runs meet only each other at the same position.
pub fn natural_key(name: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(name.len() + 8);
    let mut rest = name;
    while let Some(c) = rest.chars().next() {
        if c.is_ascii_digit() {
            let (digits, after) = split_digits(rest);
            let value = digits.trim_start_matches('0');
            let len = u32::try_from(value.len()).unwrap_or(u32::MAX);
            key.push(b'0');
            key.extend_from_slice(&len.to_be_bytes());
            key.extend_from_slice(value.as_bytes());
            rest = after;
            continue;
        }
        if c.is_ascii() {
            key.push(c.to_ascii_lowercase() as u8);
        } else {
            let mut buf = [0u8; 4];
            for lower in c.to_lowercase() {
                key.extend_from_slice(lower.encode_utf8(&mut buf).as_bytes());
            }
        }
        rest = &rest[c.len_utf8()..];
    }
    key
}

/// The leading ASCII digit run and the rest (digits are one byte, so the split is on a char
/// boundary).
fn split_digits(s: &str) -> (&str, &str) {
    let end = s
        .bytes()
        .position(|c| !c.is_ascii_digit())
        .unwrap_or(s.len());
    s.split_at(end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn entry(name: &str, is_dir: bool) -> Entry {
        Entry {
            name: name.to_string(),
            kind: if is_dir { Kind::Dir } else { Kind::File },
            is_dir,
            size: 3,
            modified: Some(UNIX_EPOCH + std::time::Duration::from_secs(7)),
        }
    }

    fn names(v: &[Entry]) -> Vec<&str> {
        v.iter().map(|e| e.name.as_str()).collect()
    }

    #[test]
    fn prepare_hides_dotfiles_and_sorts_directories_first() {
        let all = vec![
            entry("b", false),
            entry(".env", false),
            entry("z", true),
            entry("a", false),
        ];
        assert_eq!(names(&prepare(all.clone(), false)), ["z", "a", "b"]);
        assert_eq!(names(&prepare(all, true)), ["z", ".env", "a", "b"]);
    }

    #[test]
    fn names_sort_naturally_and_without_case() {
        let table: &[(&str, &str, Ordering)] = &[
            ("a", "B", Ordering::Less),
            ("B", "a", Ordering::Greater),
            ("Zeta", "a", Ordering::Greater),
            ("9", "10", Ordering::Less),
            ("file2.txt", "file10.txt", Ordering::Less),
            ("x007", "x7", Ordering::Less), // equal numbers: byte order decides
            ("a", "a1", Ordering::Less),
            ("", "a", Ordering::Less),
            ("a", "a", Ordering::Equal),
            ("A", "a", Ordering::Less), // equal without case: byte order decides
            ("é", "f", Ordering::Greater),
            (
                "99999999999999999999999",
                "100000000000000000000000",
                Ordering::Less,
            ),
        ];
        for (a, b, want) in table {
            assert_eq!(natural_cmp(a, b), *want, "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn sorts_by_each_key_both_ways_with_directories_first() {
        let mk = |name: &str, dir: bool, size: u64, secs: u64| Entry {
            size,
            modified: Some(UNIX_EPOCH + std::time::Duration::from_secs(secs)),
            ..entry(name, dir)
        };
        let all = vec![
            mk("b10", false, 5, 3),
            mk("B9", false, 50, 1),
            mk("a", false, 7, 2),
            mk("sub", true, 0, 9),
            mk("Docs", true, 0, 8),
        ];
        let by = |key, desc| {
            let mut v = all.clone();
            sort_entries(&mut v, Order { key, desc });
            names(&v).join(" ")
        };
        assert_eq!(by(SortKey::Name, false), "Docs sub a B9 b10");
        assert_eq!(by(SortKey::Name, true), "sub Docs b10 B9 a");
        assert_eq!(by(SortKey::Size, false), "Docs sub b10 a B9");
        assert_eq!(by(SortKey::Size, true), "sub Docs B9 a b10");
        assert_eq!(by(SortKey::Modified, false), "Docs sub B9 a b10");
        assert_eq!(by(SortKey::Modified, true), "sub Docs b10 a B9");
    }

    #[test]
    fn order_and_format_come_from_the_query() {
        let table: &[(Option<&str>, SortKey, bool)] = &[
            (None, SortKey::Name, false),
            (Some("sort=size"), SortKey::Size, false),
            (Some("sort=modified&order=desc"), SortKey::Modified, true),
            (Some("order=desc&sort=name"), SortKey::Name, true),
            (Some("sort=bogus&order=up"), SortKey::Name, false),
            (Some("x=1&&sort=size&order=asc"), SortKey::Size, false),
        ];
        for (query, key, desc) in table {
            assert_eq!(
                parse_order(*query),
                Order {
                    key: *key,
                    desc: *desc
                },
                "{query:?}"
            );
        }
        assert!(wants_json_query(Some("sort=size&format=json")));
        assert!(!wants_json_query(Some("format=jsonp")));
        assert!(!wants_json_query(None));
    }
}
