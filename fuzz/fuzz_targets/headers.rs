//! Fuzz `proto::Headers` against a plain model: a list of (name, value) pairs where names are
//! compared after ASCII lower-casing.
//!
//! Input: a sequence of operations, each one byte `op` then a byte picking a name (from a
//! small set with case variants, so operations collide) and up to 7 value bytes (length from
//! `op`'s high bits). Ops: push, set, remove, then every query is checked.
//! Checks after every op: `len`, `iter` order, `get`, `get_str`, `get_all`, `count` and
//! `has_token` for every name in the set (and a token taken from the value) agree with the
//! model; `set` keeps the first field's position.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rawhttp::proto::Headers;

const NAMES: [&str; 8] = [
    "Connection",
    "connection",
    "CONNECTION",
    "X-A",
    "x-a",
    "Content-Length",
    "content-length",
    "",
];

type Model = Vec<(String, Vec<u8>)>;

fn same(a: &str, b: &str) -> bool {
    a.to_ascii_lowercase() == b.to_ascii_lowercase()
}

fn model_set(model: &mut Model, name: &str, value: &[u8]) {
    match model.iter().position(|(n, _)| same(n, name)) {
        None => model.push((name.to_string(), value.to_vec())),
        Some(first) => {
            let mut kept = Model::new();
            for (i, (n, v)) in model.iter().enumerate() {
                if i == first {
                    kept.push((name.to_string(), value.to_vec()));
                } else if !same(n, name) {
                    kept.push((n.clone(), v.clone()));
                }
            }
            *model = kept;
        }
    }
}

/// Model of `has_token`: comma-separated members, SP/HTAB/CR/LF/FF trimmed, ASCII case ignored.
fn model_has_token(model: &Model, name: &str, token: &[u8]) -> bool {
    let lower = |s: &[u8]| s.to_ascii_lowercase();
    model.iter().filter(|(n, _)| same(n, name)).any(|(_, v)| {
        v.split(|&b| b == b',').any(|member| {
            let t: &[u8] = member.trim_ascii();
            lower(t) == lower(token)
        })
    })
}

fn check(h: &Headers, model: &Model, token: &[u8]) {
    assert_eq!(h.len(), model.len());
    assert_eq!(h.is_empty(), model.is_empty());
    let listed: Vec<(&str, &[u8])> = h.iter().collect();
    let expected: Vec<(&str, &[u8])> = model.iter().map(|(n, v)| (n.as_str(), &v[..])).collect();
    assert_eq!(listed, expected);
    let token = std::str::from_utf8(token).unwrap_or("close");
    for name in NAMES {
        let all: Vec<&[u8]> = model
            .iter()
            .filter(|(n, _)| same(n, name))
            .map(|(_, v)| &v[..])
            .collect();
        assert_eq!(h.get_all(name).collect::<Vec<_>>(), all, "{name}");
        assert_eq!(h.get(name), all.first().copied());
        assert_eq!(h.count(name), all.len());
        let as_str = all
            .first()
            .and_then(|v| std::str::from_utf8(v).ok())
            .map(str::trim);
        assert_eq!(h.get_str(name), as_str);
        let want = model_has_token(model, name, token.as_bytes());
        assert_eq!(h.has_token(name, token), want, "{name} {token:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    let (mut h, mut model) = (Headers::new(), Model::new());
    let mut rest = data;
    while let [op, pick, tail @ ..] = rest {
        let name = NAMES[usize::from(*pick) % NAMES.len()];
        let (value, tail) = tail.split_at(usize::from(op >> 5).min(tail.len()));
        match op % 3 {
            0 => {
                h.push(name, value);
                model.push((name.to_string(), value.to_vec()));
            }
            1 => {
                h.set(name, value);
                model_set(&mut model, name, value);
            }
            _ => {
                h.remove(name);
                model.retain(|(n, _)| !same(n, name));
            }
        }
        check(&h, &model, value);
        rest = tail;
    }
});
