//! One request head written and the final response head read, on a connection with its
//! timeouts: the wire half of a request that `client` and the CONNECT `tunnel` share. Interim
//! (1xx) heads are skipped here; what the final head means is the caller's business.

use std::io::{self, Write};
use std::time::{Duration, Instant};

use super::body::{Incoming, TimedStream};
use super::connect::Stream;
use crate::proto::limits;
use crate::proto::response_head::ResponseHead;
use crate::Error;

/// A connection whose final response head has been read: the rest, the head, its raw bytes.
pub(super) type Answered = (Incoming<TimedStream>, ResponseHead, Vec<u8>);

/// Write the request on `stream` and read the final response head. An error comes with
/// whether nothing at all was received (the server closed before answering).
pub(super) fn exchange(
    stream: Stream,
    bytes: &[u8],
    read_timeout: Duration,
    deadline: Option<Instant>,
) -> Result<Answered, (Error, bool)> {
    let mut timed = TimedStream::new(stream, read_timeout, deadline);
    if let Err(e) = write_request(&mut timed, bytes) {
        let unanswered = matches!(&e, Error::Receive(_));
        return Err((e, unanswered));
    }
    let mut incoming = Incoming::new(timed);
    match read_final_head(&mut incoming) {
        Ok((head, raw)) => Ok((incoming, head, raw)),
        Err(e) => {
            let unanswered =
                !incoming.received_any() && matches!(&e, Error::EmptyReply | Error::Receive(_));
            Err((e, unanswered))
        }
    }
}

/// Send the request head within the read timeout / deadline.
pub(super) fn write_request(timed: &mut TimedStream, bytes: &[u8]) -> Result<(), Error> {
    let mut timeout = timed.read_timeout;
    if let Some(d) = timed.deadline {
        timeout = timeout.min(d.saturating_duration_since(Instant::now()));
    }
    let tcp = timed.stream.tcp();
    tcp.set_write_timeout(Some(timeout.max(Duration::from_millis(1))))
        .map_err(Error::Receive)?;
    timed
        .stream
        .write_all(bytes)
        .and_then(|()| timed.stream.flush())
        .map_err(|e| match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
                Error::Timeout(super::READ_TIMED_OUT)
            }
            _ => Error::Receive(e),
        })
}

/// Read heads until a final (non-1xx) one (RFC 9110 §15.2: interim responses are skipped).
pub(super) fn read_final_head(
    incoming: &mut Incoming<TimedStream>,
) -> Result<(ResponseHead, Vec<u8>), Error> {
    for _ in 0..=limits::MAX_INTERIM_RESPONSES {
        let (head, raw) = incoming.read_head()?;
        if !(100..200).contains(&head.status) {
            return Ok((head, raw));
        }
    }
    Err(Error::Receive(io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "more than {} interim (1xx) responses",
            limits::MAX_INTERIM_RESPONSES
        ),
    )))
}
