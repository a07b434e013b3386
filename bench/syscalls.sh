#!/usr/bin/env bash
# Syscalls per request of rawhttp, lighttpd and nginx under the same wrk load (issue 9): where
# a server's CPU per request goes that the CPU figures of serve.sh cannot show.
#
#   bench/syscalls.sh [1k|100k]     (default 100k)
#
# Each server in turn gets a 1 s wrk warm-up, then `strace -c -f` attached to it (and its
# workers) for a DURATION-second `wrk -t2 -c64` keep-alive run: calls and errors per request
# (errors are EAGAIN here). A second, 2 s run traces sendfile, writes and setsockopt in full
# for what the counts do not say: bytes per sendfile, EAGAIN per call kind, which socket
# options are set per request. strace slows every server alike (each syscall stops it), so
# the counts per request are meaningful, the rates are not, and a busy server's EAGAINs are
# rarer than without strace. A third run, without strace, counts context switches per request
# (voluntary: the server slept, e.g. in epoll_wait; involuntary: it was preempted) from
# /proc/PID/task/*/status, since the way a server batches requests per wake-up is what strace
# hides and what a quiet machine changes most.
#
# Environment: DURATION (seconds of the counted run, 5), RAWHTTP_BIN (skip the build),
# RAWHTTP_BEFORE_BIN (an older rawhttp, traced as one more server).
# Output: a markdown table on stdout, also in bench/out/syscalls.md; raw strace output in
# bench/out/syscalls-*.txt.

# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

SIZE=${1:-100k}
case $SIZE in 1k | 100k) ;; *) die "size must be 1k or 100k, got '$SIZE'" ;; esac
SECS=$(duration 5)
need strace strace
need wrk wrk
need curl curl
build_rawhttp
WWW=$OUT/www
make_file "$WWW/1k.bin" 1024
make_file "$WWW/100k.bin" 102400

start_rawhttp syscalls-rawhttp "$OUT/syscalls-rawhttp.log" --log off "$WWW"
URLS[rawhttp]=$RAWHTTP_URL PIDS[rawhttp]=$RAWHTTP_PID
SERVERS="rawhttp"
if [ -n "$BEFORE_BIN" ]; then
    start_before syscalls-before "$OUT/syscalls-before.log" --log off "$WWW"
    SERVERS+=" before"
fi
start_lighttpd syscalls-lighttpd "$WWW"
URLS[lighttpd]=http://127.0.0.1:$LIGHTTPD_PORT/ PIDS[lighttpd]=$LIGHTTPD_PID
start_nginx syscalls-nginx "$WWW" "" ""
URLS[nginx]=http://127.0.0.1:$NGINX_PORT/ PIDS[nginx]=$NGINX_PID
SERVERS+=" lighttpd nginx"
for srv in $SERVERS; do
    curl -sf --max-time 5 "${URLS[$srv]}$SIZE.bin" | cmp -s - "$WWW/$SIZE.bin" ||
        die "$srv does not serve $WWW/$SIZE.bin correctly"
done

# traced SERVER OUTFILE SECONDS STRACE_ARGS...: run wrk for SECONDS against SERVER with strace
# attached to all its processes; prints the number of requests wrk completed.
traced() {
    local srv=$1 out=$2 secs=$3 pids pargs=() p tracer st
    shift 3
    mapfile -t pids < <(with_children "${PIDS[$srv]}")
    for p in "${pids[@]}"; do pargs+=(-p "$p"); done
    strace -f -qq "$@" -o "$out" "${pargs[@]}" 2>>"$OUT/syscalls-strace.err" &
    tracer=$!
    # Attached once every process names a tracer (bounded: 10 s).
    for _ in $(seq 100); do
        st=0
        for p in "${pids[@]}"; do
            [ "$(awk '/^TracerPid:/ {print $2}' "/proc/$p/status")" != 0 ] || st=1
        done
        [ "$st" = 1 ] || break
        sleep 0.1
    done
    [ "$st" = 0 ] || die "strace did not attach to $srv (see $OUT/syscalls-strace.err)"
    run_wrk "$out.wrk" -t2 -c64 -d"${secs}s" "${URLS[$srv]}$SIZE.bin" >/dev/null
    kill -INT "$tracer" 2>/dev/null || true
    wait "$tracer" 2>/dev/null || true
    awk '/requests in/ {print $1}' "$out.wrk"
}

# per_request COUNT_FILE REQUESTS: "syscall calls/request errors/request" lines from strace -c.
per_request() {
    awk -v n="$2" '$1 ~ /^[0-9.]+$/ && $NF != "total" {
        err = (NF == 6) ? $5 : 0
        printf "%s %.2f %.2f\n", $NF, $4 / n, err / n }' "$1"
}

# details TRACE_FILE REQUESTS: extra rows from a full trace of sends and socket options.
details() {
    awk -v n="$2" '
        /sendfile/ && / = [0-9]+$/ { sf++; sfb += $NF }
        / = -1 EAGAIN/ { split($0, a, "("); k = a[1]; sub(/.* /, "", k); sub(/^<\.\.\. /, "", k); again[k]++ }
        /setsockopt\(/ { split($0, a, ", "); opt[a[3]]++ }
        END {
            printf "sendfile bytes per call (mean)|%s\n", sf ? sprintf("%.0f", sfb / sf) : "–"
            for (k in again) printf "EAGAIN from %s per request|%.2f\n", k, again[k] / n
            for (k in opt) printf "setsockopt %s per request|%.2f\n", k, opt[k] / n
        }' "$1"
}

# switches PIDS...: "voluntary involuntary" context switches so far, over all threads.
switches() {
    local p
    for p in "$@"; do cat "/proc/$p/task/"*/status 2>/dev/null; done |
        awk '/^voluntary_ctxt_switches/ {v += $2} /^nonvoluntary_ctxt_switches/ {i += $2}
            END {print v + 0, i + 0}'
}

# switch_rows SERVER: context switches per request under wrk without strace; sets CELL rows.
switch_rows() {
    local srv=$1 pids v0 i0 v1 i1 n
    mapfile -t pids < <(with_children "${PIDS[$srv]}")
    read -r v0 i0 < <(switches "${pids[@]}")
    run_wrk "$OUT/syscalls-$srv-switches.txt" -t2 -c64 -d"${SECS}s" "${URLS[$srv]}$SIZE.bin" >/dev/null
    read -r v1 i1 < <(switches "${pids[@]}")
    n=$(awk '/requests in/ {print $1}' "$OUT/syscalls-$srv-switches.txt")
    CELL[$srv,"voluntary context switches (no strace)"]=$(awk -v a=$((v1 - v0)) -v n="$n" 'BEGIN { printf "%.3f", a / n }')
    CELL[$srv,"involuntary context switches (no strace)"]=$(awk -v a=$((i1 - i0)) -v n="$n" 'BEGIN { printf "%.3f", a / n }')
}

declare -A CELL=()
NAMES=()
for srv in $SERVERS; do
    run_wrk "$OUT/syscalls-$srv-warmup.txt" -t2 -c64 -d1s "${URLS[$srv]}$SIZE.bin" >/dev/null
    n=$(traced "$srv" "$OUT/syscalls-$srv-count.txt" "$SECS" -c)
    [ "${n:-0}" -gt 0 ] || die "wrk completed no request against $srv under strace"
    total=0
    while read -r name calls errs; do
        [[ " ${NAMES[*]} " == *" $name "* ]] || NAMES+=("$name")
        CELL[$srv,$name]=$calls
        [ "$errs" = 0.00 ] || CELL[$srv,$name]="$calls ($errs err)"
        total=$(awk -v a="$total" -v b="$calls" 'BEGIN { printf "%.2f", a + b }')
    done < <(per_request "$OUT/syscalls-$srv-count.txt" "$n")
    CELL[$srv,total]=$total
    CELL[$srv,requests]=$n
    n=$(traced "$srv" "$OUT/syscalls-$srv-trace.txt" 2 -e trace=sendfile,sendto,sendmsg,write,writev,setsockopt -e signal=none)
    while IFS='|' read -r name v; do
        [[ " ${NAMES[*]} " == *" $name "* ]] || NAMES+=("$name")
        CELL[$srv,$name]=$v
    done < <(details "$OUT/syscalls-$srv-trace.txt" "$n")
    rm -f "$OUT/syscalls-$srv-trace.txt"
    switch_rows "$srv"
    note "$srv: ${CELL[$srv,total]} syscalls per request"
done
stop_all

{
    echo "### Syscalls per $SIZE request (strace -c -f, wrk -t2 -c64 -d${SECS}s keep-alive, loopback)"
    echo
    header="| per request |" rule="|---|"
    for srv in $SERVERS; do header+=" $srv |" rule+="---:|"; done
    echo "$header"
    echo "$rule"
    for name in requests total "${NAMES[@]}" "voluntary context switches (no strace)" \
        "involuntary context switches (no strace)"; do
        row="| $name |"
        for srv in $SERVERS; do row+=" ${CELL[$srv,$name]:-–} |"; done
        echo "$row"
    done
    echo
    machine_line "$(lighttpd -v 2>&1 | sed -n 's/^\(lighttpd\/[^ ]*\).*/\1/p'), $(nginx -v 2>&1 | sed 's/.*: //'), $(strace -V | head -1)${BEFORE_BIN:+; before: $BEFORE_BIN}"
} | tee "$OUT/syscalls.md"
