//! An ordered, case-insensitive list of header fields, owned, as parsed from a head.

/// Header fields in wire order. Names keep their case; lookups ignore it (RFC 9110 §5.1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers {
    fields: Vec<(String, Vec<u8>)>,
}

impl Headers {
    /// No fields.
    pub fn new() -> Self {
        Self::default()
    }

    /// Room for `n` fields: a parser that counted its lines allocates the list once.
    pub fn with_capacity(n: usize) -> Self {
        Self {
            fields: Vec::with_capacity(n),
        }
    }

    /// Append a field (repeats are kept, in order).
    pub fn push(&mut self, name: &str, value: &[u8]) {
        self.fields.push((name.to_string(), value.to_vec()));
    }

    /// Drop every field called `name`.
    pub fn remove(&mut self, name: &str) {
        self.fields.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    /// Replace every field called `name` by one with `value`, at the first one's place.
    pub fn set(&mut self, name: &str, value: &[u8]) {
        match self
            .fields
            .iter()
            .position(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some(i) => {
                self.fields[i] = (name.to_string(), value.to_vec());
                let mut seen = 0;
                self.fields.retain(|(n, _)| {
                    let same = n.eq_ignore_ascii_case(name);
                    seen += same as usize;
                    !same || seen == 1
                });
            }
            None => self.push(name, value),
        }
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.get_all(name).next()
    }

    /// The first value of `name`, when it is valid UTF-8, trimmed of optional whitespace.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name)
            .and_then(|v| std::str::from_utf8(v).ok())
            .map(str::trim)
    }

    /// Every value of `name`, in order.
    pub fn get_all<'a, 'n>(&'a self, name: &'n str) -> impl Iterator<Item = &'a [u8]> + 'n
    where
        'a: 'n,
    {
        self.fields
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    /// How many fields are called `name`.
    pub fn count(&self, name: &str) -> usize {
        self.get_all(name).count()
    }

    /// Whether any comma-separated element of any `name` field equals `token`, ignoring case
    /// (e.g. `Connection: keep-alive, close`).
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.get_all(name).any(|v| {
            v.split(|&b| b == b',')
                .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
        })
    }

    /// Every field as (name, value), in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.fields.iter().map(|(n, v)| (n.as_str(), v.as_slice()))
    }

    /// How many fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// No fields at all.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Headers {
        let mut h = Headers::new();
        h.push("Connection", b"keep-alive, Close");
        h.push("X-A", b"1");
        h.push("x-a", b"2");
        h
    }

    #[test]
    fn lookups_ignore_case_and_keep_order() {
        let h = sample();
        assert_eq!(h.get("x-A"), Some(&b"1"[..]));
        assert_eq!(
            h.get_all("X-a").collect::<Vec<_>>(),
            vec![&b"1"[..], &b"2"[..]]
        );
        assert_eq!(h.count("x-a"), 2);
        assert_eq!(h.get("missing"), None);
    }

    #[test]
    fn tokens_are_comma_separated_and_case_insensitive() {
        let h = sample();
        assert!(h.has_token("connection", "close"));
        assert!(h.has_token("connection", "KEEP-ALIVE"));
        assert!(!h.has_token("connection", "upgrade"));
    }

    #[test]
    fn set_replaces_all_and_remove_drops_all() {
        let mut h = sample();
        h.set("X-A", b"3");
        assert_eq!(h.get_all("x-a").collect::<Vec<_>>(), vec![&b"3"[..]]);
        assert_eq!(h.iter().nth(1).map(|(n, _)| n), Some("X-A"));
        h.remove("x-a");
        assert_eq!(h.count("x-a"), 0);
        assert_eq!(h.len(), 1);
    }
}
