#!/usr/bin/env bash
# rawhttp fetch batches vs curl -Z and wget -i against one local nginx, same run (issue 7).
#
#   bench/batch.sh [small] [big] [many]     (default: all three)
#
#   small  1000 x 2 KiB files, -Z --parallel-max 8 --input-file, into a folder;
#          targets: rawhttp time <= 0.5x curl -Z --parallel-max 8 and <= 0.5x wget -i
#   big    100 x 10 MiB files, -Z --parallel-max 8, into a folder;
#          targets: throughput >= curl -Z, peak RSS <= 16 MiB
#   many   a 100,000-URL input file against nginx answering 204; target: peak RSS <= 16 MiB
#
# Rounds are interleaved (bench/interleave.py: every tool once per round, order rotated) and
# measured with wait4(2): median wall time with its range, median CPU (user + system), peak
# RSS. Environment: ROUNDS (5 for small, 3 for big and many), BIG_COUNT (100), MANY (100000),
# BATCH_DL_DIR (download folder, default bench/out/batch-dl), RAWHTTP_BIN (skip the build).
# Raw output: bench/out/batch-*; the markdown table goes to stdout and bench/out/batch.md.

# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

BIG_COUNT=${BIG_COUNT:-100}
MANY=${MANY:-100000}
for v in BIG_COUNT MANY; do
    case ${!v} in '' | *[!0-9]* | 0) die "$v must be a positive whole number, got '${!v}'" ;; esac
done
select_parts "small big many" "$@"

need python3 python3
need curl curl
need wget wget
need nginx nginx
build_rawhttp

WWW=$OUT/batch-www
DL=${BATCH_DL_DIR:-$OUT/batch-dl}
mkdir -p "$WWW" "$DL"
ROWS=()

# ratio A B: A / B with two decimals.
ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'
}

# field JSON LABEL KEY: one figure from interleave.py's output.
field() {
    python3 -c 'import json,sys; print("%.3f" % json.load(open(sys.argv[1]))[sys.argv[2]][sys.argv[3]])' "$@"
}

# lists NAME COUNT BASE FILE_PREFIX: the same URLs as a plain list (rawhttp, wget) and as a
# curl config file (`url = ...` lines, so no argv limit applies).
lists() {
    local name=$1 count=$2 base=$3 prefix=$4
    python3 - "$OUT/$name.list" "$OUT/$name.curl" "$count" "$base" "$prefix" <<'EOF'
import sys
plain, cfg, count, base, prefix = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
with open(plain, "w") as p, open(cfg, "w") as c:
    for i in range(count):
        url = f"{base}{prefix}{i}.bin"
        p.write(url + "\n")
        c.write(f'url = "{url}"\n')
EOF
}

# check_saved DIR SRC COUNT: every file saved equals the served one.
check_saved() {
    local dir=$1 src=$2 count=$3 n
    n=$(find "$dir" -type f | wc -l)
    [ "$n" -eq "$count" ] || die "$dir holds $n files, expected $count"
    diff -rq "$dir" "$src" >/dev/null || die "$dir differs from $src"
}

# row LABEL JSON TOOLS...: wall median [range], CPU and RSS per tool.
report() {
    local json=$1 tool
    shift
    for tool in "$@"; do
        note "$tool: $(field "$json" "$tool" median_s) s [$(field "$json" "$tool" min_s)–$(field "$json" "$tool" max_s)], cpu $(field "$json" "$tool" cpu_s) s, rss $(field "$json" "$tool" rss_mib) MiB"
    done
}

bench_small() {
    local src=$WWW/small json=$OUT/batch-small.json i
    mkdir -p "$src"
    for i in $(seq 0 999); do make_file "$src/s$i.bin" 2048; done
    start_nginx batch-nginx "$WWW" "" ""
    lists batch-small 1000 "http://127.0.0.1:$NGINX_PORT/small/" s
    python3 "$BENCH_DIR/interleave.py" "${ROUNDS:-5}" "rm -rf $DL/* && sync" \
        "rawhttp=$BIN fetch -s -Z --parallel-max 8 --input-file $OUT/batch-small.list --output-dir $DL/rawhttp" \
        "rawhttp-seq=$BIN fetch -s --input-file $OUT/batch-small.list --output-dir $DL/rawhttp-seq" \
        "curl=curl -s --no-progress-meter -Z --parallel-max 8 --remote-name-all --create-dirs --output-dir $DL/curl -K $OUT/batch-small.curl" \
        "wget=wget -q -i $OUT/batch-small.list -P $DL/wget" >"$json" || die "small: a run failed"
    # Once more, unmeasured, to check what each tool saved (the rounds clear the folders).
    rm -rf "${DL:?}"/*
    "$BIN" fetch -s -Z --parallel-max 8 --input-file "$OUT/batch-small.list" --output-dir "$DL/rawhttp"
    curl -s --no-progress-meter -Z --parallel-max 8 --remote-name-all --create-dirs --output-dir "$DL/curl" -K "$OUT/batch-small.curl"
    wget -q -i "$OUT/batch-small.list" -P "$DL/wget"
    for t in rawhttp curl wget; do check_saved "$DL/$t" "$src" 1000; done
    report "$json" rawhttp rawhttp-seq curl wget
    local r c w
    r=$(field "$json" rawhttp median_s)
    c=$(field "$json" curl median_s)
    w=$(field "$json" wget median_s)
    ROWS+=("| 1000 × 2 KiB, -Z 8, time s | $c | $w | $r | $(ratio "$r" "$c")× curl, $(ratio "$r" "$w")× wget | ≤ 0.5× both | $(verdict_le "$r" "$c" "$w") |")
    ROWS+=("| 1000 × 2 KiB, in order (no -Z), time s | – | $w | $(field "$json" rawhttp-seq median_s) | $(ratio "$(field "$json" rawhttp-seq median_s)" "$w")× wget | – | info |")
    ROWS+=("| 1000 × 2 KiB, client CPU s | $(field "$json" curl cpu_s) | $(field "$json" wget cpu_s) | $(field "$json" rawhttp cpu_s) | $(ratio "$(field "$json" rawhttp cpu_s)" "$(field "$json" curl cpu_s)")× curl | – | info |")
    stop_pid "$NGINX_PID"
}

# verdict_le R C W: PASS when R <= 0.5 C and R <= 0.5 W.
verdict_le() {
    awk -v r="$1" -v c="$2" -v w="$3" 'BEGIN { print (r <= 0.5 * c && r <= 0.5 * w) ? "PASS" : "MISSED" }'
}

bench_big() {
    local src=$WWW/big json=$OUT/batch-big.json i mib=$((BIG_COUNT * 10))
    mkdir -p "$src"
    for i in $(seq 0 $((BIG_COUNT - 1))); do make_file "$src/b$i.bin" $((10 * 1024 * 1024)); done
    start_nginx batch-nginx "$WWW" "" ""
    lists batch-big "$BIG_COUNT" "http://127.0.0.1:$NGINX_PORT/big/" b
    python3 "$BENCH_DIR/interleave.py" "${ROUNDS:-3}" "rm -rf $DL/* && sync" \
        "rawhttp=$BIN fetch -s -Z --parallel-max 8 --input-file $OUT/batch-big.list --output-dir $DL/rawhttp" \
        "curl=curl -s --no-progress-meter -Z --parallel-max 8 --remote-name-all --create-dirs --output-dir $DL/curl -K $OUT/batch-big.curl" \
        >"$json" || die "big: a run failed"
    rm -rf "${DL:?}"/*
    "$BIN" fetch -s -Z --parallel-max 8 --input-file "$OUT/batch-big.list" --output-dir "$DL/rawhttp"
    check_saved "$DL/rawhttp" "$src" "$BIG_COUNT"
    rm -rf "${DL:?}"/*
    report "$json" rawhttp curl
    local r c rr cr
    r=$(awk -v s="$(field "$json" rawhttp median_s)" -v m="$mib" 'BEGIN { printf "%.0f", m / s }')
    c=$(awk -v s="$(field "$json" curl median_s)" -v m="$mib" 'BEGIN { printf "%.0f", m / s }')
    rr=$(field "$json" rawhttp rss_mib)
    cr=$(field "$json" curl rss_mib)
    ROWS+=("| $BIG_COUNT × 10 MiB, -Z 8, MiB/s | $c | – | $r | $(ratio "$r" "$c")× | ≥ 1.0× | $(awk -v r="$r" -v c="$c" 'BEGIN { print (r >= c) ? "PASS" : "MISSED" }') |")
    ROWS+=("| $BIG_COUNT × 10 MiB, peak RSS MiB | $cr | – | $rr | – | ≤ 16 MiB | $(awk -v r="$rr" 'BEGIN { print (r <= 16) ? "PASS" : "MISSED" }') |")
    stop_pid "$NGINX_PID"
}

bench_many() {
    local json=$OUT/batch-many.json
    start_nginx batch-nginx204 "$WWW" "" "location / { return 204; }"
    lists batch-many "$MANY" "http://127.0.0.1:$NGINX_PORT/n/" n
    python3 "$BENCH_DIR/interleave.py" "${ROUNDS:-3}" "" \
        "rawhttp=$BIN fetch -s -Z --parallel-max 8 --input-file $OUT/batch-many.list --output-dir $DL/many" \
        >"$json" || die "many: a run failed"
    report "$json" rawhttp
    local rr
    rr=$(field "$json" rawhttp rss_mib)
    ROWS+=("| $MANY URLs → 204, -Z 8, peak RSS MiB (time s) | – | – | $rr ($(field "$json" rawhttp median_s)) | – | ≤ 16 MiB | $(awk -v r="$rr" 'BEGIN { print (r <= 16) ? "PASS" : "MISSED" }') |")
    stop_pid "$NGINX_PID"
}

want small && bench_small
want big && bench_big
want many && bench_many

{
    echo "| test | curl | wget | rawhttp | ratio | target | verdict |"
    echo "|---|---:|---:|---:|---:|---|---|"
    printf '%s\n' "${ROWS[@]}"
} | tee "$OUT/batch.md"
