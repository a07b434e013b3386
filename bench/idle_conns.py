#!/usr/bin/env python3
"""Hold many idle keep-alive connections to a loopback HTTP server and check they stay served.

1. Opens --conns connections to 127.0.0.1:--port (at most --burst still connecting or waiting
   for their first answer at once, so the listen backlog never overflows), sends one keep-alive
   GET on each and reads the whole response (200 with a Content-Length).
2. Holds them all open for --hold seconds, then reads the server's memory from
   /proc/PID/status (VmRSS summed over every --pid, VmHWM likewise) while all are held.
3. Sends a second GET on every connection and counts those answered with 200.

Prints one JSON object on stdout; exits 1 when any connection was not served twice.
Plain HTTP only; loopback only.
"""

import argparse
import errno
import json
import resource
import selectors
import socket
import sys
import time


def raise_nofile(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= need:
        return
    if hard != resource.RLIM_INFINITY and hard < need:
        try:  # Only root may raise the hard limit.
            resource.setrlimit(resource.RLIMIT_NOFILE, (need, need))
            return
        except (ValueError, OSError):
            sys.exit(f"idle_conns: need {need} file descriptors, hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))


def proc_kib(pids, field):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith(field + ":"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


class Conn:
    """One client connection: bytes still to send, bytes received, answers counted."""

    def __init__(self, sock, request):
        self.sock = sock
        self.out = request
        self.inbuf = b""
        self.answers = 0
        self.failed = None


def response_length(buf):
    """Total length of the first complete response in buf, None if incomplete, or raise."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        if len(buf) > 65536:
            raise ValueError("response head over 64 KiB")
        return None
    lines = buf[:end].split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or parts[1] != b"200":
        raise ValueError(f"status line {lines[0][:80]!r}")
    length = None
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value.strip())
        elif name == b"connection" and b"close" in value.lower():
            raise ValueError("server asked to close the connection")
    if length is None:
        raise ValueError("no Content-Length")
    total = end + 4 + length
    return total if len(buf) >= total else None


def on_event(sel, conn, mask):
    """Advance one connection; returns True when it just completed an answer."""
    if conn.out and mask & selectors.EVENT_WRITE:
        err = conn.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            raise OSError(err, f"connect: {errno.errorcode.get(err, err)}")
        sent = conn.sock.send(conn.out)
        conn.out = conn.out[sent:]
        if not conn.out:
            sel.modify(conn.sock, selectors.EVENT_READ, conn)
        return False
    if mask & selectors.EVENT_READ:
        data = conn.sock.recv(65536)
        if not data:
            raise ValueError("server closed the connection")
        conn.inbuf += data
        total = response_length(conn.inbuf)
        if total is not None:
            if len(conn.inbuf) > total:
                raise ValueError("extra bytes after the response")
            conn.inbuf = b""
            conn.answers += 1
            sel.unregister(conn.sock)
            return True
    return False


def pump(sel, pending, deadline, target=0):
    """Run the selector until at most `target` connections are pending or the deadline passes."""
    while len(pending) > target and time.monotonic() < deadline:
        for key, mask in sel.select(timeout=0.5):
            conn = key.data
            try:
                if on_event(sel, conn, mask):
                    pending.discard(conn)
            except (OSError, ValueError) as e:
                conn.failed = str(e)
                sel.unregister(conn.sock)
                pending.discard(conn)


def open_all(args, request, deadline):
    sel = selectors.DefaultSelector()
    conns, pending = [], set()
    while len(conns) < args.conns and time.monotonic() < deadline:
        while len(pending) < args.burst and len(conns) < args.conns:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setblocking(False)
            sock.connect_ex(("127.0.0.1", args.port))
            conn = Conn(sock, request)
            sel.register(sock, selectors.EVENT_WRITE, conn)
            conns.append(conn)
            pending.add(conn)
        # Refill as soon as earlier connections have their first answer.
        pump(sel, pending, deadline, target=len(pending) - 1)
    pump(sel, pending, deadline)
    return sel, conns


def second_round(sel, conns, request, deadline):
    pending = set()
    for conn in conns:
        if conn.failed is None:
            conn.out = request
            sel.register(conn.sock, selectors.EVENT_WRITE, conn)
            pending.add(conn)
    pump(sel, pending, deadline)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--path", default="/1k.bin")
    p.add_argument("--conns", type=int, default=10000)
    p.add_argument("--burst", type=int, default=256)
    p.add_argument("--hold", type=float, default=2.0)
    p.add_argument("--timeout", type=float, default=45.0, help="seconds per phase")
    p.add_argument("--pid", type=int, action="append", default=[])
    args = p.parse_args()
    raise_nofile(args.conns + 64)
    request = f"GET {args.path} HTTP/1.1\r\nHost: 127.0.0.1:{args.port}\r\n\r\n".encode()

    start = time.monotonic()
    sel, conns = open_all(args, request, start + args.timeout)
    opened = time.monotonic() - start
    first = sum(1 for c in conns if c.answers == 1)
    time.sleep(args.hold)  # Idle on purpose: the point is connections that send nothing.
    rss, hwm = proc_kib(args.pid, "VmRSS"), proc_kib(args.pid, "VmHWM")
    second_round(sel, conns, request, time.monotonic() + args.timeout)
    second = sum(1 for c in conns if c.answers == 2)
    errors = {}
    for c in conns:
        if c.failed is not None or c.answers < 2:
            reason = c.failed or "no answer before the deadline"
            errors[reason] = errors.get(reason, 0) + 1
    print(json.dumps({
        "conns": args.conns, "first_ok": first, "second_ok": second,
        "open_seconds": round(opened, 2), "rss_kib": rss, "hwm_kib": hwm,
        "errors": dict(sorted(errors.items(), key=lambda kv: -kv[1])[:5]),
    }))
    for c in conns:
        c.sock.close()
    return 0 if second == args.conns else 1


if __name__ == "__main__":
    sys.exit(main())
