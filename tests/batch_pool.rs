//! The library's connection pool and batch engine over loopback: kept-alive connections are
//! reused per origin (RFC 9112 §9.3), a batch never opens more connections than it runs at
//! once, and a reused connection the server closed before answering is retried once on a
//! fresh one for idempotent methods only (RFC 9110 §9.2.2).

mod support;

use std::collections::BTreeSet;
use std::io::Read;
use std::sync::Arc;

use rawhttp::fetch::batch::{Batch, Flow, Job};
use rawhttp::fetch::{Origin, Pool, Request};
use rawhttp::serve::{Server, ServerHandle};
use support::scripted::{Conn, ScriptedServer};
use url::Url;

fn server() -> ServerHandle {
    let mut server = Server::in_memory().file("d/index.html", "<p>index</p>\n");
    for i in 0..20 {
        server = server.file(&format!("f{i}.txt"), format!("file {i}\n"));
    }
    server.start().expect("fixture")
}

fn url(base: &Url, path: &str) -> Url {
    base.join(path).expect("test URL")
}

fn get(url: Url, pool: &Arc<Pool>) -> (Vec<u8>, rawhttp::fetch::Response) {
    let mut response = Request::get(url).pool(pool.clone()).send().expect("send");
    let mut body = Vec::new();
    response.read_to_end(&mut body).expect("body");
    (body, response)
}

#[test]
fn pooled_requests_share_one_connection_until_one_says_close() {
    let server = server();
    let pool = Arc::new(Pool::new(4));
    let mut reused = Vec::new();
    for i in 0..3 {
        let (body, response) = get(url(&server.url(), &format!("f{i}.txt")), &pool);
        assert_eq!(body, format!("file {i}\n").as_bytes());
        reused.push(response.connection_reused());
        assert!(response.release(), "complete response: pooled");
    }
    let last = Request::get(url(&server.url(), "f3.txt"))
        .pool(pool.clone())
        .connection_close(true)
        .send()
        .expect("send");
    assert!(last.connection_reused());
    assert!(!last.release(), "we said close: not pooled");
    assert_eq!(reused, [false, true, true]);
    assert_eq!((pool.opened(), pool.reused()), (1, 3));
    let seen = server.requests();
    let ids: BTreeSet<u64> = seen.iter().map(|r| r.connection_id).collect();
    assert_eq!(ids.len(), 1, "{seen:?}");
    let connection: Vec<Option<&str>> = seen.iter().map(|r| r.header("connection")).collect();
    assert_eq!(connection, [None, None, None, Some("close")]);
}

#[test]
fn without_a_pool_every_request_says_close() {
    let server = server();
    for _ in 0..2 {
        let response = Request::get(url(&server.url(), "f1.txt"))
            .send()
            .expect("send");
        assert!(!response.connection_reused());
        assert!(!response.release());
    }
    let seen = server.requests();
    assert!(seen.iter().all(|r| r.header("connection") == Some("close")));
    assert_ne!(seen[0].connection_id, seen[1].connection_id);
}

#[test]
fn an_unread_body_is_not_pooled_and_a_redirect_hop_keeps_its_connection() {
    let server = server();
    let pool = Arc::new(Pool::new(4));
    let unread = Request::get(url(&server.url(), "f1.txt"))
        .pool(pool.clone())
        .send()
        .expect("send");
    assert!(
        !unread.release(),
        "body not read: the connection is out of step"
    );
    // /d answers 301 to /d/ with a small body: drained, and the next hop reuses the socket.
    let mut response = Request::get(url(&server.url(), "d"))
        .pool(pool.clone())
        .follow_redirects(5)
        .send()
        .expect("send");
    let mut body = String::new();
    response.read_to_string(&mut body).expect("body");
    assert_eq!(body, "<p>index</p>\n");
    assert!(response.connection_reused());
    assert!(response.release());
    let seen = server.requests();
    assert_eq!(seen.len(), 3);
    assert_ne!(seen[0].connection_id, seen[1].connection_id);
    assert_eq!(seen[1].connection_id, seen[2].connection_id);
}

struct Get(Url);

impl Job for Get {
    fn origin(&self) -> Option<Origin> {
        Origin::of(&self.0)
    }
}

#[test]
fn a_batch_uses_no_more_connections_than_it_runs_at_once() {
    let server = server();
    let pool = Arc::new(Pool::new(4));
    let jobs = (0..200).map(|i| Get(url(&server.url(), &format!("f{}.txt", i % 20))));
    let mut ok = 0;
    let summary = Batch::new(4).run(
        jobs,
        |job, ctx| {
            let path = job.0.path().to_string();
            let mut response = Request::get(job.0)
                .pool(pool.clone())
                .connection_close(ctx.last_for_origin())
                .send()?;
            let mut body = Vec::new();
            response
                .read_to_end(&mut body)
                .map_err(rawhttp::Error::Io)?;
            response.release();
            Ok::<_, rawhttp::Error>((path, body))
        },
        |result, _| {
            let (path, body) = result.expect("every job succeeds");
            let n = path.trim_start_matches("/f").trim_end_matches(".txt");
            assert_eq!(body, format!("file {n}\n").as_bytes());
            ok += 1;
            Flow::Continue
        },
    );
    assert_eq!((ok, summary.run), (200, 200));
    let seen = server.requests();
    let ids: BTreeSet<u64> = seen.iter().map(|r| r.connection_id).collect();
    assert!(ids.len() <= 4, "{} connections", ids.len());
    assert_eq!(pool.opened(), ids.len() as u64);
    let closes = seen
        .iter()
        .filter(|r| r.header("connection") == Some("close"));
    assert_eq!(
        closes.count(),
        1,
        "only the origin's last request says close"
    );
}

/// Connection 0 answers its first request, then reads the second and closes without an
/// answer (the server's keep-alive timer firing as the request arrives); later connections
/// answer everything.
fn close_after_first(conn: &mut Conn) {
    if conn.index == 0 {
        if conn.request().is_some() {
            conn.ok(b"one");
        }
        let _ = conn.request();
        return;
    }
    while conn.request().is_some() {
        conn.ok(b"two");
    }
}

#[test]
fn a_reused_connection_closed_before_the_answer_is_retried_once_on_a_fresh_one() {
    let server = ScriptedServer::start(close_after_first);
    let pool = Arc::new(Pool::new(4));
    let (body, response) = get(Url::parse(&server.url("/1")).expect("url"), &pool);
    assert_eq!(body, b"one");
    assert!(response.release());
    let (body, response) = get(Url::parse(&server.url("/2")).expect("url"), &pool);
    assert_eq!(body, b"two");
    assert!(
        !response.connection_reused(),
        "answered on the fresh connection"
    );
    assert_eq!(server.accepted(), 2);
    let seen: Vec<(usize, String)> = server
        .seen()
        .iter()
        .map(|s| (s.conn, s.target().to_string()))
        .collect();
    assert_eq!(
        seen,
        [(0, "/1".to_string()), (0, "/2".into()), (1, "/2".into())]
    );
}

#[test]
fn a_non_idempotent_request_is_not_retried() {
    let server = ScriptedServer::start(close_after_first);
    let pool = Arc::new(Pool::new(4));
    let (_, response) = get(Url::parse(&server.url("/1")).expect("url"), &pool);
    assert!(response.release());
    let err = Request::new("POST", Url::parse(&server.url("/2")).expect("url"))
        .pool(pool.clone())
        .send()
        .expect_err("closed without an answer");
    assert_eq!(err.exit_code(), 52, "{err}");
    assert_eq!(server.accepted(), 1);
}

#[test]
fn responses_that_end_the_connection_are_not_pooled() {
    let replies: [&[u8]; 4] = [
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx",
        b"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx",
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxEXTRA",
        b"HTTP/1.1 200 OK\r\n\r\nx",
    ];
    for reply in replies {
        let server = ScriptedServer::start(move |conn| {
            if conn.request().is_some() {
                conn.send(reply);
            }
        });
        let pool = Arc::new(Pool::new(4));
        let (body, response) = get(Url::parse(&server.url("/")).expect("url"), &pool);
        assert_eq!(&body[..1], b"x");
        assert!(!response.release(), "{}", String::from_utf8_lossy(reply));
        assert_eq!(pool.idle_count(), 0);
    }
}
