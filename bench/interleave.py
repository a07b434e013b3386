#!/usr/bin/env python3
"""Run several commands in interleaved rounds and report, per command, the median wall time,
its range, the median CPU time (user + system, from wait4(2)) and the peak RSS. The RSS comes
from GNU time (`/usr/bin/time -f %M`) around each command: a child spawned straight from this
Python process would report Python's own pre-exec size as its peak.

    interleave.py ROUNDS PREPARE_CMD LABEL=CMD [LABEL=CMD ...] > results.json

PREPARE_CMD runs (through sh) before every measured run, e.g. to empty download folders; its
own time is not counted. Each round runs every command once, in an order rotated by the
round number, so a machine that slows down or speeds up during the run affects all equally.
A command that exits non-zero stops the benchmark: a failed transfer is not a fast one.
"""

import json
import os
import shlex
import statistics
import subprocess
import sys
import time


RSS_FILE = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"interleave-rss-{os.getpid()}")


def run_once(argv):
    wrapped = ["/usr/bin/time", "-f", "%M", "-o", RSS_FILE] + argv
    start = time.perf_counter()
    pid = os.posix_spawn(wrapped[0], wrapped, os.environ)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"interleave: {' '.join(argv)!r} exited {code}")
    with open(RSS_FILE) as f:
        rss_kib = int(f.read().split()[-1])
    # wait4's usage covers `time` and the command it waited for.
    return wall, usage.ru_utime + usage.ru_stime, rss_kib / 1024.0


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    rounds = int(sys.argv[1])
    prepare = sys.argv[2]
    commands = []
    for spec in sys.argv[3:]:
        label, _, cmd = spec.partition("=")
        commands.append((label, shlex.split(cmd)))
    samples = {label: [] for label, _ in commands}
    for r in range(rounds):
        order = commands[r % len(commands):] + commands[:r % len(commands)]
        for label, argv in order:
            if prepare:
                subprocess.run(prepare, shell=True, check=True)
            samples[label].append(run_once(argv))
            print(f"round {r + 1}/{rounds} {label}: {samples[label][-1][0]:.3f} s",
                  file=sys.stderr)
    out = {}
    for label, runs in samples.items():
        walls = [w for w, _, _ in runs]
        out[label] = {
            "median_s": statistics.median(walls),
            "min_s": min(walls),
            "max_s": max(walls),
            "cpu_s": statistics.median([c for _, c, _ in runs]),
            "rss_mib": max(m for _, _, m in runs),
            "runs": len(runs),
        }
    json.dump(out, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
