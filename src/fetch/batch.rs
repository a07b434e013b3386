//! The batch engine: run a stream of jobs with at most N at once, each reported to the caller
//! as it finishes. Jobs are pulled from their iterator only as slots free up (plus a small
//! look-ahead), so memory is bounded by the parallelism, not by the number of jobs. It knows
//! nothing of HTTP but a job's origin: a job learns whether it is the last one for its origin
//! (then its request may say `Connection: close`, RFC 9112 §9.6). `rawhttp fetch` and `save`
//! both run on it; what a job does (fetch, save, report) is the caller's closure.
//!
//! ```no_run
//! use std::sync::Arc;
//! use rawhttp::fetch::batch::{Batch, Flow, Job};
//! use rawhttp::fetch::{Origin, Pool, Request};
//!
//! struct Get(url::Url);
//! impl Job for Get {
//!     fn origin(&self) -> Option<Origin> {
//!         Origin::of(&self.0)
//!     }
//! }
//! let urls = ["http://127.0.0.1:8000/a", "http://127.0.0.1:8000/b"];
//! let jobs = urls.iter().map(|u| Get(url::Url::parse(u).expect("valid")));
//! let pool = Arc::new(Pool::new(8));
//! Batch::new(8).run(
//!     jobs,
//!     |job, ctx| {
//!         let mut response = Request::get(job.0)
//!             .pool(pool.clone())
//!             .connection_close(ctx.last_for_origin())
//!             .send()?;
//!         let mut body = Vec::new();
//!         std::io::Read::read_to_end(&mut response, &mut body).map_err(rawhttp::Error::Io)?;
//!         response.release(); // the connection goes back to the pool
//!         Ok::<_, rawhttp::Error>(body.len())
//!     },
//!     |result, _more| {
//!         println!("{result:?}");
//!         Flow::Continue
//!     },
//! );
//! ```

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};

use super::pool::Origin;

/// Jobs pulled from the iterator ahead of the free slots, so a job can be told whether another
/// one for its origin follows. Small and fixed: a streamed input never sits in memory whole.
const LOOKAHEAD: usize = 64;

/// One unit of work in a batch.
pub trait Job: Send {
    /// The origin the job's first request goes to, when it has one (for `Connection: close` on
    /// the last job of an origin).
    fn origin(&self) -> Option<Origin>;
}

/// What the report callback tells the engine after each job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Start more jobs.
    Continue,
    /// Start no more (`--fail-early`); jobs in flight are told through [`Context::is_stopped`]
    /// and are still reported.
    Stop,
}

/// What a running job knows about the batch around it.
#[derive(Debug)]
pub struct Context<'a> {
    last_for_origin: bool,
    stopped: &'a AtomicBool,
}

impl Context<'_> {
    /// No job after this one goes to the same origin (so far as the batch can know: the input
    /// is exhausted and nothing queued or in the look-ahead shares it).
    pub fn last_for_origin(&self) -> bool {
        self.last_for_origin
    }

    /// The batch was stopped: a long job should give up at its next chance.
    pub fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Relaxed)
    }
}

/// Jobs the report callback adds while the batch runs (links found by `save`); they start
/// before the rest of the input.
#[derive(Debug)]
pub struct Queue<J> {
    jobs: VecDeque<(J, Option<Origin>)>,
}

impl<J: Job> Queue<J> {
    /// Run `job` too.
    pub fn push(&mut self, job: J) {
        let origin = job.origin();
        self.jobs.push_back((job, origin));
    }

    /// Jobs waiting.
    pub fn len(&self) -> usize {
        self.jobs.len()
    }

    /// No job waiting.
    pub fn is_empty(&self) -> bool {
        self.jobs.is_empty()
    }
}

/// A batch runner: `Batch::new(parallel).run(jobs, work, report)`.
#[derive(Debug, Clone, Copy)]
pub struct Batch {
    parallel: usize,
    growing: bool,
}

/// Counts after a batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Jobs started (and reported).
    pub run: u64,
    /// The report callback said [`Flow::Stop`].
    pub stopped: bool,
}

impl Batch {
    /// At most `parallel` jobs at once (0 counts as 1). With 1 the jobs run one after another
    /// on the calling thread, in input order.
    pub fn new(parallel: usize) -> Batch {
        Batch {
            parallel: parallel.max(1),
            growing: false,
        }
    }

    /// The report callback may [`Queue::push`] jobs, so a job still running may add more for
    /// its origin: no job is then called last for its origin while others run.
    pub fn growing(mut self, yes: bool) -> Batch {
        self.growing = yes;
        self
    }

    /// Run every job of `jobs` (and every job the callback queues) through `work`, at most
    /// `parallel` at once on worker threads, and hand each result to `report` on the calling
    /// thread as it arrives (input order only when `parallel` is 1).
    pub fn run<J, R, I, W, D>(&self, jobs: I, work: W, mut report: D) -> Summary
    where
        J: Job,
        R: Send,
        I: IntoIterator<Item = J>,
        W: Fn(J, &Context) -> R + Sync,
        D: FnMut(R, &mut Queue<J>) -> Flow,
    {
        let mut state = Schedule::new(jobs.into_iter(), *self);
        let stopped = AtomicBool::new(false);
        if self.parallel == 1 {
            while let Some((job, last)) = state.next_job(0) {
                let result = work(job, &Context::new(last, &stopped));
                let flow = report(result, &mut state.queue);
                state.finish(flow, &stopped);
            }
        } else {
            self.run_parallel(&mut state, &work, &mut report, &stopped);
        }
        state.summary
    }

    /// `run` on worker threads: start jobs while slots are free, report each result as it
    /// comes back, until nothing is left to start or in flight.
    fn run_parallel<J, R, I, W, D>(
        &self,
        state: &mut Schedule<I>,
        work: &W,
        report: &mut D,
        stopped: &AtomicBool,
    ) where
        J: Job,
        R: Send,
        I: Iterator<Item = J>,
        W: Fn(J, &Context) -> R + Sync,
        D: FnMut(R, &mut Queue<J>) -> Flow,
    {
        std::thread::scope(|scope| {
            let (job_tx, job_rx) = mpsc::channel::<(J, bool)>();
            let (result_tx, result_rx) = mpsc::channel::<Option<R>>();
            let job_rx = Arc::new(Mutex::new(job_rx));
            let mut workers = 0;
            let mut in_flight = 0;
            loop {
                while in_flight < self.parallel {
                    let Some((job, last)) = state.next_job(in_flight) else {
                        break;
                    };
                    if workers == in_flight {
                        let (rx, tx) = (job_rx.clone(), result_tx.clone());
                        scope.spawn(move || serve_jobs(&rx, &tx, work, stopped));
                        workers += 1;
                    }
                    // The workers live until job_tx is dropped, so the send cannot fail.
                    let _ = job_tx.send((job, last));
                    in_flight += 1;
                }
                if in_flight == 0 {
                    break;
                }
                let Ok(Some(result)) = result_rx.recv() else {
                    drop(job_tx);
                    panic!("a batch worker panicked");
                };
                in_flight -= 1;
                let flow = report(result, &mut state.queue);
                state.finish(flow, stopped);
            }
            drop(job_tx);
        });
    }
}

impl<'a> Context<'a> {
    fn new(last_for_origin: bool, stopped: &'a AtomicBool) -> Self {
        Context {
            last_for_origin,
            stopped,
        }
    }
}

/// A worker: take jobs until the batch drops its sender, send back each result. When `work`
/// panics, the guard tells the coordinator instead of leaving it waiting.
fn serve_jobs<J, R, W>(
    jobs: &Mutex<Receiver<(J, bool)>>,
    results: &Sender<Option<R>>,
    work: &W,
    stopped: &AtomicBool,
) where
    W: Fn(J, &Context) -> R,
{
    struct PanicGuard<'s, R>(&'s Sender<Option<R>>);
    impl<R> Drop for PanicGuard<'_, R> {
        fn drop(&mut self) {
            if std::thread::panicking() {
                let _ = self.0.send(None);
            }
        }
    }
    let _guard = PanicGuard(results);
    loop {
        // A poisoned lock only means another worker panicked; the receiver is still whole.
        let next = jobs.lock().unwrap_or_else(|p| p.into_inner()).recv();
        let Ok((job, last)) = next else {
            return;
        };
        let result = work(job, &Context::new(last, stopped));
        if results.send(Some(result)).is_err() {
            return;
        }
    }
}

/// The coordinator's view of the jobs: the callback's queue, the look-ahead, the rest.
struct Schedule<I: Iterator> {
    input: I,
    exhausted: bool,
    ahead: VecDeque<(I::Item, Option<Origin>)>,
    queue: Queue<I::Item>,
    batch: Batch,
    stopped: bool,
    summary: Summary,
}

impl<J: Job, I: Iterator<Item = J>> Schedule<I> {
    fn new(input: I, batch: Batch) -> Self {
        Schedule {
            input,
            exhausted: false,
            ahead: VecDeque::new(),
            queue: Queue {
                jobs: VecDeque::new(),
            },
            batch,
            stopped: false,
            summary: Summary::default(),
        }
    }

    /// The next job to start (queued ones first) and whether it is the last for its origin.
    fn next_job(&mut self, in_flight: usize) -> Option<(J, bool)> {
        if self.stopped {
            return None;
        }
        self.fill();
        let (job, origin) = self
            .queue
            .jobs
            .pop_front()
            .or_else(|| self.ahead.pop_front())?;
        self.fill();
        let last = origin.is_some_and(|o| self.is_last(&o, in_flight));
        self.summary.run += 1;
        Some((job, last))
    }

    fn fill(&mut self) {
        while !self.exhausted && self.ahead.len() < LOOKAHEAD {
            match self.input.next() {
                Some(job) => {
                    let origin = job.origin();
                    self.ahead.push_back((job, origin));
                }
                None => self.exhausted = true,
            }
        }
    }

    fn is_last(&self, origin: &Origin, in_flight: usize) -> bool {
        let same = |(_, o): &(J, Option<Origin>)| o.as_ref() == Some(origin);
        let may_grow = self.batch.growing && in_flight > 0;
        let more_ahead = self.ahead.iter().any(same) || self.queue.jobs.iter().any(same);
        self.exhausted && !may_grow && !more_ahead
    }

    fn finish(&mut self, flow: Flow, stopped: &AtomicBool) {
        if flow == Flow::Stop {
            self.stopped = true;
            self.summary.stopped = true;
            stopped.store(true, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// A job: a number and the host it pretends to go to.
    #[derive(Debug)]
    struct N(u32, &'static str);

    impl Job for N {
        fn origin(&self) -> Option<Origin> {
            Some(Origin {
                https: false,
                host: self.1.to_string(),
                port: 80,
            })
        }
    }

    fn collect(parallel: usize, jobs: Vec<N>) -> Vec<(u32, bool)> {
        let mut got = Vec::new();
        Batch::new(parallel).run(
            jobs,
            |job, ctx| (job.0, ctx.last_for_origin()),
            |r, _| {
                got.push(r);
                Flow::Continue
            },
        );
        got
    }

    #[test]
    fn sequential_batches_run_in_order_and_mark_the_last_job_per_origin() {
        let jobs = vec![N(1, "a"), N(2, "b"), N(3, "a"), N(4, "c")];
        let want = vec![(1, false), (2, true), (3, true), (4, true)];
        assert_eq!(collect(1, jobs), want);
        assert_eq!(collect(1, Vec::new()), Vec::new());
    }

    #[test]
    fn parallel_batches_run_every_job_once() {
        let jobs: Vec<N> = (0..500)
            .map(|i| N(i, if i % 2 == 0 { "a" } else { "b" }))
            .collect();
        let mut got = collect(8, jobs);
        got.sort();
        assert_eq!(got.len(), 500);
        assert!(got.iter().enumerate().all(|(i, (n, _))| *n == i as u32));
        let lasts: Vec<u32> = got.iter().filter(|(_, l)| *l).map(|(n, _)| *n).collect();
        assert_eq!(lasts, vec![498, 499]);
    }

    /// The iterator is pulled only as slots free: when a result is reported, at most the jobs
    /// in flight plus the look-ahead have been taken beyond those already reported.
    #[test]
    fn input_is_streamed_not_collected() {
        let pulled = AtomicUsize::new(0);
        let input = (0..100_000u32).map(|i| {
            pulled.fetch_add(1, Ordering::SeqCst);
            N(i, "a")
        });
        let mut reported = 0usize;
        let mut most_ahead = 0usize;
        Batch::new(4).run(
            input,
            |job, _| job.0,
            |_, _| {
                reported += 1;
                most_ahead = most_ahead.max(pulled.load(Ordering::SeqCst) - reported);
                Flow::Continue
            },
        );
        assert_eq!(reported, 100_000);
        assert!(
            most_ahead <= 4 + LOOKAHEAD,
            "{most_ahead} jobs held at once"
        );
    }

    #[test]
    fn stop_starts_nothing_more_and_tells_running_jobs() {
        let mut reported = Vec::new();
        let summary = Batch::new(1).run(
            (0..10).map(|i| N(i, "a")),
            |job, ctx| (job.0, ctx.is_stopped()),
            |r, _| {
                reported.push(r);
                if r.0 == 2 {
                    Flow::Stop
                } else {
                    Flow::Continue
                }
            },
        );
        assert_eq!(reported, vec![(0, false), (1, false), (2, false)]);
        assert_eq!(
            summary,
            Summary {
                run: 3,
                stopped: true
            }
        );
    }

    #[test]
    fn queued_jobs_run_before_the_rest_of_the_input() {
        let mut order = Vec::new();
        Batch::new(1).growing(true).run(
            vec![N(1, "a"), N(2, "a")],
            |job, ctx| (job.0, ctx.last_for_origin()),
            |r, more| {
                order.push(r);
                if r.0 == 1 {
                    more.push(N(10, "a"));
                    more.push(N(11, "b"));
                }
                Flow::Continue
            },
        );
        assert_eq!(order, vec![(1, false), (10, false), (11, true), (2, true)]);
    }
}
