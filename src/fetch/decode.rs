//! `--compressed`: ask for compressed bodies and undo the server's Content-Encoding (RFC 9110
//! §8.4) while reading, as curl does. Which codings a response used is a pure, table-tested
//! parse; the decoders are the field's crates. Limits apply to the decoded bytes, so a small
//! body that inflates past `--max-filesize` is stopped (a "zip bomb" never reaches the disk).

use std::cell::{Cell, RefCell};
use std::io::{self, BufReader, Read};
use std::rc::Rc;

use crate::Error;

/// What `--compressed` sends: every coding we can decode (curl sends the same list).
pub(crate) const ACCEPT_ENCODING: &str = "gzip, deflate, br, zstd";

/// A content coding (RFC 9110 §8.4.1) we can undo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    /// "gzip" and "x-gzip" (RFC 9110 §8.4.1.3); concatenated members are all read.
    Gzip,
    /// "deflate" is zlib-wrapped (RFC 9110 §8.4.1.2); raw deflate is accepted too, as
    /// browsers and curl do, because servers send both.
    Deflate,
    /// "br" (RFC 7932).
    Brotli,
    /// "zstd" (RFC 8878).
    Zstd,
}

/// The codings of a Content-Encoding value in the order they were applied (`identity` dropped).
/// An unknown coding is an error naming it: the body cannot be turned back into what was asked.
pub fn parse_codings(value: &[u8]) -> Result<Vec<Coding>, String> {
    let text = std::str::from_utf8(value).map_err(|_| "non-ASCII Content-Encoding".to_string())?;
    let mut out = Vec::new();
    for name in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let coding = match name.to_ascii_lowercase().as_str() {
            "identity" => continue,
            "gzip" | "x-gzip" => Coding::Gzip,
            "deflate" => Coding::Deflate,
            "br" => Coding::Brotli,
            "zstd" => Coding::Zstd,
            _ => return Err(format!("unsupported content coding {name:?}")),
        };
        out.push(coding);
    }
    Ok(out)
}

/// `body` with `codings` undone (last applied, first undone), stopping with
/// [`Error::FileTooLarge`] once more than `max` decoded bytes come out. Errors read from it
/// are the crate's (`Error::from` on the `io::Error` gives them back). The end of the decoded
/// stream is only the end once the body's framing is satisfied too: what follows is read, so
/// a short body is still a truncation (18).
pub fn decoded<'a, R: Read + 'a>(
    body: R,
    codings: &[Coding],
    max: Option<u64>,
) -> Result<Box<dyn Read + 'a>, Error> {
    let raw = Rc::new(RefCell::new(body));
    let eof = Rc::new(Cell::new(false));
    let mut reader: Box<dyn Read + 'a> = Box::new(EofWatch {
        inner: raw.clone(),
        eof: eof.clone(),
    });
    for coding in codings.iter().rev() {
        reader = Box::new(Decoding {
            inner: decoder(reader, *coding)?,
            coding: *coding,
            eof: eof.clone(),
        });
    }
    Ok(Box::new(Capped {
        inner: reader,
        raw,
        eof,
        left: max,
        limit: max.unwrap_or(u64::MAX),
    }))
}

fn decoder<'a>(r: Box<dyn Read + 'a>, coding: Coding) -> Result<Box<dyn Read + 'a>, Error> {
    Ok(match coding {
        Coding::Gzip => Box::new(flate2::read::MultiGzDecoder::new(r)),
        Coding::Deflate => deflate_decoder(BufReader::new(r))?,
        Coding::Brotli => Box::new(brotli_decompressor::Decompressor::new(r, 64 * 1024)),
        Coding::Zstd => Box::new(zstd::stream::read::Decoder::new(r).map_err(Error::from)?),
    })
}

/// zlib when the first two bytes are a zlib header (RFC 1950 §2.2), raw deflate otherwise.
fn deflate_decoder<'a>(mut r: BufReader<Box<dyn Read + 'a>>) -> Result<Box<dyn Read + 'a>, Error> {
    use std::io::BufRead;
    let start = r.fill_buf().map_err(Error::from)?;
    if is_zlib_header(start) {
        Ok(Box::new(flate2::bufread::ZlibDecoder::new(r)))
    } else {
        Ok(Box::new(flate2::bufread::DeflateDecoder::new(r)))
    }
}

/// CM = 8 (deflate), and CMF·256 + FLG a multiple of 31 (RFC 1950 §2.2).
pub(crate) fn is_zlib_header(b: &[u8]) -> bool {
    match b {
        [cmf, flg, ..] => cmf & 0x0f == 8 && (u16::from(*cmf) * 256 + u16::from(*flg)) % 31 == 0,
        _ => false,
    }
}

/// The received body, noting when it ended: a decoder that fails after that ran out of input.
struct EofWatch<R> {
    inner: Rc<RefCell<R>>,
    eof: Rc<Cell<bool>>,
}

impl<R: Read> Read for EofWatch<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = read_shared(&self.inner, buf)?;
        if n == 0 && !buf.is_empty() {
            self.eof.set(true);
        }
        Ok(n)
    }
}

/// A decoder whose own failures become the crate's errors: a stream that ends early is a
/// truncation (18), one that does not decode is a decoding error (61, as curl). Decoders differ
/// in how they say "ended early" (flate2 and zstd: `UnexpectedEof`; brotli: `InvalidData` right
/// after its input ran out), so running out of input is watched here too.
struct Decoding<'a> {
    inner: Box<dyn Read + 'a>,
    coding: Coding,
    eof: Rc<Cell<bool>>,
}

impl Read for Decoding<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).map_err(|e| {
            if e.get_ref().is_some_and(|inner| inner.is::<Error>()) {
                return e; // the body's own error (truncation, timeout ...), passed through
            }
            let truncated = e.kind() == io::ErrorKind::UnexpectedEof || self.eof.get();
            let why = format!("{:?} data: {e}", self.coding).to_lowercase();
            io::Error::new(e.kind(), Error::Decoding { why, truncated })
        })
    }
}

/// One read from the body shared by the decoder chain and [`Capped`], which take turns.
fn read_shared<R: Read>(raw: &RefCell<R>, buf: &mut [u8]) -> io::Result<usize> {
    match raw.try_borrow_mut() {
        Ok(mut r) => r.read(buf),
        Err(_) => Err(io::Error::other("body read re-entered")),
    }
}

/// The top of the chain: stops with `FileTooLarge` once the decoded output passes the limit,
/// and at the decoded end reads the body to its framed end.
struct Capped<'a, R> {
    inner: Box<dyn Read + 'a>,
    raw: Rc<RefCell<R>>,
    eof: Rc<Cell<bool>>,
    left: Option<u64>,
    limit: u64,
}

impl<R: Read> Capped<'_, R> {
    /// The compressed stream ended: the body must end here too. A short body fails as the
    /// framing says (18); bytes after the stream are not part of any coding we undo (61).
    fn finish_body(&mut self) -> io::Result<()> {
        let mut scratch = [0u8; 512];
        while !self.eof.get() {
            match read_shared(&self.raw, &mut scratch)? {
                0 => self.eof.set(true),
                _ => {
                    let why = "data after the end of the compressed stream".to_string();
                    let e = Error::Decoding {
                        why,
                        truncated: false,
                    };
                    return Err(io::Error::new(io::ErrorKind::InvalidData, e));
                }
            }
        }
        Ok(())
    }
}

impl<R: Read> Read for Capped<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() {
            self.finish_body()?;
        }
        if let Some(left) = &mut self.left {
            *left = left
                .checked_sub(n as u64)
                .ok_or_else(|| io::Error::other(Error::FileTooLarge { limit: self.limit }))?;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn content_encoding_lists_parse_in_applied_order() {
        use Coding::*;
        let ok = |v: &str| parse_codings(v.as_bytes());
        assert_eq!(ok("gzip"), Ok(vec![Gzip]));
        assert_eq!(ok("X-GZIP"), Ok(vec![Gzip]));
        assert_eq!(ok("deflate, br"), Ok(vec![Deflate, Brotli]));
        assert_eq!(ok(" zstd ,identity,"), Ok(vec![Zstd]));
        assert_eq!(ok("identity"), Ok(vec![]));
        assert_eq!(ok(""), Ok(vec![]));
        assert!(ok("compress").is_err());
        assert!(ok("gzip, lzma").is_err());
        assert!(parse_codings(b"\xff").is_err());
    }

    #[test]
    fn zlib_headers_are_told_from_raw_deflate() {
        assert!(is_zlib_header(&[0x78, 0x9c]));
        assert!(is_zlib_header(&[0x78, 0x01]));
        assert!(is_zlib_header(&[0x78, 0xda]));
        assert!(!is_zlib_header(&[0x78, 0x9d]));
        assert!(!is_zlib_header(&[0xcb, 0x48]));
        assert!(!is_zlib_header(&[0x78]));
        assert!(!is_zlib_header(&[]));
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).expect("encode");
        e.finish().expect("finish")
    }

    fn read_all(r: &mut dyn Read) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        r.read_to_end(&mut out).map_err(Error::from)?;
        Ok(out)
    }

    /// Yields nothing but the crate's truncation error, as a short body does at its end.
    struct CutShort;
    impl Read for CutShort {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            let e = Error::Truncated {
                received: 1,
                expected: Some(2),
            };
            Err(io::Error::new(io::ErrorKind::UnexpectedEof, e))
        }
    }

    #[test]
    fn the_body_must_end_where_the_compressed_stream_ends() {
        let packed = gzip(b"complete stream");
        let mut r = decoded(packed.as_slice().chain(CutShort), &[Coding::Gzip], None).expect("r");
        assert_eq!(read_all(&mut r).map_err(|e| e.exit_code()), Err(18));
        // Bytes after the stream: gzip reads them as a next member, cut or bad.
        let trailing = [packed.as_slice(), b"junk"].concat();
        let mut r = decoded(trailing.as_slice(), &[Coding::Gzip], None).expect("r");
        assert!(read_all(&mut r).is_err());
        let br = {
            let mut out = Vec::new();
            let mut e = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
            e.write_all(b"complete stream").expect("br");
            drop(e);
            out
        };
        let mut r = decoded(br.as_slice().chain(CutShort), &[Coding::Brotli], None).expect("r");
        assert_eq!(read_all(&mut r).map_err(|e| e.exit_code()), Err(18));
        let mut r = decoded(br.as_slice(), &[Coding::Brotli], None).expect("r");
        assert_eq!(read_all(&mut r).expect("decodes"), b"complete stream");
    }

    #[test]
    fn every_coding_reports_a_cut_stream() {
        let data: Vec<u8> = (0..4000)
            .flat_map(|i| {
                format!("line {i}: the quick brown fox {}\n", i * 7919 % 1013).into_bytes()
            })
            .collect();
        let packed = [
            (Coding::Deflate, {
                let mut e = flate2::write::ZlibEncoder::new(Vec::new(), Default::default());
                e.write_all(&data).expect("encode");
                e.finish().expect("finish")
            }),
            (Coding::Deflate, {
                let mut e = flate2::write::DeflateEncoder::new(Vec::new(), Default::default());
                e.write_all(&data).expect("encode");
                e.finish().expect("finish")
            }),
            (Coding::Zstd, zstd::encode_all(&data[..], 3).expect("zstd")),
            (Coding::Brotli, {
                let mut out = Vec::new();
                let mut e = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
                e.write_all(&data).expect("br");
                drop(e);
                out
            }),
        ];
        for (coding, bytes) in packed {
            let cut = &bytes[..bytes.len() / 2];
            let mut r = decoded(cut, &[coding], None).expect("reader");
            let mut buf = vec![0u8; 128 * 1024];
            let mut got = Ok(0);
            loop {
                match r.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => got = got.map(|t| t + n),
                    Err(e) => {
                        got = Err(Error::from(e).exit_code());
                        break;
                    }
                }
            }
            assert_eq!(got, Err(18), "{coding:?}");
        }
    }

    #[test]
    fn decoding_undoes_codings_and_caps_the_decoded_size() {
        let data = vec![b'a'; 100_000];
        let packed = gzip(&data);
        let mut r = decoded(&packed[..], &[Coding::Gzip], None).expect("reader");
        assert_eq!(read_all(&mut r).expect("decodes"), data);
        let mut r = decoded(&packed[..], &[Coding::Gzip], Some(99_999)).expect("reader");
        assert_eq!(read_all(&mut r).map_err(|e| e.exit_code()), Err(63));
        let cut = &packed[..packed.len() / 2];
        let mut r = decoded(cut, &[Coding::Gzip], None).expect("reader");
        assert_eq!(read_all(&mut r).map_err(|e| e.exit_code()), Err(18));
        let mut junk = packed.clone();
        junk[20] ^= 0xff;
        junk[21] ^= 0xff;
        let mut r = decoded(&junk[..], &[Coding::Gzip], None).expect("reader");
        assert!(read_all(&mut r).is_err());
        let mut r = decoded(&b"not gzip at all"[..], &[Coding::Gzip], None).expect("reader");
        assert_eq!(read_all(&mut r).map_err(|e| e.exit_code()), Err(61));
    }
}
