//! Which faults a request gets: library rules (per path, per Nth request, counted across the
//! engine's threads) combined with query parameters when `--faults` honours them.

use std::collections::HashMap;
use std::sync::Mutex;

use super::Faults;

/// A library rule: these faults for requests whose path is `path` (any when `None`) and that are
/// the `nth` such request (1-based; every one when `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultRule {
    /// The request path it applies to (`None`: every path).
    pub path: Option<String>,
    /// Only the n-th such request, 1-based (`None`: every one).
    pub nth: Option<u64>,
    /// What to do wrong.
    pub faults: Faults,
}

/// Where a server's faults come from: query parameters (the CLI's `--faults`) and/or rules.
#[derive(Debug, Default)]
pub struct FaultPlan {
    /// Honour fault query parameters (`--faults`).
    pub from_query: bool,
    /// Library rules, all applying ones combined.
    pub rules: Vec<FaultRule>,
    /// Requests seen so far per rule path (`None` = all requests); only paths of rules with an
    /// `nth` are counted, so the map is bounded by the rules.
    pub counts: NthCounter,
    /// TLS fault `handshake-stall`: accept connections and never answer the ClientHello.
    pub handshake_stall: bool,
}

/// Thread-safe per-path request counters for `nth` rules (shared by every loop thread).
#[derive(Debug, Default)]
pub struct NthCounter(Mutex<HashMap<Option<String>, u64>>);

impl Clone for FaultPlan {
    /// A clone has the same rules and starts counting from zero.
    fn clone(&self) -> Self {
        FaultPlan {
            from_query: self.from_query,
            rules: self.rules.clone(),
            counts: NthCounter::default(),
            handshake_stall: self.handshake_stall,
        }
    }
}

impl FaultPlan {
    /// The CLI's `--faults`: query parameters only.
    pub fn query_only() -> FaultPlan {
        FaultPlan {
            from_query: true,
            ..FaultPlan::default()
        }
    }

    /// The faults for one request to `path` (the target's path, before `?`) with `query` (after
    /// `?`, may be empty), when it is the `nth_for_path`-th request to that path (1-based).
    /// Matching rules apply in order (a later rule's numbers win, flags add up); query
    /// parameters, when honoured, are the most specific and win last.
    pub fn faults_for(&self, path: &str, query: &str, nth_for_path: u64) -> Faults {
        self.merged(path, query, |_| nth_for_path)
    }

    /// The faults for one request with this `target` (as sent): counted for `nth` rules, matched
    /// by its path, with its query's parameters when those are honoured.
    pub(crate) fn for_target(&self, target: &str) -> Faults {
        let (path, query) = crate::proto::target::path_and_query(target);
        self.next_faults(path, query)
    }

    /// Count this request (for `nth` rules) and return its faults: what the engine calls once
    /// per request. Rules without a path count every request to the server.
    pub fn next_faults(&self, path: &str, query: &str) -> Faults {
        if !self.rules.iter().any(|r| r.nth.is_some()) {
            return self.merged(path, query, |_| 0);
        }
        let nths = self.count(path);
        self.merged(path, query, |rule| {
            let key = rule.path.as_deref();
            nths.iter()
                .find(|(k, _)| k.as_deref() == key)
                .map_or(0, |(_, n)| *n)
        })
    }

    /// Bump the counters this request belongs to (its path, and "any path") and return them.
    fn count(&self, path: &str) -> Vec<(Option<String>, u64)> {
        let mut keys: Vec<Option<String>> = Vec::new();
        for rule in self.rules.iter().filter(|r| r.nth.is_some()) {
            let key = rule.path.clone().filter(|p| p == path);
            if (rule.path.is_none() || key.is_some()) && !keys.contains(&key) {
                keys.push(key);
            }
        }
        // A poisoned lock only means another loop thread panicked mid-increment; the counts are
        // still usable integers, so carry on with them.
        let mut map = self.counts.0.lock().unwrap_or_else(|e| e.into_inner());
        keys.into_iter()
            .map(|key| {
                let n = map.entry(key.clone()).or_insert(0);
                *n += 1;
                (key, *n)
            })
            .collect()
    }

    fn merged(&self, path: &str, query: &str, nth_of: impl Fn(&FaultRule) -> u64) -> Faults {
        let mut faults = Faults::default();
        for rule in &self.rules {
            let path_ok = rule.path.as_deref().is_none_or(|p| p == path);
            if path_ok && rule.nth.is_none_or(|n| n == nth_of(rule)) {
                faults = faults.combined_with(&rule.faults);
            }
        }
        if self.from_query {
            faults = faults.combined_with(&Faults::from_query(query));
        }
        faults
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn faults(f: impl FnOnce(&mut Faults)) -> Faults {
        let mut x = Faults::default();
        f(&mut x);
        x
    }

    fn rule(path: Option<&str>, nth: Option<u64>, f: Faults) -> FaultRule {
        FaultRule {
            path: path.map(String::from),
            nth,
            faults: f,
        }
    }

    #[test]
    fn query_faults_only_when_asked() {
        let off = FaultPlan::default();
        assert!(off.faults_for("/a", "stall", 1).is_none());
        let on = FaultPlan::query_only();
        assert!(on.faults_for("/a", "stall", 1).stall);
    }

    #[test]
    fn rules_match_path_and_nth() {
        let plan = FaultPlan {
            rules: vec![
                rule(None, None, faults(|f| f.delay_ms = Some(5))),
                rule(Some("/a"), None, faults(|f| f.chunked = true)),
                rule(Some("/a"), Some(2), faults(|f| f.status = Some(503))),
            ],
            ..FaultPlan::default()
        };
        let table = [
            ("/b", 1, faults(|f| f.delay_ms = Some(5))),
            (
                "/a",
                1,
                faults(|f| {
                    f.delay_ms = Some(5);
                    f.chunked = true;
                }),
            ),
            (
                "/a",
                2,
                faults(|f| {
                    f.delay_ms = Some(5);
                    f.chunked = true;
                    f.status = Some(503);
                }),
            ),
        ];
        for (path, nth, want) in table {
            assert_eq!(plan.faults_for(path, "", nth), want, "{path} #{nth}");
        }
    }

    #[test]
    fn query_wins_over_rules() {
        let plan = FaultPlan {
            from_query: true,
            rules: vec![rule(None, None, faults(|f| f.truncate = Some(10)))],
            ..FaultPlan::default()
        };
        let got = plan.faults_for("/a", "truncate=3&stall", 1);
        assert_eq!(got.truncate, Some(3));
        assert!(got.stall);
        assert_eq!(plan.faults_for("/a", "truncate=x", 1).truncate, Some(10));
    }

    #[test]
    fn next_faults_counts_per_path_and_overall() {
        let plan = FaultPlan {
            rules: vec![
                rule(Some("/a"), Some(2), faults(|f| f.reset = Some(1))),
                rule(None, Some(3), faults(|f| f.stall = true)),
            ],
            ..FaultPlan::default()
        };
        let seen: Vec<Faults> = ["/a", "/b", "/a", "/a"]
            .iter()
            .map(|p| plan.next_faults(p, ""))
            .collect();
        assert_eq!(seen[0], Faults::default());
        assert_eq!(seen[1], Faults::default());
        // third request overall, second to /a
        assert_eq!(
            seen[2],
            faults(|f| {
                f.reset = Some(1);
                f.stall = true;
            })
        );
        assert_eq!(seen[3], Faults::default());
        // only rule paths are counted
        let counted = plan.counts.0.lock().expect("unpoisoned").len();
        assert_eq!(counted, 2);
    }

    #[test]
    fn a_target_is_looked_up_by_its_path_with_its_query() {
        let plan = FaultPlan {
            from_query: true,
            rules: vec![rule(Some("/a"), None, faults(|f| f.chunked = true))],
            ..FaultPlan::default()
        };
        let got = plan.for_target("/a?truncate=3#frag");
        assert_eq!((got.chunked, got.truncate), (true, Some(3)));
        assert_eq!(plan.for_target("/a#x?truncate=3").truncate, None);
        assert!(!plan.for_target("/b?stall").chunked);
    }
}
