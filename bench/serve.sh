#!/usr/bin/env bash
# rawhttp serve vs nginx and lighttpd over plain HTTP, same run, same folder (issue 3).
#
#   bench/serve.sh [1k] [100k] [log] [idle] [listing]     (default: all five)
#
#   1k, 100k  wrk -t2 -c64 keep-alive req/s for a 1 KiB / 100 KiB file on each server;
#             rawhttp divided by the faster peer (targets >= 1.2x and >= 1.0x)
#   log       rawhttp --log common (to a file; and to /dev/null) vs --log off, 1 KiB
#             (target: costs <= 10%)
#   idle      10,000 idle keep-alive connections held at once (bench/idle_conns.py):
#             server RSS while held (target <= 64 MiB), all served again; nginx alongside
#   listing   a LISTING_FILES-entry directory (issue 13), rawhttp and nginx autoindex, fresh
#             servers: RSS before / peak / 3 s after 50 clients ask for the listing and never
#             read (bench/listing_hold.py; target: after within 10% of before); and another
#             client's 1 KiB latency (wrk -t1 -c1 --latency) while 4 curl loops fetch the
#             listing (target: p99 < 50 ms)
#
# Environment: DURATION (seconds per wrk run, default 10), ROUNDS (default 1; the median is
# reported, with the range when ROUNDS > 1), WRK_THREADS (2), WRK_CONNS (64), IDLE_CONNS (10000),
# RAWHTTP_BIN (skip the build), RAWHTTP_BEFORE_BIN (an older rawhttp binary: 1k and 100k also
# measure it, interleaved in the same rounds, as extra columns).
# Raw output: bench/out/serve-*.txt; the markdown table is printed on stdout and saved to
# bench/out/serve.md.

# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

SECS=$(duration 10)
ROUNDS=${ROUNDS:-1}
WRK_THREADS=${WRK_THREADS:-2}
WRK_CONNS=${WRK_CONNS:-64}
IDLE_CONNS=${IDLE_CONNS:-10000}
LISTING_FILES=${LISTING_FILES:-100000}
for v in SECS ROUNDS WRK_THREADS WRK_CONNS IDLE_CONNS LISTING_FILES; do
    case ${!v} in '' | *[!0-9]* | 0) die "$v must be a positive whole number, got '${!v}'" ;; esac
done

select_parts "1k 100k log idle listing" "$@"

need python3 python3
need wrk wrk
need curl curl
build_rawhttp

WWW=$OUT/www
make_file "$WWW/1k.bin" 1024
make_file "$WWW/100k.bin" 102400
ROWS=()
CPU_ROWS=()
WRK_ARGS=(-t"$WRK_THREADS" -c"$WRK_CONNS")

# check_serves NAME BASE_URL: the server hands out exactly our files (so figures compare alike).
check_serves() {
    local name=$1 base=$2 f
    for f in 1k.bin 100k.bin; do
        curl -sf --max-time 5 "$base$f" | cmp -s - "$WWW/$f" ||
            die "$name does not serve $WWW/$f correctly at $base$f"
    done
}

# bench_size SIZE LABEL TARGET CPU_TARGET: wrk on every server for $SIZE.bin; adds a row to each
# table. CPU_TARGET bounds rawhttp's CPU per request ÷ lighttpd's ("–": none).
bench_size() {
    local size=$1 label=$2 target=$3 cpu_target=$4 n l r peer q row servers="nginx lighttpd rawhttp"
    [ -z "$BEFORE_BIN" ] || servers+=" before"
    wrk_compare "serve-$size" "$size.bin" "$servers"
    n=${RESULT[nginx]} l=${RESULT[lighttpd]} r=${RESULT[rawhttp]}
    peer=$((n > l ? n : l))
    q=$(ratio "$r" "$peer")
    note "$label: nginx $n, lighttpd $l, rawhttp $r${BEFORE_BIN:+, before ${RESULT[before]}} req/s -> ${q}x"
    row="| $label keep-alive, req/s | $(cell nginx) | $(cell lighttpd) | $(cell rawhttp) |"
    [ -z "$BEFORE_BIN" ] || row+=" $(cell before) |"
    row+=" ${q}× |"
    [ -z "$BEFORE_BIN" ] || row+=" $(ratio "${RESULT[before]}" "$peer")× | $(ratio "$r" "${RESULT[before]}")× |"
    ROWS+=("$row ≥ ${target}× | $(verdict "$q" ge "$target") |")
    n=${CPU_US[nginx]} l=${CPU_US[lighttpd]} r=${CPU_US[rawhttp]}
    peer=$(awk -v a="$n" -v b="$l" 'BEGIN { print (a + 0 < b + 0) ? a : b }')
    row="| $label keep-alive | $(cell nginx cpu) | $(cell lighttpd cpu) | $(cell rawhttp cpu) |"
    [ -z "$BEFORE_BIN" ] || row+=" $(cell before cpu) |"
    q=$(ratio "$r" "$l")
    row+=" $(ratio "$r" "$peer")× | ${q}× |"
    [ -z "$BEFORE_BIN" ] || row+=" $(ratio "${CPU_US[before]}" "$l")× |"
    case $cpu_target in
    –) row+=" – | – |" ;;
    *) row+=" ≤ ${cpu_target}× | $(verdict "$q" le "$cpu_target") |" ;;
    esac
    CPU_ROWS+=("$row")
}

# bench_log: rawhttp --log common with stderr to a file, and to /dev/null (formatting cost
# without the writes), vs --log off on 1 KiB, interleaved; adds two rows.
bench_log() {
    local o c d q
    wrk_compare serve-log 1k.bin "rawhttp rawlog rawlognull"
    o=${RESULT[rawhttp]} c=${RESULT[rawlog]} d=${RESULT[rawlognull]}
    [ -s "$OUT/serve-access.log" ] || die "rawhttp --log common wrote no access log to $OUT/serve-access.log"
    q=$(ratio "$c" "$o")
    note "log: off $o, common to a file $c, common to /dev/null $d req/s -> ${q}x"
    ROWS+=("| 1 KiB, \`--log common\` (to a file) ÷ \`--log off\`, req/s | – | – | $c ÷ $o | ${q}× | ≥ 0.90× | $(verdict "$q" ge 0.90) |")
    q=$(ratio "$d" "$o")
    ROWS+=("| 1 KiB, \`--log common\` (to /dev/null) ÷ \`--log off\`, req/s | – | – | $d ÷ $o | ${q}× | ≥ 0.90× | $(verdict "$q" ge 0.90) |")
    o=${CPU_US[rawhttp]} c=${CPU_US[rawlog]} d=${CPU_US[rawlognull]}
    CPU_ROWS+=("| 1 KiB, rawhttp \`--log off\` / \`common\` to a file / to /dev/null | – | – | $o / $c / $d | (file ÷ off) $(ratio "$c" "$o")× |")
}

# idle_run NAME PORT PIDS...: run idle_conns.py against one server; prints "RSS_MIB OK/N".
idle_run() {
    local name=$1 port=$2 json pidargs=() p
    shift 2
    for p in "$@"; do pidargs+=(--pid "$p"); done
    json=$(python3 "$BENCH_DIR/idle_conns.py" --port "$port" --conns "$IDLE_CONNS" "${pidargs[@]}" 2>"$OUT/serve-idle-$name.err") || true
    echo "$json" >"$OUT/serve-idle-$name.json"
    [ -n "$json" ] || die "idle_conns.py against $name failed: $(tail -n 3 "$OUT/serve-idle-$name.err")"
    python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print("%.1f %d/%d" % (d["rss_kib"]/1024, d["second_ok"], d["conns"]))' "$json"
}

# bench_idle: fresh servers (RSS not inflated by earlier runs), then IDLE_CONNS idle each.
bench_idle() {
    local r n rm nm rok nok pids
    # The server needs one descriptor per connection; give it what the hard limit allows.
    ulimit -n "$(ulimit -Hn)"
    local more=()
    # The default --max-connections (10000) is what the target is about; raise it only when
    # asked to hold more.
    [ "$IDLE_CONNS" -le 10000 ] || more=(--max-connections "$IDLE_CONNS")
    start_rawhttp serve-idle-rawhttp "$OUT/serve-idle-rawhttp.log" --log off "${more[@]}" "$WWW"
    local rport=${RAWHTTP_URL##*:}
    rport=${rport%/}
    r=$(idle_run rawhttp "$rport" "$RAWHTTP_PID")
    stop_pid "$RAWHTTP_PID"
    start_nginx serve-idle-nginx "$WWW" "" ""
    mapfile -t pids < <(with_children "$NGINX_PID")
    n=$(idle_run nginx "$NGINX_PORT" "${pids[@]}")
    stop_pid "$NGINX_PID"
    read -r rm rok <<<"$r"
    read -r nm nok <<<"$n"
    note "idle: rawhttp ${rm} MiB ($rok served twice), nginx ${nm} MiB ($nok)"
    local ok=FAIL
    [ "$(verdict "$rm" le 64)" = PASS ] && [ "${rok%/*}" = "${rok#*/}" ] && ok=PASS
    ROWS+=("| $IDLE_CONNS idle keep-alive conns: RSS MiB (served twice) | $nm ($nok) | – | $rm ($rok) | – | ≤ 64 MiB, all served | $ok |")
}

# make_big_dir DIR N: DIR holds exactly the N empty files file-000000.txt … (kept when it does).
make_big_dir() {
    local dir=$1 n=$2
    [ -d "$dir" ] && [ "$(find "$dir" -maxdepth 1 -type f | wc -l)" -eq "$n" ] && return 0
    rm -rf "$dir"
    python3 -c 'import os, sys
d, n = sys.argv[1], int(sys.argv[2])
os.makedirs(d)
for i in range(n):
    open(os.path.join(d, "file-%06d.txt" % i), "w").close()' "$dir" "$n"
}

# wrk_p99_ms FILE / wrk_p50_ms FILE: a percentile of a `wrk --latency` run, in milliseconds.
wrk_pct_ms() {
    awk -v p="$1" '$1 == p {
        v = $2
        if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 }
        else if (v ~ /ms$/) { sub(/ms$/, "", v) }
        else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 }
        printf "%.1f\n", v }' "$2"
}

# listing_hold NAME PORT PIDS...: listing_hold.py on one fresh server; prints "BEFORE PEAK AFTER"
# in MiB.
listing_hold() {
    local name=$1 port=$2 json pidargs=() p
    shift 2
    for p in "$@"; do pidargs+=(--pid "$p"); done
    # A first request, so "before" includes what any request costs (code paged in, caches).
    curl -sf -o /dev/null --max-time 60 "http://127.0.0.1:$port/big/" ||
        die "$name does not list http://127.0.0.1:$port/big/"
    json=$(python3 "$BENCH_DIR/listing_hold.py" --port "$port" --path /big/ "${pidargs[@]}" \
        2>"$OUT/serve-listing-hold-$name.err") ||
        die "listing_hold.py against $name failed: $(tail -n 3 "$OUT/serve-listing-hold-$name.err")"
    echo "$json" >"$OUT/serve-listing-hold-$name.json"
    python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print("%.1f %.1f %.1f" % (d["before_kib"]/1024, d["peak_kib"]/1024, d["after_kib"]/1024))' "$json"
}

# listing_latency NAME BASE_URL ROUND: 4 curl loops on BASE_URL/big/ while wrk -t1 -c1 asks
# for BASE_URL/1k.bin; prints "P50 P99 LISTINGS" (ms, ms, listings completed).
listing_latency() {
    local name=$1 base=$2 round=$3 f loops=() i count
    f=$OUT/serve-listing-latency-$name-$round.txt
    : >"$OUT/serve-listing-loops-$name.txt"
    for i in 1 2 3 4; do
        (while :; do curl -s -o /dev/null -w '%{http_code}\n' --max-time 60 "${base}big/" || true; done) \
            >>"$OUT/serve-listing-loops-$name.txt" 2>/dev/null &
        loops+=($!)
    done
    run_wrk "$f" -t1 -c1 -d"${SECS}s" --latency "${base}1k.bin" >/dev/null
    for i in "${loops[@]}"; do
        pkill -P "$i" curl 2>/dev/null || true
        kill "$i" 2>/dev/null || true
        wait "$i" 2>/dev/null || true
    done
    count=$(grep -c '^200$' "$OUT/serve-listing-loops-$name.txt" || true)
    echo "$(wrk_pct_ms 50% "$f") $(wrk_pct_ms 99% "$f") ${count:-0}"
}

# bench_listing: the issue 13 attacks on a LISTING_FILES-entry directory, rawhttp beside nginx
# autoindex; adds three rows.
bench_listing() {
    local lw=$OUT/listing-www r n pids round rl nl rp=() np=() rc=0 nc=0
    make_big_dir "$lw/big" "$LISTING_FILES"
    make_file "$lw/1k.bin" 1024
    start_rawhttp serve-listing-rawhttp "$OUT/serve-listing-rawhttp.log" --log off "$lw"
    local rport=${RAWHTTP_URL##*:}
    rport=${rport%/}
    r=$(listing_hold rawhttp "$rport" "$RAWHTTP_PID")
    stop_pid "$RAWHTTP_PID"
    start_nginx serve-listing-nginx "$lw" "" "autoindex on;"
    mapfile -t pids < <(with_children "$NGINX_PID")
    n=$(listing_hold nginx "$NGINX_PORT" "${pids[@]}")
    stop_pid "$NGINX_PID"
    local rb rpk ra nb npk na
    read -r rb rpk ra <<<"$r"
    read -r nb npk na <<<"$n"
    note "listing hold: rawhttp $rb -> $rpk -> $ra MiB, nginx $nb -> $npk -> $na MiB"
    local back
    back=$(awk -v b="$rb" -v a="$ra" 'BEGIN { print (a <= b * 1.10) ? "PASS" : "FAIL" }')
    ROWS+=("| $LISTING_FILES-entry listing, 50 clients that never read: RSS MiB before → peak | $nb → $npk | – | $rb → $rpk | – | – | – |")
    ROWS+=("| same, RSS MiB 3 s after they close (÷ before) | $na ($(ratio "$na" "$nb")×) | – | $ra ($(ratio "$ra" "$rb")×) | – | ≤ 1.10× before | $back |")
    start_rawhttp serve-listing-rawhttp "$OUT/serve-listing-rawhttp.log" --log off "$lw"
    local raw_url=$RAWHTTP_URL raw_pid=$RAWHTTP_PID
    start_nginx serve-listing-nginx "$lw" "" "autoindex on;"
    local nginx_url=http://127.0.0.1:$NGINX_PORT/
    for round in $(seq "$ROUNDS"); do
        read -r -a rl <<<"$(listing_latency rawhttp "$raw_url" "$round")"
        read -r -a nl <<<"$(listing_latency nginx "$nginx_url" "$round")"
        note "listing latency round $round: rawhttp p50 ${rl[0]} p99 ${rl[1]} ms (${rl[2]} listings), nginx p50 ${nl[0]} p99 ${nl[1]} ms (${nl[2]} listings)"
        rp+=("${rl[1]}") np+=("${nl[1]}")
        rc=$((rc + rl[2])) nc=$((nc + nl[2]))
    done
    kill -0 "$raw_pid" 2>/dev/null || die "rawhttp died during the listing latency runs"
    local rmed nmed
    rmed=$(median "${rp[@]}") nmed=$(median "${np[@]}")
    local range="range $(printf '%s\n' "${rp[@]}" | sort -g | head -1)–$(printf '%s\n' "${rp[@]}" | sort -g | tail -1)"
    ROWS+=("| 1 KiB p99 ms while 4 clients loop on the listing (listings done) | $nmed ($nc) | – | $rmed ($rc; $range) | $(ratio "$rmed" "$nmed")× | < 50 ms | $(verdict "$rmed" le 50) |")
    stop_all
}

if want 1k || want 100k || want log; then
    start_rawhttp serve-rawhttp "$OUT/serve-rawhttp.log" --log off "$WWW"
    URLS[rawhttp]=$RAWHTTP_URL PIDS[rawhttp]=$RAWHTTP_PID
    check_serves rawhttp "$RAWHTTP_URL"
fi
if want 1k || want 100k; then
    start_nginx serve-nginx "$WWW" "" ""
    URLS[nginx]=http://127.0.0.1:$NGINX_PORT/ PIDS[nginx]=$NGINX_PID
    start_lighttpd serve-lighttpd "$WWW"
    URLS[lighttpd]=http://127.0.0.1:$LIGHTTPD_PORT/ PIDS[lighttpd]=$LIGHTTPD_PID
    check_serves nginx "${URLS[nginx]}"
    check_serves lighttpd "${URLS[lighttpd]}"
    if [ -n "$BEFORE_BIN" ]; then
        start_before serve-before "$OUT/serve-before.log" --log off "$WWW"
        check_serves before "${URLS[before]}"
    fi
fi
want 1k && bench_size 1k "1 KiB" 1.2 –
want 100k && bench_size 100k "100 KiB" 1.0 0.90
if want log; then
    start_rawhttp serve-rawlog "$OUT/serve-access.log" --log common "$WWW"
    URLS[rawlog]=$RAWHTTP_URL PIDS[rawlog]=$RAWHTTP_PID
    start_rawhttp serve-rawlognull /dev/null --log common "$WWW"
    URLS[rawlognull]=$RAWHTTP_URL PIDS[rawlognull]=$RAWHTTP_PID
    bench_log
fi
stop_all
want idle && bench_idle
want listing && bench_listing

{
    echo "### rawhttp serve vs nginx and lighttpd (plain HTTP, wrk -t$WRK_THREADS -c$WRK_CONNS -d${SECS}s, loopback)"
    echo
    # The before binary's columns exist when a part that measures it ran.
    cols=""
    [ -z "$BEFORE_BIN" ] || ! { want 1k || want 100k; } || cols=before
    if [ -n "$cols" ]; then
        echo "| test | nginx | lighttpd | rawhttp | $(before_label) | rawhttp ÷ faster peer | before ÷ faster peer | rawhttp ÷ before | target | verdict |"
        echo "|---|---:|---:|---:|---:|---:|---:|---:|---|---|"
    else
        echo "| test | nginx | lighttpd | rawhttp | rawhttp ÷ faster peer | target | verdict |"
        echo "|---|---:|---:|---:|---:|---|---|"
    fi
    # Rows of the other parts lack the before columns (and the CPU rows of `log` the ratios).
    if [ -n "$cols" ]; then
        PAD_FULL=10 pad_cells "4:1 5:2" "${ROWS[@]}"
    else
        PAD_FULL=7 pad_cells "" "${ROWS[@]}"
    fi
    echo
    if [ ${#CPU_ROWS[@]} -gt 0 ]; then
        echo "Server CPU time per request, µs (user + system from /proc/PID/stat during the same runs; lower is better):"
        echo
        if [ -n "$cols" ]; then
            echo "| test | nginx | lighttpd | rawhttp | $(before_label) | rawhttp ÷ leaner peer | rawhttp ÷ lighttpd | before ÷ lighttpd | target (÷ lighttpd) | verdict |"
            echo "|---|---:|---:|---:|---:|---:|---:|---:|---|---|"
        else
            echo "| test | nginx | lighttpd | rawhttp | rawhttp ÷ leaner peer | rawhttp ÷ lighttpd | target (÷ lighttpd) | verdict |"
            echo "|---|---:|---:|---:|---:|---:|---|---|"
        fi
        if [ -n "$cols" ]; then
            PAD_FULL=10 pad_cells "4:1 5:4" "${CPU_ROWS[@]}"
        else
            PAD_FULL=8 pad_cells "5:3" "${CPU_ROWS[@]}"
        fi
        echo
    fi
    machine_line "$(nginx -v 2>&1 | sed 's/.*: //'), lighttpd $(lighttpd -v 2>&1 | sed -n 's/^lighttpd\/\([^ ]*\).*/\1/p'), wrk $(wrk -v 2>&1 | awk 'NR==1 {print $2}'), median of $ROUNDS round(s)${BEFORE_BIN:+; before: $BEFORE_BIN}"
} | tee "$OUT/serve.md"
