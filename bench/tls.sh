#!/usr/bin/env bash
# rawhttp serve vs nginx over TLS with the same ECDSA P-256 certificate, same run (issue 4).
#
#   bench/tls.sh [1k] [100k] [conn]     (default: all three)
#
#   1k, 100k  wrk -t2 -c64 keep-alive req/s over HTTPS for a 1 KiB / 100 KiB file
#   conn      new TLS connections per second: wrk -H 'Connection: close', 1 KiB file
#             (one full handshake per request; wrk does not resume sessions), also against
#             a second nginx limited to TLS 1.2 (nginx 1.22's default protocols)
#   Targets: rawhttp >= 1.0x nginx for each.
#
# Environment: DURATION (seconds per wrk run, default 10), ROUNDS (default 1; the median is
# reported, with the range when ROUNDS > 1), WRK_THREADS (2), WRK_CONNS (64), RAWHTTP_BIN (skip
# the build), RAWHTTP_BEFORE_BIN (an older rawhttp binary, measured in the same rounds as extra
# columns).
# Raw output: bench/out/tls-*.txt; the markdown table is printed on stdout and saved to
# bench/out/tls.md.

# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

SECS=$(duration 10)
ROUNDS=${ROUNDS:-1}
WRK_THREADS=${WRK_THREADS:-2}
WRK_CONNS=${WRK_CONNS:-64}
for v in SECS ROUNDS WRK_THREADS WRK_CONNS; do
    case ${!v} in '' | *[!0-9]* | 0) die "$v must be a positive whole number, got '${!v}'" ;; esac
done
WRK_ARGS=(-t"$WRK_THREADS" -c"$WRK_CONNS")

select_parts "1k 100k conn" "$@"

need python3 python3
need wrk wrk
need curl curl
need openssl openssl
make_certs
build_rawhttp

WWW=$OUT/www
make_file "$WWW/1k.bin" 1024
make_file "$WWW/100k.bin" 102400
ROWS=()
CPU_ROWS=()

# check_serves NAME BASE_URL: the server hands out exactly our files over TLS, trusted by ca.pem.
check_serves() {
    local name=$1 base=$2 f
    for f in 1k.bin 100k.bin; do
        curl -sf --max-time 5 --cacert "$CA_PEM" "$base$f" | cmp -s - "$WWW/$f" ||
            die "$name does not serve $WWW/$f correctly at $base$f (trusting $CA_PEM)"
    done
}

# answers_close NAME BASE_URL: a `Connection: close` request gets `Connection: close` back, so
# wrk reconnects after every answer and the conn figure really counts handshakes.
answers_close() {
    curl -sf --max-time 5 --cacert "$CA_PEM" -H 'Connection: close' -D - -o /dev/null "$2" |
        grep -qi '^connection: *close' || die "$1 does not answer Connection: close with Connection: close ($2)"
}

# negotiated NAME PORT: "TLSv1.3 TLS_AES_256_GCM_SHA384" as OpenSSL's client sees it.
negotiated() {
    local out
    out=$(openssl s_client -connect "127.0.0.1:$2" -CAfile "$CA_PEM" -brief </dev/null 2>&1) || true
    echo "$out" >"$OUT/tls-handshake-$1.txt"
    echo "$(awk -F': ' '/^Protocol version/ {print $2}' <<<"$out") $(awk -F': ' '/^Ciphersuite/ {print $2}' <<<"$out")"
}

start_nginx tls-nginx "$WWW" "ssl" "ssl_certificate $LEAF_PEM; ssl_certificate_key $LEAF_KEY; ssl_protocols TLSv1.2 TLSv1.3; ssl_session_cache shared:SSL:10m;"
URLS[nginx]=https://127.0.0.1:$NGINX_PORT/ PIDS[nginx]=$NGINX_PID
start_rawhttp tls-rawhttp "$OUT/tls-rawhttp.log" --log off --tls-cert "$LEAF_PEM" --tls-key "$LEAF_KEY" "$WWW"
URLS[rawhttp]=$RAWHTTP_URL PIDS[rawhttp]=$RAWHTTP_PID
case $RAWHTTP_URL in https://*) ;; *) die "rawhttp with --tls-cert announced $RAWHTTP_URL, not https" ;; esac
check_serves nginx "${URLS[nginx]}"
check_serves rawhttp "${URLS[rawhttp]}"
if [ -n "$BEFORE_BIN" ]; then
    start_before tls-before "$OUT/tls-before.log" --log off --tls-cert "$LEAF_PEM" --tls-key "$LEAF_KEY" "$WWW"
    check_serves before "${URLS[before]}"
fi
RAWPORT=${RAWHTTP_URL##*:}
SUITES="nginx: $(negotiated nginx "$NGINX_PORT"); rawhttp: $(negotiated rawhttp "${RAWPORT%/}")"
note "negotiated: $SUITES"

# bench_part PART LABEL: one comparison; adds a row.
bench_part() {
    local part=$1 label=$2 n r q b="" row
    [ -z "$BEFORE_BIN" ] || b=" before"
    case $part in
    1k | 100k) wrk_compare "tls-$part" "$part.bin" "nginx rawhttp$b" ;;
    conn)
        start_nginx12
        answers_close nginx "${URLS[nginx]}1k.bin"
        answers_close nginx12 "${URLS[nginx12]}1k.bin"
        answers_close rawhttp "${URLS[rawhttp]}1k.bin"
        [ -z "$b" ] || answers_close before "${URLS[before]}1k.bin"
        wrk_compare tls-conn 1k.bin "nginx nginx12 rawhttp$b" -H 'Connection: close' ;;
    esac
    n=${RESULT[nginx]} r=${RESULT[rawhttp]}
    q=$(ratio "$r" "$n")
    note "$label: nginx $n, rawhttp $r${b:+, before ${RESULT[before]}} -> ${q}x"
    row="| $label | $(cell nginx) | $(cell rawhttp) |"
    [ -z "$b" ] || row+=" $(cell before) |"
    row+=" ${q}× |"
    [ -z "$b" ] || row+=" $(ratio "${RESULT[before]}" "$n")× | $(ratio "$r" "${RESULT[before]}")× |"
    ROWS+=("$row ≥ 1.0× | $(verdict "$q" ge 1.0) |")
    row="| ${label%, req/s} | $(cell nginx cpu) | $(cell rawhttp cpu) |"
    [ -z "$b" ] || row+=" $(cell before cpu) |"
    row+=" $(ratio "${CPU_US[rawhttp]}" "${CPU_US[nginx]}")× |"
    [ -z "$b" ] || row+=" $(ratio "${CPU_US[before]}" "${CPU_US[nginx]}")× | $(ratio "${CPU_US[rawhttp]}" "${CPU_US[before]}")× |"
    CPU_ROWS+=("$row")
    if [ "$part" = conn ]; then
        n=${RESULT[nginx12]}
        q=$(ratio "$r" "$n")
        note "$label, nginx with TLS 1.2 only: nginx $n, rawhttp $r -> ${q}x"
        ROWS+=("| the same, nginx limited to TLS 1.2 (the 1.22 default; rawhttp still TLS 1.3) | $(cell nginx12) | $(cell rawhttp) |${b:+ – |} ${q}× |${b:+ – | – |} ≥ 1.0× | $(verdict "$q" ge 1.0) |")
        CPU_ROWS+=("| the same, nginx limited to TLS 1.2 | $(cell nginx12 cpu) | $(cell rawhttp cpu) |${b:+ – |} $(ratio "${CPU_US[rawhttp]}" "${CPU_US[nginx12]}")× |${b:+ – | – |}")
    fi
}

# start_nginx12: a second nginx, the same but TLS 1.2 only (nginx before 1.23.4 enables no
# TLS 1.3 by default): its handshake rate differs a lot from the TLS 1.3 one with OpenSSL 3.0.
start_nginx12() {
    start_nginx tls-nginx12 "$WWW" "ssl" "ssl_certificate $LEAF_PEM; ssl_certificate_key $LEAF_KEY; ssl_protocols TLSv1.2; ssl_session_cache shared:SSL:10m;"
    URLS[nginx12]=https://127.0.0.1:$NGINX_PORT/ PIDS[nginx12]=$NGINX_PID
    SUITES="$SUITES; nginx12: $(negotiated nginx12 "$NGINX_PORT")"
}

for part in "${PARTS[@]}"; do
    case $part in
    1k) bench_part 1k "1 KiB keep-alive, req/s" ;;
    100k) bench_part 100k "100 KiB keep-alive, req/s" ;;
    conn) bench_part conn "new TLS connections/s (1 KiB, \`Connection: close\`)" ;;
    esac
done
stop_all

{
    echo "### rawhttp serve vs nginx over TLS (ECDSA P-256, wrk -t$WRK_THREADS -c$WRK_CONNS -d${SECS}s, loopback)"
    echo
    if [ -n "$BEFORE_BIN" ]; then
        echo "| test | nginx | rawhttp | $(before_label) | rawhttp ÷ nginx | before ÷ nginx | rawhttp ÷ before | target | verdict |"
        echo "|---|---:|---:|---:|---:|---:|---:|---|---|"
    else
        echo "| test | nginx | rawhttp | rawhttp ÷ nginx | target | verdict |"
        echo "|---|---:|---:|---:|---|---|"
    fi
    printf '%s\n' "${ROWS[@]}"
    echo
    echo "Server CPU time per request, µs (user + system from /proc/PID/stat during the same runs; lower is better):"
    echo
    if [ -n "$BEFORE_BIN" ]; then
        echo "| test | nginx | rawhttp | $(before_label) | rawhttp ÷ nginx | before ÷ nginx | rawhttp ÷ before |"
        echo "|---|---:|---:|---:|---:|---:|---:|"
    else
        echo "| test | nginx | rawhttp | rawhttp ÷ nginx |"
        echo "|---|---:|---:|---:|"
    fi
    printf '%s\n' "${CPU_ROWS[@]}"
    echo
    machine_line "$(nginx -v 2>&1 | sed 's/.*: //') with $(openssl version | cut -d' ' -f1-2), wrk $(wrk -v 2>&1 | awk 'NR==1 {print $2}'), median of $ROUNDS round(s)${BEFORE_BIN:+; before: $BEFORE_BIN}; negotiated with openssl s_client: $SUITES"
} | tee "$OUT/tls.md"
