//! Chunked-body encoder (RFC 9112 §7.1): chunks, the last-chunk and trailer fields appended to
//! a buffer. Where the body comes from, and whether to send it chunked, are the caller's.

use crate::proto::syntax::{is_field_vchar, is_token, trim_ows};
use crate::proto::{Headers, ProtoError};

/// The last-chunk and an empty trailer section (RFC 9112 §7.1): the end of a chunked body
/// that carries no trailer fields.
pub const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

/// Append `data` as one chunk, `HEX-SIZE CRLF data CRLF` (RFC 9112 §7.1). Empty `data` writes
/// nothing: a zero-size chunk is the last-chunk and would end the body early.
pub fn encode_chunk(data: &[u8], out: &mut Vec<u8>) {
    if data.is_empty() {
        return;
    }
    start_chunk(data.len() as u64, out);
    out.extend_from_slice(data);
    end_chunk(out);
}

/// Append the chunk-size line `HEX-SIZE CRLF` for `size` bytes of data (RFC 9112 §7.1), for a
/// writer that puts the data in place itself (read from a file straight into `out`) and then
/// calls [`end_chunk`]. Lower-case hex, no leading zeros, no extensions. A `size` of 0 writes the
/// last-chunk's line: callers with no data skip the chunk, as [`encode_chunk`] does.
pub fn start_chunk(size: u64, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digits = (u64::BITS - size.leading_zeros()).div_ceil(4).max(1);
    for i in (0..digits).rev() {
        out.push(HEX[((size >> (4 * i)) & 0xf) as usize]);
    }
    out.extend_from_slice(b"\r\n");
}

/// Append the CRLF that ends a chunk's data (RFC 9112 §7.1).
pub fn end_chunk(out: &mut Vec<u8>) {
    out.extend_from_slice(b"\r\n");
}

/// Append the last-chunk, the trailer fields and the empty line that end a chunked body
/// (RFC 9112 §7.1, §7.1.2). A name that is not a token, or a value with a control byte or
/// leading or trailing whitespace, is `BadTrailer` and nothing is written: a CR or LF in a
/// value would otherwise start a field of the sender's choosing (RFC 9110 §5.5).
pub fn encode_last_chunk(trailers: &Headers, out: &mut Vec<u8>) -> Result<(), ProtoError> {
    let valid = trailers.iter().all(|(name, value)| {
        let trimmed = trim_ows(value).len() == value.len();
        is_token(name.as_bytes()) && trimmed && value.iter().all(|&b| is_field_vchar(b))
    });
    if !valid {
        return Err(ProtoError::BadTrailer);
    }
    out.extend_from_slice(b"0\r\n");
    for (name, value) in trailers.iter() {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoder_writes_hex_sizes_and_skips_empty_chunks() {
        let table: &[(&[u8], &[u8])] = &[
            (b"", b""),
            (b"hello", b"5\r\nhello\r\n"),
            (&[b'x'; 26], b"1a\r\nxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n"),
            (b"\r\n0\r\n\r\n", b"7\r\n\r\n0\r\n\r\n\r\n"),
        ];
        for (data, want) in table {
            let mut out = Vec::new();
            encode_chunk(data, &mut out);
            assert_eq!(out, *want, "{data:?}");
        }
    }

    #[test]
    fn chunk_size_lines_are_lower_case_hex() {
        for size in [
            0,
            1,
            9,
            10,
            15,
            16,
            255,
            256,
            4096,
            65535,
            1 << 40,
            u64::MAX,
        ] {
            let mut out = Vec::new();
            start_chunk(size, &mut out);
            assert_eq!(out, format!("{size:x}\r\n").as_bytes(), "{size}");
        }
        let mut last = Vec::new();
        encode_last_chunk(&Headers::new(), &mut last).unwrap();
        assert_eq!(last, LAST_CHUNK);
    }

    #[test]
    fn encoder_writes_trailers_and_refuses_injection() {
        let mut ok = Headers::new();
        ok.push("X-Sum", b"a b");
        ok.push("Expires", b"");
        let mut out = Vec::new();
        encode_last_chunk(&ok, &mut out).unwrap();
        assert_eq!(out, b"0\r\nX-Sum: a b\r\nExpires: \r\n\r\n");
        let bad: &[(&str, &[u8])] = &[
            ("X", b"a\r\nSet-Cookie: x"),
            ("X", b" padded"),
            ("X", b"tab\t"),
            ("X", b"nul\0"),
            ("Bad Name", b"v"),
            ("", b"v"),
        ];
        for (name, value) in bad {
            let mut h = Headers::new();
            h.push(name, value);
            let mut out = Vec::new();
            assert_eq!(
                encode_last_chunk(&h, &mut out),
                Err(ProtoError::BadTrailer),
                "{name:?}: {value:?}"
            );
            assert!(out.is_empty());
        }
    }
}
