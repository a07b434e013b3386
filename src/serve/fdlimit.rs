//! The descriptor limit at start: raise RLIMIT_NOFILE's soft limit towards the hard one when
//! `--max-connections` needs more, and say so when even the hard limit is too low (issue 13).
//! The decision is a pure function (`plan`); `raise` is the thin shell around getrlimit(2).

use crate::proto::limits::FD_RESERVE;

/// What to do about the soft limit, decided from the current limits and the need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// Set the soft limit to this (never above the hard limit).
    pub raise_to: Option<u64>,
    /// Even after raising, only this many descriptors are allowed: warn.
    pub short: Option<u64>,
}

/// Descriptors `max_connections` needs: one per connection plus `FD_RESERVE` (counted as nginx
/// counts `worker_connections` against `worker_rlimit_nofile`).
pub fn needed(max_connections: usize) -> u64 {
    (max_connections as u64).saturating_add(FD_RESERVE)
}

/// `soft`/`hard` as getrlimit reports them (`u64::MAX` = unlimited). Raise the soft limit only
/// when it is short: to the hard limit (as Go does at start), or just to the need when the hard
/// limit is unlimited (Linux refuses an unlimited soft limit for descriptors).
pub fn plan(soft: u64, hard: u64, need: u64) -> Plan {
    if soft >= need {
        return Plan {
            raise_to: None,
            short: None,
        };
    }
    let target = if hard == u64::MAX { need } else { hard };
    Plan {
        raise_to: (target > soft).then_some(target),
        short: (target < need).then_some(target),
    }
}

/// Apply `plan` to this process; the warning to print (one line, no prefix), if any.
pub fn raise(max_connections: usize) -> Option<String> {
    let need = needed(max_connections);
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit into the struct we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return None;
    }
    let p = plan(lim.rlim_cur, lim.rlim_max, need);
    let mut allowed = lim.rlim_cur;
    if let Some(to) = p.raise_to {
        let new = libc::rlimit {
            rlim_cur: to,
            rlim_max: lim.rlim_max,
        };
        // SAFETY: setrlimit reads one rlimit we own. Failure leaves the old limit: warned below.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &new) } == 0 {
            allowed = to;
        }
    }
    (allowed < need).then(|| {
        format!(
            "--max-connections {max_connections} needs about {need} file descriptors but only \
             {allowed} are allowed (ulimit -n); new connections wait when they run out"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_raise_only_when_short_and_warn_when_the_hard_limit_is_too_low() {
        let none = Plan {
            raise_to: None,
            short: None,
        };
        let table = [
            // (soft, hard, need) -> plan
            ((20_000, 20_000, 10_064), none),
            ((10_064, 20_000, 10_064), none),
            (
                (1024, 4096, 1064),
                Plan {
                    raise_to: Some(4096),
                    short: None,
                },
            ),
            (
                (1024, 4096, 10_064),
                Plan {
                    raise_to: Some(4096),
                    short: Some(4096),
                },
            ),
            (
                (1024, u64::MAX, 10_064),
                Plan {
                    raise_to: Some(10_064),
                    short: None,
                },
            ),
            (
                (4096, 4096, 10_064),
                Plan {
                    raise_to: None,
                    short: Some(4096),
                },
            ),
        ];
        for ((soft, hard, need), want) in table {
            assert_eq!(plan(soft, hard, need), want, "{soft} {hard} {need}");
        }
    }

    #[test]
    fn need_counts_a_reserve_and_never_overflows() {
        assert_eq!(needed(1000), 1000 + FD_RESERVE);
        assert_eq!(needed(usize::MAX), u64::MAX);
    }
}
