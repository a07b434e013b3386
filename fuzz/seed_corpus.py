#!/usr/bin/env python3
"""Write the seed inputs (taken from the unit-test tables in src/) into fuzz/corpus/<target>/.

Each seed carries the control prefix its target expects (see the target's doc comment).
Run from anywhere: python3 fuzz/seed_corpus.py. Existing files with the same names are
overwritten; fuzzer-found entries are left alone.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

RESPONSES = [
    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b c\r\n\r\n",
    b"HTTP/1.0 404 Not Found\r\n\r\n",
    b"HTTP/1.1 204\r\nDate: x\r\n\r\n",
    b"HTTP/1.1 200 OK\nContent-Length: 5\n\n",
    b"HTTP/1.1 999 Whatever\r\nA:\r\n\r\n",
    b"\r\nHTTP/1.1 100 Continue\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nA: b\r\n folded\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nA : b\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nA: b\x00c\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1",
]

REQUESTS = [
    b"GET /a/b?c=d HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\nX-Empty:\r\n"
    b"X-Ows: \t v a l \t\r\n\r\n",
    b"GET / HTTP/1.0\r\n\r\n",
    b"OPTIONS * HTTP/1.1\r\nHost: a:80\r\n\r\n",
    b"GET http://a/b HTTP/1.1\r\nHost: a\r\n\r\n",
    b"\r\n\r\nPOST /%41 HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n",
    b"GET / HTTP/1.1\r\nhOsT: a\r\nX: \xff\xfe obs-text\r\n\r\n",
    b"POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
    b"POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\nhello",
    b"GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n 2\r\n\r\n",
    b"GET /a HTTP/2.0\r\n",
]

# (method pick, status, [(name pick, value)]): name picks index the target's NAMES table
# (0 Content-Length, 2 Transfer-Encoding, 4 Host, 5 X-Other).
FRAMINGS = [
    (0, 200, [(0, b"5")]),
    (0, 200, [(0, b" 5 "), (1, b"5, 5")]),
    (0, 200, [(0, b"5"), (1, b"6")]),
    (0, 200, [(0, b"+5")]),
    (0, 200, [(0, b"18446744073709551616")]),
    (0, 200, [(2, b"gzip, chunked"), (0, b"5")]),
    (0, 200, [(2, b"chunked, gzip")]),
    (0, 200, [(3, b"chunked;q=1, ,")]),
    (1, 200, [(0, b"5")]),
    (0, 304, [(0, b"5")]),
    (0, 101, []),
    (3, 200, [(5, b"x"), (4, b"a")]),
]

CHUNKED = [
    b"0\r\n\r\n",
    b"5\r\nhello\r\n0\r\n\r\n",
    b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
    b"a\r\n0123456789\r\n00\r\n\r\n",
    b"5;name=value\r\nhello\r\n0;last\r\n\r\n",
    b"5 ; a=\"b c\"\r\nhello\r\n0\r\n\r\n",
    b"3\r\n\r\n\r\r\n0\r\n\r\n",
    b"5\r\nhello\r\n0\r\nExpires: never\r\nX-Sum: abc\r\n\r\n",
    b"3\r\nabc\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n",
    b"FFFFFFFFFFFFFFFF\r\nabc",
    b"5\r\nhello\n0\r\n\r\n",
    b"0\r\nX : y\r\n\r\n",
]
CHUNK_STEPS = [b"", b"\x01\x01", b"\x01\x0f\x0f\x01", b"\x02\x03\x07\x02", b"\x00\x05\x03\x00"]

RANGES = [
    b"bytes=0-499",
    b"bytes=-500",
    b"bytes=9500-",
    b"bytes=0-0,-1",
    b"bytes=500-600,601-999",
    b"bytes=0-,0-,0-",
    b"BYTES = 1-2",
    b"items=0-5",
    b"bytes=5-1",
    b"bytes=,, 1-2 ,",
    b"bytes 0-499/1234",
    b"bytes */1234",
    b"bytes 0-0/*",
    b"bytes 0-18446744073709551614/*",
]

TARGETS = [
    b"/", b"/index.html", b"/a/b.txt?x=1&y=../..", b"/dir/", b"/a%20b", b"/caf%C3%A9",
    b"/a/./b", b"/a/b/../c", b"/a//b", b"/...", b"/%2525", b"http://host/x/y",
    b"HTTPS://host:8443/x?q", b"http://host?q=1", b"/%2e%2e/etc/passwd", b"/.%2e/x",
    b"/%252e%252e/etc/passwd", b"/..%2f..%2fetc/passwd", b"/%5c..", b"/%00", b"/%c0%ae",
    b"http://../../etc/passwd", b"//etc/passwd", b"*", b"/.git/../index.html", b"/.env",
]

# chunked_codec: (cut lengths - 1, (piece, room) nibble pairs, body, trailer text).
CODEC = [
    (b"", b"", b"", b""),
    (b"\x04", b"\x11", b"hello world", b""),
    (b"\x00\x01", b"\x3f\xf1\x00", b"\r\n0\r\n\r\n" * 3, b"X-Sum:abc\nExpires:never"),
    (b"\xff", b"", bytes(range(256)) * 2, b"A:b c\nB:\n"),
    (b"\x01", b"\x21", b"abc", b"Bad Name:x\nX: padded "),
]

# headers: (op, name pick, value) triples; op % 3: push, set, remove; op >> 5: value length.
HEADER_OPS = [
    [(0, 0, b""), (0 | 4 << 5, 1, b"keep"), (1 | 5 << 5, 2, b"close"), (2, 0, b"")],
    [(0 | 1 << 5, 3, b"1"), (0 | 1 << 5, 5, b"5"), (0 | 1 << 5, 4, b"2"), (1 | 1 << 5, 3, b"3")],
    [(0 | 7 << 5, 0, b" a , B\t"), (0 | 1 << 5, 0, b","), (2, 7, b"")],
]

SYNTAX = [
    b"", b"GET", b"!#$%&'*+-.^_`|~", b" \t a b \t", b"18446744073709551615",
    b"18446744073709551616", b"+5", b"%41%2f%g1%4", b"%+1", b"\x00\x7f\x80\xff\t ",
]

# names: (pick, argument): 0 sanitize, 1 Content-Disposition value, 2 URL.
NAMES = [
    (0, b"../../etc/passwd"), (0, b"a\\b\\..\\c.txt"), (0, b" \x01 . "), (0, "caf\u00e9".encode() * 90),
    (1, b"attachment; filename=\"a\\\"b.txt\""), (1, b"attachment; filename*=UTF-8''%e2%82%ac.txt"),
    (1, b"attachment; filename=\"..\\..\\.bashrc\"; filename*=iso-8859-1'en'%A3.txt"),
    (1, b"inline; filename=.hidden"), (2, b"http://h/dir/na%20me.txt?q=1"), (2, b"http://h/"),
    (2, b"https://h/a/%2e%2e"), (2, b"data:text/plain,hi"),
]

# proxy: port (2 bytes), no_proxy list, 0xFF, host, 0xFF, proxy spec.
PROXIES = [
    (80, b"example.com, .org,10.0.0.0/8,[::1]:8080", b"www.example.com", b"http://u:p@proxy:3128"),
    (8080, b"*", b"[::1]", b"proxy"),
    (80, b"localhost", b"127.0.0.1", b"socks5://h"),
]

# writeout: format, 0xFF, URL, 0xFF, error message.
WRITEOUTS = [
    b"%{http_code}\\n", b"%{json}", b"%{bogus}", b"%{", b"100%%\\n\\t\\\\ \\x",
    b"%{url_effective} %{filename_effective}\xffhttp://h/\"q\\\xff\"err\\\x00\xed\xa0\x80",
    b"%{size_download}%{time_total}%{verdict}%{sha256}%{retries}%{resumed_from}%{connection_reused}",
]

# retry_after: clock (8 bytes LE), retry number, jitter byte, then the field value.
RETRY_AFTERS = [
    b"120", b"Sun, 06 Nov 1994 08:49:37 GMT", b"Wed, 21 Oct 2015 07:28:00 GMT",
    b"Sunday, 06-Nov-94 08:49:37 GMT", b"Sun Nov  6 08:49:37 1994", b"18446744073709551616",
    b" 5 ", b"-1", b"",
]

# input_line: one --input-file line.
INPUT_LINES = [
    b"http://a/x out.txt", b"# comment", b"", b"  http://a\t name with space ", b"\t",
    b"http://a/#frag", b"\xef\xbb\xbfhttp://bom/",
]

# preconditions: method, mtime (4 bytes), length (2 bytes), ETag pick, then `\n`-separated
# fields whose first byte picks the name (0 If-Match, 1 If-Unmodified-Since, 2 If-None-Match,
# 3 If-Modified-Since, 4 Range, 5 If-Range, 6 X-Other).
PRECONDITIONS = [
    (0, [(0, b'"abc"')]), (1, [(2, b'W/"abc", "z"')]), (0, [(2, b"*"), (4, b"bytes=0-1")]),
    (0, [(3, b"Sun, 06 Nov 1994 08:49:37 GMT")]),
    (0, [(1, b"Sun, 06 Nov 1994 08:49:37 GMT"), (1, b"x")]),
    (0, [(4, b"bytes=0-0,5-"), (5, b'"abc"')]),
    (0, [(4, b"bytes=0-0"), (5, b"Sun, 06 Nov 1994 08:49:37 GMT")]), (3, [(2, b'"abc"')]),
]


def precondition(method, fields):
    head = bytes([method]) + struct.pack(">I", 784111777) + struct.pack(">H", 100) + b"\x00"
    return head + b"\n".join(bytes([n]) + v for n, v in fields)


# Minimised inputs of past crashes: each must stay fixed (run.sh replays the corpus).
REGRESSIONS = {
    # F1: parse_content_range overflowed computing the span length of last = u64::MAX.
    ("range", "regress-content-range-overflow"):
        b"\x00" + struct.pack(">H", 10000) + b"bytes 0-18446744073709551615/*",
    ("range", "regress-content-range-end"):
        b"\x00" + struct.pack(">H", 10000) + b"bytes 5-18446744073709551615/*",
    # F2: sanitize cut a long name at NAME_MAX inside blanks and kept a trailing space.
    ("names", "regress-name-blank-at-cut"): b"\x00" + b"a" * 249 + b"  b",
    # F3: only the first If-Match line was read; a later line naming our tag still gave 412.
    ("preconditions", "regress-if-match-lines"): precondition(0, [(0, b'"x"'), (0, b'"abc"')]),
}


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main():
    for i, r in enumerate(RESPONSES):
        write("response_head", f"seed-{i}", b"\xff\xff" + r)  # default caps
        write("response_head", f"seed-small-{i}", bytes([24, 2]) + r)
    for i, r in enumerate(REQUESTS):
        write("request_head", f"seed-{i}", r)
    for i, (m, status, fields) in enumerate(FRAMINGS):
        body = b"\n".join(bytes([n]) + v for n, v in fields)
        write("framing", f"seed-{i}", bytes([m]) + struct.pack(">H", status) + body)
    for i, c in enumerate(CHUNKED):
        for j, steps in enumerate(CHUNK_STEPS):
            write("chunked", f"seed-{i}-{j}", bytes([len(steps)]) + steps + c)
    for i, r in enumerate(RANGES):
        write("range", f"seed-{i}", b"\x00" + struct.pack(">H", 10000) + r)
        write("range", f"seed-big-{i}", b"\x01" + struct.pack(">Q", 2**64 - 1) + r)
    for i, t in enumerate(TARGETS):
        write("files", f"seed-{i}", bytes([i % 2]) + t)
    for i, (cuts, steps, body, trailers) in enumerate(CODEC):
        data = bytes([len(cuts), len(steps)]) + cuts + steps + body
        write("chunked_codec", f"seed-{i}", data + (b"\xff" + trailers if trailers else b""))
    for i, ops in enumerate(HEADER_OPS):
        write("headers", f"seed-{i}", b"".join(bytes([op, pick]) + v for op, pick, v in ops))
    for i, s in enumerate(SYNTAX):
        write("syntax", f"seed-{i}", s)
    for i, (pick, arg) in enumerate(NAMES):
        write("names", f"seed-{i}", bytes([pick]) + arg)
    for i, (port, no_proxy, host, spec) in enumerate(PROXIES):
        write("proxy", f"seed-{i}", struct.pack(">H", port) + no_proxy + b"\xff" + host + b"\xff" + spec)
    for i, w in enumerate(WRITEOUTS):
        write("writeout", f"seed-{i}", w)
    for i, v in enumerate(RETRY_AFTERS):
        clock = struct.pack("<Q", 1_700_000_000 + 86400 * 365 * (i % 3))
        write("retry_after", f"seed-{i}", clock + bytes([i, 128]) + v)
    for i, line in enumerate(INPUT_LINES):
        write("input_line", f"seed-{i}", line)
    for i, (method, fields) in enumerate(PRECONDITIONS):
        write("preconditions", f"seed-{i}", precondition(method, fields))
    for (target, name), data in REGRESSIONS.items():
        write(target, name, data)


if __name__ == "__main__":
    main()
