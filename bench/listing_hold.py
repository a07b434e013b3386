#!/usr/bin/env python3
"""Ask a loopback server for a huge directory listing on many connections that never read.

1. Reads the server's memory (VmRSS summed over every --pid) before anything: `before`.
2. Opens --conns connections with a small receive buffer, sends one GET for --path on each and
   reads nothing, then samples the server's RSS every 0.1 s for --hold seconds: `peak`.
3. Closes them all, waits --settle seconds and samples again: `after`.

Prints one JSON object on stdout (KiB figures). Plain HTTP only; loopback only.
"""

import argparse
import json
import socket
import time


def rss_kib(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--path", default="/big/")
    p.add_argument("--conns", type=int, default=50)
    p.add_argument("--hold", type=float, default=5.0)
    p.add_argument("--settle", type=float, default=3.0)
    p.add_argument("--pid", type=int, action="append", required=True)
    a = p.parse_args()

    before = rss_kib(a.pid)
    request = (
        f"GET {a.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/html\r\n\r\n"
    ).encode()
    socks = []
    for _ in range(a.conns):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # A small window: the client really does not take the listing in.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect(("127.0.0.1", a.port))
        s.sendall(request)
        socks.append(s)
    peak = before
    end = time.monotonic() + a.hold
    while time.monotonic() < end:
        peak = max(peak, rss_kib(a.pid))
        time.sleep(0.1)
    for s in socks:
        s.close()
    time.sleep(a.settle)
    after = rss_kib(a.pid)
    print(json.dumps({"conns": a.conns, "before_kib": before, "peak_kib": peak, "after_kib": after}))


if __name__ == "__main__":
    main()
