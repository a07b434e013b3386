#!/usr/bin/env bash
# rawhttp save --recursive vs wget -r -p -k -np against one local nginx, same run (issue 8).
#
#   bench/save.sh
#
# A generated site (PAGES pages x 10 requisites: 6 images, 2 style sheets, 2 scripts, every
# page linked from index.html and from its neighbours) is served by nginx with its MIME types.
# Each round saves it once with each tool, in alternating order, timed by /usr/bin/time -v
# (wall time, peak RSS, CPU). Targets: rawhttp wall time <= 0.25x wget's, identical set of
# files saved (rawhttp's own .rawhttp-save state folder aside), rawhttp peak RSS <= 32 MiB.
# Environment: PAGES (500), ROUNDS (5), PARALLEL (8: rawhttp's --parallel-max), RAWHTTP_BIN
# (skip the build). Raw output: bench/out/save-*; the markdown rows are printed on stdout and
# saved to bench/out/save.md.

# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

PAGES=${PAGES:-500}
ROUNDS=${ROUNDS:-5}
PARALLEL=${PARALLEL:-8}
for v in PAGES ROUNDS PARALLEL; do
    case ${!v} in '' | *[!0-9]* | 0) die "$v must be a positive whole number, got '${!v}'" ;; esac
done

need python3 python3
need wget wget
need /usr/bin/time time
build_rawhttp

SITE=$OUT/save-site
note "generating $PAGES pages x 10 requisites in $SITE"
python3 - "$SITE" "$PAGES" <<'EOF'
import os, random, sys
root, pages = sys.argv[1], int(sys.argv[2])
rng = random.Random(8)
os.makedirs(os.path.join(root, "pages"), exist_ok=True)
def write(path, data):
    full = os.path.join(root, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
links = "".join(f'<li><a href="pages/p{i}.html">page {i}</a></li>\n' for i in range(pages))
write("index.html", f"<!doctype html><title>bench site</title><ul>\n{links}</ul>\n")
for i in range(pages):
    a = f"../assets/p{i}"
    imgs = "".join(f'<img src="{a}/img{k}.png" alt="">' for k in range(6))
    head = (f'<link rel="stylesheet" href="{a}/s0.css"><link rel="stylesheet" href="{a}/s1.css">'
            f'<script src="{a}/j0.js"></script><script src="{a}/j1.js"></script>')
    nav = f'<a href="p{(i + 1) % pages}.html">next</a> <a href="p{(i - 1) % pages}.html">prev</a>'
    text = "<p>" + "lorem ipsum dolor sit amet " * 40 + "</p>"
    write(f"pages/p{i}.html", f"<!doctype html><html><head><title>p{i}</title>{head}</head>"
                              f"<body>{nav}{imgs}{text}<a href=\"../index.html\">home</a></body></html>")
    for k in range(6):
        write(f"assets/p{i}/img{k}.png", rng.randbytes(rng.randint(1024, 8192)))
    for k in range(2):
        write(f"assets/p{i}/s{k}.css", f"body {{ margin: {k}px; }}\n" * 20)
        write(f"assets/p{i}/j{k}.js", f"var v{k} = {i};\n" * 20)
EOF

start_nginx save-nginx "$SITE" "" "include /etc/nginx/mime.types;"
URL=http://127.0.0.1:$NGINX_PORT/
DEST=$OUT/save-dest

# run TOOL ROUND: one save into $DEST/TOOL, fresh; appends "wall_s max_rss_kib cpu_s" to
# $OUT/save-TOOL.times.
run() {
    local tool=$1 round=$2 dir=$DEST/$1 log=$OUT/save-$1-$2.time
    rm -rf "$dir"
    mkdir -p "$dir"
    case $tool in
    rawhttp) /usr/bin/time -v -o "$log" "$BIN" save --recursive -Z --parallel-max "$PARALLEL" -s "$URL" "$dir" ;;
    # -nH: files straight under DIR like rawhttp's; the crawl and conversion are wget's own.
    wget) /usr/bin/time -v -o "$log" wget -q -r -p -k -np -nH -P "$dir" "$URL" ;;
    esac || note "$tool exited $? in round $round (a failure is reported, not hidden)"
    local wall rss cpu
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' "$log")
    rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$log")
    cpu=$(awk -F': ' '/User time|System time/ { s += $2 } END { print s }' "$log")
    echo "$wall $rss $cpu" >>"$OUT/save-$tool.times"
}

rm -f "$OUT"/save-rawhttp.times "$OUT"/save-wget.times
for round in $(seq 1 "$ROUNDS"); do
    if [ $((round % 2)) -eq 1 ]; then order="rawhttp wget"; else order="wget rawhttp"; fi
    for tool in $order; do run "$tool" "$round"; done
    note "round $round/$ROUNDS done"
done

# The file sets must match.
(cd "$DEST/rawhttp" && find . -type f -not -path './.rawhttp-save/*' | sort) >"$OUT/save-rawhttp.files"
(cd "$DEST/wget" && find . -type f | sort) >"$OUT/save-wget.files"
if diff -q "$OUT/save-rawhttp.files" "$OUT/save-wget.files" >/dev/null; then
    same="identical ($(wc -l <"$OUT/save-wget.files") files)"
else
    same="DIFFERENT (see diff $OUT/save-rawhttp.files $OUT/save-wget.files)"
fi

# stats FILE COLUMN: "median min max" of a column.
stats() {
    sort -n -k"$2","$2" "$1" | awk -v c="$2" '{ v[NR] = $c } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; print m, v[1], v[NR] }'
}
read -r rmed rmin rmax <<<"$(stats "$OUT/save-rawhttp.times" 1)"
read -r wmed wmin wmax <<<"$(stats "$OUT/save-wget.times" 1)"
read -r rss _ rssmax <<<"$(stats "$OUT/save-rawhttp.times" 2)"
read -r wrss _ _ <<<"$(stats "$OUT/save-wget.times" 2)"
read -r rcpu _ _ <<<"$(stats "$OUT/save-rawhttp.times" 3)"
read -r wcpu _ _ <<<"$(stats "$OUT/save-wget.times" 3)"
ratio=$(awk -v a="$rmed" -v b="$wmed" 'BEGIN { printf "%.3f", a / b }')
files=$((PAGES * 11 + 1))
{
    echo "| save --recursive, $PAGES pages x 10 requisites ($files files), nginx, $ROUNDS rounds | rawhttp | wget -r -p -k -np | ratio | target |"
    echo "|---|---|---|---|---|"
    echo "| wall time, median (range) | ${rmed} s (${rmin}-${rmax}) | ${wmed} s (${wmin}-${wmax}) | ${ratio}x | <= 0.25x: $(awk -v r="$ratio" 'BEGIN { print (r <= 0.25) ? "met" : "MISSED" }') |"
    echo "| peak RSS, median (max) | $((rss / 1024)) MiB ($((rssmax / 1024)) MiB) | $((wrss / 1024)) MiB | | <= 32 MiB: $([ "$rssmax" -le $((32 * 1024)) ] && echo met || echo MISSED) |"
    echo "| client CPU (user+sys), median | ${rcpu} s | ${wcpu} s | $(awk -v a="$rcpu" -v b="$wcpu" 'BEGIN { printf "%.2f", a / b }')x | |"
    echo "| files saved | $same | | | identical |"
} | tee "$OUT/save.md"
