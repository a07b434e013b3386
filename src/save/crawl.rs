//! The coordinator of a save: runs [`transfer::save_one`](super::transfer::save_one) on fetch's
//! batch engine, decides on each link found (scope, robots.txt, seen before), then writes every
//! HTML and CSS file with its links rewritten: relative to the local copy when saved, absolute when
//! not (wget `-k`).

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::Ordering;

use url::Url;

use super::links::{LinkKind, Linker};
use super::paths::relative_link;
use super::scope::{Scope, Verdict};
use super::state::{self, original_file, DocKind, Entry, State};
use super::transfer::{save_one, write_file, Done, Landing, SaveJob, Shared};
use crate::fetch::batch::{Batch, Flow, Queue};
use crate::fetch::writeout::Record;
use crate::Error;

/// Longest robots.txt read (Google's parser reads 500 KiB).
const MAX_ROBOTS: usize = 500 << 10;

/// Counts for the summary line.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Totals {
    /// Files saved or found unchanged.
    pub files: u64,
    /// Body bytes received.
    pub bytes: u64,
    /// Failures reported.
    pub failures: u64,
}

/// What a crawl tells its caller after each file.
pub(super) trait Report {
    /// A transfer ended (`-w` prints its record).
    fn transferred(&mut self, record: &Record);
    /// A file is done.
    fn saved(&mut self, url: &Url, done: &Done);
    /// A file failed (the start URL included).
    fn failed(&mut self, error: &Error);
}

/// The coordinator's state (lives on the calling thread; workers only see [`Shared`]).
pub(super) struct Crawl<'r> {
    scope: Scope,
    robots: Option<HashMap<String, Option<String>>>,
    seen: HashSet<String>,
    saved: State,
    /// Saved HTML/CSS: key in `saved`, and the URL its links are relative to.
    docs: Vec<(String, Url)>,
    start_failed: bool,
    code: i32,
    totals: Totals,
    report: &'r mut dyn Report,
}

impl<'r> Crawl<'r> {
    /// A crawl within `scope`; `robots` on honours robots.txt.
    pub(super) fn new(scope: Scope, robots: bool, report: &'r mut dyn Report) -> Crawl<'r> {
        Crawl {
            scope,
            robots: robots.then(HashMap::new),
            seen: HashSet::new(),
            saved: State::new(),
            docs: Vec::new(),
            start_failed: false,
            code: 0,
            totals: Totals::default(),
            report,
        }
    }

    /// Save `start` and everything in scope, then rewrite; returns the exit code (the last
    /// failure's) and the totals.
    pub(super) fn run(mut self, shared: &Shared, parallel: usize) -> (i32, Totals) {
        let start = shared.start.clone();
        self.seen.insert(start.as_str().to_string());
        let first = SaveJob {
            url: start.clone(),
            depth: 0,
            keep: true,
        };
        Batch::new(parallel).growing(true).run(
            [first],
            |job, ctx| {
                let (record, result) = save_one(&job, ctx, shared);
                (job, record, result)
            },
            |(job, record, result), queue| {
                self.report.transferred(&record);
                self.on_result(shared, job, result, queue);
                Flow::Continue
            },
        );
        if self.start_failed {
            return (self.code, self.totals);
        }
        let result = rewrite_all(&shared.dir, &self.saved, &self.docs, parallel)
            .and_then(|()| state::store(&shared.dir, &self.saved));
        if let Err(e) = result {
            self.fail(&e);
        }
        (self.code, self.totals)
    }

    fn fail(&mut self, error: &Error) {
        self.report.failed(error);
        self.code = error.exit_code();
        self.totals.failures += 1;
    }

    fn on_result(
        &mut self,
        shared: &Shared,
        job: SaveJob,
        result: Result<Done, Error>,
        queue: &mut Queue<SaveJob>,
    ) {
        let done = match result {
            Ok(done) => done,
            Err(e) => {
                self.start_failed |= job.url == shared.start;
                return self.fail(&e);
            }
        };
        self.totals.bytes = shared.received.load(Ordering::Relaxed);
        if done.landing == Landing::Alias {
            self.saved
                .entry(job.url.as_str().to_string())
                .or_insert(done.entry);
            return;
        }
        if done.landing == Landing::Saved {
            self.totals.files += 1;
            self.report.saved(&job.url, &done);
            if done.entry.kind.has_links() {
                self.docs
                    .push((job.url.as_str().to_string(), done.final_url.clone()));
            }
            if done.final_url != job.url {
                let mut alias = done.final_url.clone();
                alias.set_fragment(None);
                self.saved
                    .entry(alias.as_str().to_string())
                    .or_insert_with(|| done.entry.clone());
            }
            self.saved
                .insert(job.url.as_str().to_string(), done.entry.clone());
        }
        for (url, kind) in done.links {
            self.consider(shared, url, kind, job.depth, queue);
        }
    }

    /// Queue a link's target once, when in scope and allowed by robots.txt.
    fn consider(
        &mut self,
        shared: &Shared,
        mut url: Url,
        kind: LinkKind,
        depth: u32,
        queue: &mut Queue<SaveJob>,
    ) {
        url.set_fragment(None);
        if kind == LinkKind::Reference || self.seen.contains(url.as_str()) {
            return;
        }
        let Verdict::Fetch { keep } = self.scope.decide(&url, kind, depth) else {
            return;
        };
        self.seen.insert(url.as_str().to_string());
        if !self.robots_allow(shared, &url) {
            return;
        }
        queue.push(SaveJob {
            url,
            depth: Scope::child_depth(kind, depth),
            keep,
        });
    }

    /// robots.txt of the URL's origin (fetched once, on first need) allows it. A missing or
    /// unreadable robots.txt allows everything (RFC 9309 §2.3.1.3, §2.3.1.4 for 4xx).
    fn robots_allow(&mut self, shared: &Shared, url: &Url) -> bool {
        let Some(cache) = &mut self.robots else {
            return true;
        };
        let key = url.origin().ascii_serialization();
        let rules = cache
            .entry(key)
            .or_insert_with(|| fetch_robots(shared, url));
        let Some(rules) = rules else {
            return true;
        };
        let agent = shared
            .client
            .args
            .user_agent
            .as_deref()
            .unwrap_or("rawhttp");
        let product = agent.split('/').next().unwrap_or(agent);
        robotstxt::DefaultMatcher::default().one_agent_allowed_by_robots(
            rules,
            product,
            url.as_str(),
        )
    }
}

/// The robots.txt body of `url`'s origin, when it answers 200.
fn fetch_robots(shared: &Shared, url: &Url) -> Option<String> {
    let robots = url.join("/robots.txt").ok()?;
    let mut response = shared
        .client
        .request("GET", robots)
        .pool(shared.pool.clone())
        .follow_redirects(5)
        .send()
        .ok()?;
    if response.status() != 200 {
        response.discard();
        return None;
    }
    let mut body = Vec::new();
    let mut buf = [0u8; 8192];
    while body.len() < MAX_ROBOTS {
        match response.read_body(&mut buf) {
            Ok(0) => break,
            Ok(n) => body.extend_from_slice(&buf[..n]),
            Err(_) => return None,
        }
    }
    response.release();
    Some(String::from_utf8_lossy(&body).into_owned())
}

/// Rewrites a document's links against what was saved.
struct Rewrite<'a> {
    saved: &'a State,
    from: &'a Path,
}

impl Linker for Rewrite<'_> {
    fn link(&mut self, url: Url, _kind: LinkKind) -> Option<String> {
        let mut key = url.clone();
        key.set_fragment(None);
        let Some(entry) = self.saved.get(key.as_str()) else {
            return Some(url.to_string());
        };
        let mut link = relative_link(self.from, &entry.path);
        if let Some(fragment) = url.fragment() {
            link.push('#');
            link.push_str(fragment);
        }
        Some(link)
    }
}

/// Write every saved HTML/CSS document with its links rewritten, `parallel` at a time.
fn rewrite_all(
    dir: &Path,
    saved: &State,
    docs: &[(String, Url)],
    parallel: usize,
) -> Result<(), Error> {
    let per_thread = docs.len().div_ceil(parallel.max(1)).max(1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = docs
            .chunks(per_thread)
            .map(|chunk| {
                scope.spawn(move || -> Result<(), Error> {
                    for (key, base) in chunk {
                        if let Some(entry) = saved.get(key) {
                            rewrite_one(dir, saved, base, entry)?;
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        let mut result = Ok(());
        for worker in workers {
            match worker.join() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => result = Err(e),
                Err(_) => result = Err(Error::Io(std::io::Error::other("rewriting panicked"))),
            }
        }
        result
    })
}

/// One document: its kept original, rewritten, replaces `DIR/PATH` whole.
fn rewrite_one(dir: &Path, saved: &State, base: &Url, entry: &Entry) -> Result<(), Error> {
    let original = std::fs::read(original_file(dir, &entry.path)).map_err(Error::Io)?;
    let mut linker = Rewrite {
        saved,
        from: &entry.path,
    };
    let out = match entry.kind {
        DocKind::Html => super::html::rewrite_html(&original, base, &mut linker)
            .unwrap_or_else(|_| original.clone()),
        DocKind::Css => {
            super::css::rewrite_css(&String::from_utf8_lossy(&original), base, &mut linker)
                .into_bytes()
        }
        DocKind::Other => return Ok(()),
    };
    write_file(&dir.join(&entry.path), &out)
}
