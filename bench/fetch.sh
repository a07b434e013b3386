#!/usr/bin/env bash
# rawhttp fetch vs curl and wget against one local nginx, same run (issue 2).
#
#   bench/fetch.sh [big] [small]     (default: both)
#
#   big    a 1 GiB body to /dev/null and to a file: throughput (hyperfine, median of RUNS) and
#          peak RSS (/usr/bin/time -v); targets: rawhttp >= curl throughput, RSS <= 8 MiB
#   small  whole-process time of one 1 KiB fetch (hyperfine -N, warmup, SMALL_RUNS runs);
#          target: rawhttp <= 0.5x curl
#
# Each over http and https (nginx with an ECDSA P-256 certificate from bench/out/tls, trusted
# through --cacert / curl --cacert / wget --ca-certificate).
# Environment: SCHEMES ("http https"), RUNS (5), SMALL_RUNS (200), BIG_MIB (1024),
# FETCH_DL_DIR (where the file sink writes, default bench/out/fetch-dl), RAWHTTP_BIN (skip
# the build). Raw output: bench/out/fetch-*; the markdown table is printed on
# stdout and saved to bench/out/fetch.md.

# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

SCHEMES=${SCHEMES:-http https}
RUNS=${RUNS:-5}
SMALL_RUNS=${SMALL_RUNS:-200}
BIG_MIB=${BIG_MIB:-1024}
for v in RUNS SMALL_RUNS BIG_MIB; do
    case ${!v} in '' | *[!0-9]* | 0) die "$v must be a positive whole number, got '${!v}'" ;; esac
done
for s in $SCHEMES; do case $s in http | https) ;; *) die "SCHEMES may hold http and https, got '$s'" ;; esac; done

select_parts "big small" "$@"

need python3 python3
need hyperfine hyperfine
need curl curl
need wget wget
need /usr/bin/time time
make_certs
build_rawhttp

WWW=$OUT/fetch-www
DL=${FETCH_DL_DIR:-$OUT/fetch-dl}
mkdir -p "$DL"
make_file "$WWW/1k.bin" 1024
want big && make_file "$WWW/big.bin" $((BIG_MIB * 1024 * 1024))
BIG_LABEL=$([ "$BIG_MIB" -eq 1024 ] && echo "1 GiB" || echo "$BIG_MIB MiB")
ROWS=()
CPU_ROWS=()

start_nginx fetch-nginx-http "$WWW" "" ""
declare -A BASE
BASE[http]=http://127.0.0.1:$NGINX_PORT/
start_nginx fetch-nginx-https "$WWW" "ssl" "ssl_certificate $LEAF_PEM; ssl_certificate_key $LEAF_KEY; ssl_protocols TLSv1.2 TLSv1.3; ssl_session_cache shared:SSL:10m;"
BASE[https]=https://127.0.0.1:$NGINX_PORT/

# cmd TOOL SCHEME DEST URL: the command line for one fetch (words; no shell needed).
cmd() {
    local tool=$1 scheme=$2 dest=$3 url=$4
    case $tool in
    rawhttp) echo "$BIN fetch -s -o $dest$([ "$scheme" = https ] && echo " --cacert $CA_PEM") $url" ;;
    curl) echo "curl -s -o $dest$([ "$scheme" = https ] && echo " --cacert $CA_PEM") $url" ;;
    wget) echo "wget -q -O $dest$([ "$scheme" = https ] && echo " --ca-certificate=$CA_PEM") $url" ;;
    esac
}

TOOLS=(curl wget rawhttp)

# cpu_row LABEL JSON: a CPU-time row (user + system, hyperfine's means) in ms.
cpu_row() {
    local -a c
    mapfile -t c < <(python3 -c 'import json,sys; [print("%.1f" % ((r["user"] + r["system"]) * 1000)) for r in json.load(open(sys.argv[1]))["results"]]' "$2")
    CPU_ROWS+=("| $1 | ${c[0]} | ${c[1]} | ${c[2]} | $(ratio "${c[2]}" "${c[0]}")× |")
}

# median_of JSON: hyperfine's median per command, in seconds, one per line in TOOLS order.
median_of() {
    python3 -c 'import json,sys; [print(r["median"]) for r in json.load(open(sys.argv[1]))["results"]]' "$1"
}

# peak_rss_mib OUTFILE CMDLINE: run CMDLINE under /usr/bin/time -v; print its peak RSS in MiB.
peak_rss_mib() {
    local outfile=$1 words
    read -ra words <<<"$2"
    timeout 300 /usr/bin/time -v "${words[@]}" >"$outfile" 2>&1 ||
        die "$2 failed or timed out under /usr/bin/time (see $outfile)"
    awk -F': ' '/Maximum resident set size/ {printf "%.1f\n", $2/1024}' "$outfile"
}

# check_fetched TOOL FILE: the saved copy must equal the served file.
check_fetched() {
    cmp -s "$2" "$WWW/big.bin" || die "$1 saved a different body than nginx served ($2)"
}

# bench_big SCHEME SINK: throughput and peak RSS of the big body for each tool; adds two rows.
bench_big() {
    local scheme=$1 sink=$2 url=${BASE[$1]}big.bin tool dest json cmds=() rss=() mibs=() i label
    for tool in "${TOOLS[@]}"; do
        dest=/dev/null
        [ "$sink" = file ] && dest=$DL/$tool.bin
        cmds+=("$(cmd "$tool" "$scheme" "$dest" "$url")")
    done
    json=$OUT/fetch-big-$scheme-$sink.json
    local prep=()
    # Each run starts without the destination and with no dirty pages left by the previous
    # run, so write-back of one run does not slow the next.
    [ "$sink" = file ] && prep=(--prepare "python3 -c 'import os,sys; [os.remove(p) for p in sys.argv[1:] if os.path.exists(p)]; os.sync()' $DL/curl.bin $DL/wget.bin $DL/rawhttp.bin")
    # timeout bounds a hung transfer without adding a process to the measured commands.
    timeout $((RUNS * 3 * 120)) hyperfine -N --style basic --runs "$RUNS" "${prep[@]}" --export-json "$json" "${cmds[@]}" \
        >"$OUT/fetch-big-$scheme-$sink.txt" 2>&1 || die "hyperfine failed or timed out (see $OUT/fetch-big-$scheme-$sink.txt)"
    mapfile -t secs < <(median_of "$json")
    for i in "${!TOOLS[@]}"; do
        mibs+=("$(awk -v s="${secs[$i]}" -v m="$BIG_MIB" 'BEGIN { printf "%.0f", m / s }')")
        [ "$sink" = file ] && rm -f "$DL/${TOOLS[$i]}.bin" && sync
        rss+=("$(peak_rss_mib "$OUT/fetch-rss-$scheme-$sink-${TOOLS[$i]}.txt" "${cmds[$i]}")")
        [ "$sink" = file ] && check_fetched "${TOOLS[$i]}" "$DL/${TOOLS[$i]}.bin"
    done
    [ "$sink" = file ] && rm -f "$DL"/*.bin
    label="$BIG_LABEL $scheme → $([ "$sink" = file ] && echo file || echo /dev/null)"
    local q
    q=$(ratio "${mibs[2]}" "${mibs[0]}")
    note "$label: curl ${mibs[0]}, wget ${mibs[1]}, rawhttp ${mibs[2]} MiB/s; RSS ${rss[*]} MiB"
    cpu_row "$label" "$json"
    ROWS+=("| $label, MiB/s | ${mibs[0]} | ${mibs[1]} | ${mibs[2]} | ${q}× | ≥ 1.0× | $(verdict "$q" ge 1.0) |")
    ROWS+=("| $label, peak RSS MiB | ${rss[0]} | ${rss[1]} | ${rss[2]} | $(ratio "${rss[2]}" "${rss[0]}")× | ≤ 8 MiB | $(verdict "${rss[2]}" le 8) |")
}

# bench_small SCHEME: whole-process time of one 1 KiB fetch for each tool; adds a row.
bench_small() {
    local scheme=$1 url=${BASE[$1]}1k.bin tool json cmds=() ms=() i q
    for tool in "${TOOLS[@]}"; do cmds+=("$(cmd "$tool" "$scheme" /dev/null "$url")"); done
    json=$OUT/fetch-small-$scheme.json
    timeout $(((SMALL_RUNS + 10) * 3 * 10 + 60)) hyperfine -N --style basic --warmup 10 --runs "$SMALL_RUNS" --export-json "$json" "${cmds[@]}" \
        >"$OUT/fetch-small-$scheme.txt" 2>&1 || die "hyperfine failed or timed out (see $OUT/fetch-small-$scheme.txt)"
    mapfile -t secs < <(median_of "$json")
    for i in "${!TOOLS[@]}"; do ms+=("$(awk -v s="${secs[$i]}" 'BEGIN { printf "%.2f", s * 1000 }')"); done
    q=$(ratio "${ms[2]}" "${ms[0]}")
    note "1 KiB $scheme: curl ${ms[0]}, wget ${ms[1]}, rawhttp ${ms[2]} ms -> ${q}x"
    cpu_row "1 KiB $scheme" "$json"
    ROWS+=("| 1 KiB $scheme, whole process ms | ${ms[0]} | ${ms[1]} | ${ms[2]} | ${q}× | ≤ 0.5× | $(verdict "$q" le 0.5) |")
}

for scheme in $SCHEMES; do
    curl -sf --max-time 5 --cacert "$CA_PEM" "${BASE[$scheme]}1k.bin" | cmp -s - "$WWW/1k.bin" ||
        die "nginx does not serve $WWW/1k.bin at ${BASE[$scheme]}1k.bin"
    if want big; then
        bench_big "$scheme" null
        bench_big "$scheme" file
    fi
done
if want small; then
    for scheme in $SCHEMES; do bench_small "$scheme"; done
fi
stop_all

{
    echo "### rawhttp fetch vs curl and wget (local nginx, loopback; throughput and time are medians)"
    echo
    echo "| transfer | curl | wget | rawhttp | rawhttp ÷ curl | target | verdict |"
    echo "|---|---:|---:|---:|---:|---|---|"
    printf '%s\n' "${ROWS[@]}"
    echo
    echo "CPU time per fetch, ms (user + system, hyperfine's means; lower is better):"
    echo
    echo "| transfer | curl | wget | rawhttp | rawhttp ÷ curl |"
    echo "|---|---:|---:|---:|---:|"
    printf '%s\n' "${CPU_ROWS[@]}"
    echo
    machine_line "$(curl --version | head -n 1 | cut -d' ' -f1-2,5), $(wget --version | head -n 1 | cut -d' ' -f1-3), $(nginx -v 2>&1 | sed 's/.*: //'), $RUNS big / $SMALL_RUNS small runs"
} | tee "$OUT/fetch.md"
