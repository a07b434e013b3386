#!/usr/bin/env bash
# Run every cargo-fuzz target for SECONDS each (default 600), one after another, over its
# corpus in fuzz/corpus/<target>/ (committed seeds and regression inputs, plus whatever earlier
# local runs grew), and print one line per target: executions, coverage, crashes.
# Exit status 1 when any target crashed (CI relies on this), 2 when the build failed.
#
#   fuzz/run.sh [SECONDS] [TARGET...]     # all targets when none is named
#   FUZZ_FORK=1 fuzz/run.sh 600           # keep going past a crash (-fork=1 -ignore_crashes=1)
#
# Needs cargo-fuzz (`cargo install cargo-fuzz --version 0.13.2 --locked`) and a C++ compiler.
# RUSTC_BOOTSTRAP=1 lets the stable toolchain take cargo-fuzz's nightly-only flags (see
# fuzz/README.md). Logs go to fuzz/logs/<target>.log, crashes to fuzz/artifacts/<target>/.
set -uo pipefail
cd "$(dirname "$0")/.."
export RUSTC_BOOTSTRAP=1

seconds=${1:-600}
shift || true
if ! [[ $seconds =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
  echo "usage: fuzz/run.sh [SECONDS] [TARGET...]" >&2
  exit 2
fi
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo fuzz list)
fi

# Build everything once up front, so the timed runs measure fuzzing, not compiling.
cargo fuzz build || exit 2

extra=()
if [ "${FUZZ_FORK:-0}" = 1 ]; then
  extra=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
fi

mkdir -p fuzz/logs
printf '%-16s %8s %14s %10s %8s\n' target seconds executions coverage crashes
failed=0
for t in "${targets[@]}"; do
  mkdir -p "fuzz/artifacts/$t" "fuzz/corpus/$t"
  before=$(find "fuzz/artifacts/$t" -type f | wc -l)
  log="fuzz/logs/$t.log"
  # -timeout: an input running 10 s is a hang; -rss_limit_mb: the machine is shared.
  cargo fuzz run "$t" -- -max_total_time="$seconds" -timeout=10 -rss_limit_mb=1024 \
    -print_final_stats=1 "${extra[@]}" >"$log" 2>&1
  status=$?
  after=$(find "fuzz/artifacts/$t" -type f | wc -l)
  crashes=$((after - before))
  if [ "$status" -ne 0 ] && [ "$crashes" -eq 0 ]; then
    crashes=1 # died without leaving an artifact (build error, OOM of the runner, ...)
  fi
  # Executions: libFuzzer's final stat; in fork mode, the last "#N" progress line.
  execs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -1)
  [ -n "$execs" ] || execs=$(sed -n 's/^#\([0-9]*\).*/\1/p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  printf '%-16s %8s %14s %10s %8s\n' "$t" "$seconds" "${execs:-?}" "${cov:-?}" "$crashes"
  if [ "$crashes" -gt 0 ]; then
    failed=1
    grep -m3 -E 'panicked at|SUMMARY|Test unit written' "$log" | sed 's/^/    /'
  fi
done
exit "$failed"
