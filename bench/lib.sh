# shellcheck shell=bash
# shellcheck disable=SC2034 # URLS, RESULT and WRK_ARGS are shared with the scripts.
# Shared helpers for the bench/*.sh scripts: sourced, never run on its own.
#
# Every script measures rawhttp against its peers in the SAME run (ratios, not absolute figures),
# binds only to 127.0.0.1, picks free ports at run time, and stops every server it started from
# an EXIT trap. Raw tool output goes to bench/out/ (gitignored).

set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
OUT=${BENCH_OUT:-$BENCH_DIR/out}
mkdir -p "$OUT"

# PIDs of every background server this script started; stopped by `stop_all` on exit.
BENCH_PIDS=()
# Read ends of ready-line fifos kept open so servers never get SIGPIPE on stdout.
BENCH_FDS=()

die() {
    echo "bench: $*" >&2
    exit 1
}

note() {
    echo "bench: $*" >&2
}

# need CMD PACKAGE...: install PACKAGE(s) with apt-get when CMD is missing.
need() {
    local cmd=$1
    shift
    command -v "$cmd" >/dev/null 2>&1 && return 0
    note "$cmd missing: installing $* with apt-get"
    local sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    command -v apt-get >/dev/null 2>&1 || die "$cmd is missing and apt-get is not available: install $* by hand"
    "${sudo[@]}" apt-get update -qq >/dev/null || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "$@" >/dev/null ||
        die "apt-get install $* failed"
    command -v "$cmd" >/dev/null 2>&1 || die "$cmd still missing after installing $*"
}

# nginx and lighttpd live in sbin, which a non-root PATH may lack.
PATH=$PATH:/usr/sbin:/sbin

# free_port: print a TCP port on 127.0.0.1 that was free a moment ago (for peers that cannot
# bind port 0 and report it; rawhttp itself uses -p 0 and its ready line).
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# duration: seconds for each wrk run (DURATION env, default given as $1).
duration() {
    local d=${DURATION:-$1}
    case $d in '' | *[!0-9]*) die "DURATION must be whole seconds, got '$d'" ;; esac
    echo "$d"
}

# build_rawhttp: build the release binary (skipped when RAWHTTP_BIN points at one) and set BIN.
build_rawhttp() {
    if [ -n "${RAWHTTP_BIN:-}" ]; then
        BIN=$RAWHTTP_BIN
    else
        command -v cargo >/dev/null 2>&1 ||
            die "cargo is missing: install Rust with rustup (https://rustup.rs), or set RAWHTTP_BIN"
        note "cargo build --release"
        (cd "$ROOT" && cargo build --release --quiet) || die "cargo build --release failed"
        BIN=$ROOT/target/release/rawhttp
    fi
    [ -x "$BIN" ] || die "rawhttp binary not found at $BIN"
}

stop_all() {
    local pid
    for pid in "${BENCH_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${BENCH_PIDS[@]}"; do
        # Bounded: a server that ignores SIGTERM for 6 s is killed.
        for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    BENCH_PIDS=()
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# stop_pid PID: stop one server started by this script (and forget it).
stop_pid() {
    local pid=$1 keep=() p
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    for p in "${BENCH_PIDS[@]}"; do [ "$p" = "$pid" ] || keep+=("$p"); done
    BENCH_PIDS=("${keep[@]}")
}

# wait_port PORT PID NAME: wait (at most 10 s) until PORT accepts connections.
wait_port() {
    local port=$1 pid=$2 name=$3
    for _ in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || die "$name exited during start-up (see $OUT/$name.err)"
        if python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1",int(sys.argv[1])),1).close()' "$port" 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    die "$name did not listen on 127.0.0.1:$port within 10 s"
}

# start_rawhttp NAME STDERR_FILE ARGS...: start `rawhttp serve -p 0 ARGS...`, wait for its ready
# line (`serving DIR at URL`) and set RAWHTTP_URL and RAWHTTP_PID.
start_rawhttp() {
    local name=$1 errfile=$2 fifo line fd
    shift 2
    fifo=$OUT/$name.ready
    rm -f "$fifo"
    mkfifo "$fifo"
    "$BIN" serve -p 0 "$@" >"$fifo" 2>"$errfile" &
    RAWHTTP_PID=$!
    BENCH_PIDS+=("$RAWHTTP_PID")
    exec {fd}<"$fifo"
    BENCH_FDS+=("$fd")
    rm -f "$fifo"
    if ! IFS= read -r -t 15 -u "$fd" line; then
        local why="printed no ready line within 15 s"
        kill -0 "$RAWHTTP_PID" 2>/dev/null || why="exited before its ready line"
        die "$name: '$BIN serve -p 0 $*' $why (stderr: $(tail -c 300 "$errfile" 2>/dev/null))"
    fi
    RAWHTTP_URL=${line##* at }
    case $RAWHTTP_URL in
    http://127.0.0.1:*/ | https://127.0.0.1:*/) ;;
    *) die "$name: unexpected ready line: $line" ;;
    esac
    note "$name ready at $RAWHTTP_URL (pid $RAWHTTP_PID)"
}

# make_file PATH BYTES: a file of BYTES random bytes (kept when it already has that size).
make_file() {
    local path=$1 bytes=$2
    if [ -f "$path" ] && [ "$(stat -c %s "$path")" -eq "$bytes" ]; then
        return 0
    fi
    mkdir -p "$(dirname "$path")"
    head -c "$bytes" /dev/urandom >"$path.tmp"
    mv "$path.tmp" "$path"
}

# make_certs: an ECDSA P-256 CA and a leaf for localhost/127.0.0.1/::1 signed by it, in
# $OUT/tls: ca.pem (what clients trust), leaf.pem (leaf + CA chain), leaf.key (PKCS#8).
make_certs() {
    local d=$OUT/tls
    CA_PEM=$d/ca.pem
    LEAF_PEM=$d/leaf.pem
    LEAF_KEY=$d/leaf.key
    [ -s "$CA_PEM" ] && [ -s "$LEAF_PEM" ] && [ -s "$LEAF_KEY" ] && return 0
    need openssl openssl
    mkdir -p "$d"
    (
        cd "$d"
        openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ca.key 2>/dev/null
        openssl req -x509 -new -key ca.key -sha256 -days 30 -subj "/CN=rawhttp bench CA" \
            -addext "basicConstraints=critical,CA:TRUE" \
            -addext "keyUsage=critical,keyCertSign,cRLSign" -out ca.pem 2>/dev/null
        openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out leaf.key 2>/dev/null
        openssl req -new -key leaf.key -subj "/CN=localhost" -out leaf.csr 2>/dev/null
        printf '%s\n' "basicConstraints=critical,CA:FALSE" \
            "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" \
            "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" >leaf.ext
        openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
            -sha256 -extfile leaf.ext -out leaf.crt 2>/dev/null
        cat leaf.crt ca.pem >leaf.pem
    ) || die "making the ECDSA P-256 test certificates with openssl failed"
}

# start_nginx NAME ROOT_DIR LISTEN_EXTRA SERVER_EXTRA: a tuned nginx serving ROOT_DIR on a free
# port; sets NGINX_PORT and NGINX_PID (the master; workers are its children).
start_nginx() {
    local name=$1 root=$2 listen_extra=$3 server_extra=$4 d user=""
    need nginx nginx
    d=$OUT/$name
    mkdir -p "$d/logs" "$d/tmp"
    NGINX_PORT=$(free_port)
    # As root, workers would switch to nobody and might not read bench/out; keep them root.
    [ "$(id -u)" -eq 0 ] && user="user root root;"
    cat >"$d/nginx.conf" <<EOF
$user
worker_processes auto;
worker_rlimit_nofile 20000;
pid $d/nginx.pid;
error_log $d/logs/error.log warn;
events {
    worker_connections 20000;
    use epoll;
}
http {
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    access_log off;
    open_file_cache max=1000 inactive=60s;
    open_file_cache_valid 60s;
    keepalive_requests 10000000;
    keepalive_timeout 75s;
    client_body_temp_path $d/tmp/body;
    proxy_temp_path $d/tmp/proxy;
    fastcgi_temp_path $d/tmp/fastcgi;
    uwsgi_temp_path $d/tmp/uwsgi;
    scgi_temp_path $d/tmp/scgi;
    server {
        listen 127.0.0.1:$NGINX_PORT $listen_extra;
        root $root;
        $server_extra
    }
}
EOF
    nginx -t -q -p "$d" -c "$d/nginx.conf" -e "$d/logs/error.log" 2>"$OUT/$name.err" ||
        die "$name: nginx -t rejected $d/nginx.conf: $(cat "$OUT/$name.err")"
    nginx -p "$d" -c "$d/nginx.conf" -e "$d/logs/error.log" -g 'daemon off;' 2>>"$OUT/$name.err" &
    NGINX_PID=$!
    BENCH_PIDS+=("$NGINX_PID")
    wait_port "$NGINX_PORT" "$NGINX_PID" "$name"
    note "$name ready at 127.0.0.1:$NGINX_PORT (pid $NGINX_PID)"
}

# start_lighttpd NAME ROOT_DIR: a tuned lighttpd serving ROOT_DIR on a free port; sets
# LIGHTTPD_PORT and LIGHTTPD_PID.
start_lighttpd() {
    local name=$1 root=$2 d
    need lighttpd lighttpd
    d=$OUT/$name
    mkdir -p "$d"
    LIGHTTPD_PORT=$(free_port)
    cat >"$d/lighttpd.conf" <<EOF
server.document-root = "$root"
server.bind = "127.0.0.1"
server.port = $LIGHTTPD_PORT
server.pid-file = "$d/lighttpd.pid"
server.errorlog = "$d/error.log"
server.event-handler = "linux-sysepoll"
server.network-backend = "sendfile"
server.max-fds = 20000
server.max-connections = 16384
server.max-keep-alive-requests = 65535
server.max-keep-alive-idle = 75
server.stat-cache-engine = "simple"
server.modules = ( "mod_staticfile" )
mimetype.assign = ( "" => "application/octet-stream" )
EOF
    lighttpd -tt -f "$d/lighttpd.conf" >"$OUT/$name.err" 2>&1 ||
        die "$name: lighttpd -tt rejected $d/lighttpd.conf: $(cat "$OUT/$name.err")"
    lighttpd -D -f "$d/lighttpd.conf" 2>>"$OUT/$name.err" &
    LIGHTTPD_PID=$!
    BENCH_PIDS+=("$LIGHTTPD_PID")
    wait_port "$LIGHTTPD_PORT" "$LIGHTTPD_PID" "$name"
    note "$name ready at 127.0.0.1:$LIGHTTPD_PORT (pid $LIGHTTPD_PID)"
}

# run_wrk OUTFILE WRK_ARGS...: run wrk (bounded by its -d), save its output, print req/s.
# Fails loudly when wrk reports socket errors or non-2xx/3xx answers, since such a figure would
# not be comparable.
run_wrk() {
    local outfile=$1 rps
    shift
    need wrk wrk
    wrk "$@" >"$outfile" 2>&1 || die "wrk $* failed: $(tail -n 3 "$outfile")"
    rps=$(awk '/^Requests\/sec:/ {print $2}' "$outfile")
    [ -n "$rps" ] || die "no Requests/sec in wrk output $outfile"
    if grep -q 'Non-2xx or 3xx responses' "$outfile"; then
        die "wrk $* got error answers: $(grep 'Non-2xx' "$outfile") (see $outfile)"
    fi
    if grep -q 'Socket errors' "$outfile"; then
        note "wrk $*: $(grep 'Socket errors' "$outfile" | sed 's/^ *//') (see $outfile)"
    fi
    printf '%.0f\n' "$rps"
}

# median N...: the median of numbers (the lower middle for an even count).
median() {
    printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

# ratio A B: A/B with two decimals ("n/a" when B is zero or empty).
ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (b+0 == 0) print "n/a"; else printf "%.2f\n", a/b }'
}

# verdict RATIO OP TARGET: "PASS" or "FAIL" for RATIO >= TARGET (OP ge) or <= TARGET (OP le).
verdict() {
    awk -v r="$1" -v op="$2" -v t="$3" 'BEGIN {
        if (r == "n/a") { print "n/a"; exit }
        ok = (op == "ge") ? (r + 0 >= t + 0) : (r + 0 <= t + 0)
        print ok ? "PASS" : "FAIL" }'
}

# machine_line: one line describing where the figures come from.
machine_line() {
    local rev
    if [ -n "${RAWHTTP_BIN:-}" ]; then
        rev="binary $RAWHTTP_BIN"
    else
        rev=$(cd "$ROOT" && git describe --always --dirty 2>/dev/null || echo unknown)
    fi
    echo "_$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(uname -sr), rawhttp $rev; $*_"
}

# rss_kib PID...: sum of VmRSS (KiB) of the given processes.
rss_kib() {
    local total=0 pid v
    for pid in "$@"; do
        v=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
        total=$((total + ${v:-0}))
    done
    echo "$total"
}

# with_children PID: PID and its direct children (nginx master + workers).
with_children() {
    local pid=$1
    echo "$pid"
    cat "/proc/$pid/task/"*/children 2>/dev/null | tr ' ' '\n' | grep -E '^[0-9]+$' || true
}

# Base URL and PID per server name (set by the scripts), and wrk_compare's medians: req/s in
# RESULT, server CPU microseconds per request in CPU_US; their ranges over the rounds ("min–max")
# in RESULT_RANGE and CPU_RANGE.
declare -A URLS=() PIDS=() RESULT=() CPU_US=() RESULT_RANGE=() CPU_RANGE=()

# BEFORE_BIN: RAWHTTP_BEFORE_BIN, an older rawhttp binary measured as one more server ("before")
# in the same interleaved rounds, so a change is judged against the same load; empty when unset.
BEFORE_BIN=${RAWHTTP_BEFORE_BIN:-}
if [ -n "$BEFORE_BIN" ]; then
    [ -x "$BEFORE_BIN" ] || die "RAWHTTP_BEFORE_BIN=$BEFORE_BIN is not an executable file"
fi

# start_before NAME STDERR_FILE ARGS...: start_rawhttp with the before binary; registers it as
# server "before" (URLS, PIDS).
start_before() {
    local bin=$BIN
    BIN=$BEFORE_BIN
    start_rawhttp "$@"
    BIN=$bin
    URLS[before]=$RAWHTTP_URL PIDS[before]=$RAWHTTP_PID
}

# before_label: how the before binary is named in tables ("before (path)").
before_label() {
    echo "rawhttp before ($(basename "$BEFORE_BIN"))"
}

# PAD_FULL=CELLS pad_cells "AT:N ..." ROW...: print markdown table rows; a row with fewer than
# CELLS cells (one from a part with no value for some columns, e.g. the before binary's) gets
# N "–" cells inserted after its own AT-th cell for each pair, so it lines up with the header.
pad_cells() {
    local spec=$1
    shift
    printf '%s\n' "$@" | awk -F'|' -v spec="$spec" -v full="${PAD_FULL:-0}" '{
        n = NF - 2
        if (n >= full) { print; next }
        split(spec, pairs, " ")
        delete add
        for (p in pairs) { split(pairs[p], kv, ":"); add[kv[1]] = kv[2] }
        line = "|"
        for (i = 2; i < NF; i++) {
            line = line $i "|"
            for (k = 0; k < add[i - 1]; k++) line = line " – |"
        }
        print line }'
}

# range N...: "min–max" of numbers.
range() {
    printf '%s\n' "$@" | sort -g | awk 'NR == 1 {lo = $1} {hi = $1} END {print lo "–" hi}'
}

# cell SERVER [cpu]: a table cell, the median req/s (or CPU µs per request) of SERVER, with its
# range over the rounds when there was more than one.
cell() {
    local v=${RESULT[$1]} r=${RESULT_RANGE[$1]}
    [ "${2:-}" != cpu ] || v=${CPU_US[$1]} r=${CPU_RANGE[$1]}
    if [ "${ROUNDS:-1}" -gt 1 ]; then echo "$v ($r)"; else echo "$v"; fi
}

# cpu_ticks PID...: user + system clock ticks used so far by the given processes (all threads).
cpu_ticks() {
    local total=0 pid v
    for pid in "$@"; do
        # Fields after the ")" that ends the command name: utime is the 12th, stime the 13th.
        v=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | awk '{print $12 + $13}') || v=0
        total=$((total + ${v:-0}))
    done
    echo "$total"
}

# cpu_us_per_request TICKS WRK_OUTPUT: server CPU microseconds per request of one wrk run.
cpu_us_per_request() {
    local n
    n=$(awk '/requests in/ {print $1}' "$2")
    awk -v t="$1" -v n="${n:-0}" -v hz="$(getconf CLK_TCK)" \
        'BEGIN { if (n + 0 == 0) print 0; else printf "%.1f\n", t * 1000000 / hz / n }'
}

# wrk_compare TAG PATH "SERVER..." [WRK_OPTION...]: for ROUNDS rounds, run wrk on every SERVER
# in turn (interleaved, so drift hits all alike) against ${URLS[SERVER]}PATH with WRK_ARGS
# (plus the extra options), after a 1 s unmeasured warm-up each; sets RESULT[SERVER] to the
# median req/s and CPU_US[SERVER] to the median server CPU time per request (from
# /proc/PID/stat of the server and its child processes, so less sensitive than req/s to other
# load on the machine). Raw output: $OUT/TAG-SERVER-ROUND.txt.
wrk_compare() {
    local tag=$1 path=$2 servers=$3 round srv f before pids
    shift 3
    local -A runs=() cpu=()
    for round in $(seq "${ROUNDS:-1}"); do
        for srv in $servers; do
            f=$OUT/$tag-$srv-$round.txt
            [ "$round" -gt 1 ] ||
                run_wrk "$f.warmup" "${WRK_ARGS[@]}" "$@" -d1s "${URLS[$srv]}$path" >/dev/null
            pids=()
            [ -z "${PIDS[$srv]:-}" ] || mapfile -t pids < <(with_children "${PIDS[$srv]}")
            before=$(cpu_ticks "${pids[@]}")
            runs[$srv]+=" $(run_wrk "$f" "${WRK_ARGS[@]}" "$@" -d"${SECS}s" --latency "${URLS[$srv]}$path")"
            cpu[$srv]+=" $(cpu_us_per_request $(($(cpu_ticks "${pids[@]}") - before)) "$f")"
            # A server that died under load must not leave a figure behind.
            [ -z "${PIDS[$srv]:-}" ] || kill -0 "${PIDS[$srv]}" 2>/dev/null ||
                die "$srv (pid ${PIDS[$srv]}) died during wrk $path (see $f and $OUT/*$srv*.log)"
        done
    done
    for srv in $servers; do
        # Word splitting is intended: one figure per round.
        # shellcheck disable=SC2086
        RESULT[$srv]=$(median ${runs[$srv]})
        # shellcheck disable=SC2086
        CPU_US[$srv]=$(median ${cpu[$srv]})
        # shellcheck disable=SC2086
        RESULT_RANGE[$srv]=$(range ${runs[$srv]})
        # shellcheck disable=SC2086
        CPU_RANGE[$srv]=$(range ${cpu[$srv]})
    done
}

# select_parts "ALL PARTS" [ARG...]: run the parts named on the command line (all of ALL PARTS
# when none is), refusing unknown ones; `want PART` then says whether PART runs.
select_parts() {
    local all=$1 part
    shift
    PARTS=("$@")
    [ ${#PARTS[@]} -gt 0 ] || read -r -a PARTS <<<"$all"
    for part in "${PARTS[@]}"; do
        [[ " $all " == *" $part "* ]] || die "unknown part '$part' (use: $all)"
    done
}

want() {
    local p
    for p in "${PARTS[@]}"; do [ "$p" = "$1" ] && return 0; done
    return 1
}
