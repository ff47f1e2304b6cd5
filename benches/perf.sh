#!/usr/bin/env bash
# The performance harness behind README "Performance": one command, every figure.
#
#   benches/perf.sh            # all rows; the 10M-entry rows take ~15-25 min
#   benches/perf.sh quick      # skip the 10M-entry log (proofs, memory, restart)
#   benches/perf.sh big        # only the 10M-entry rows
#   benches/perf.sh caps       # only the cost of published caps (1M payouts, ~10 min)
#   benches/perf.sh pg-scale   # PostgreSQL from 0 to 10M entries, 3 processes (~40 min)
#
# Builds the release binary, starts fresh services (SQLite in a temp folder; PostgreSQL in
# a database of its own that is dropped afterwards), drives them with `pennytrail
# loadgen`, and runs the raw baselines (benches/sqlite_baseline.py,
# benches/postgres_baseline.py) in the same run.
# Rate limits: the per-token write limit (default 50,000 requests/s) is above every load
# applied here; set PERF_ORG_WRITES to change what the servers are started with.
set -euo pipefail
cd "$(dirname "$0")/.."
MODE="${1:-full}"
SECONDS_PER_RUN="${PERF_SECONDS:-15}"
TARGET="${CARGO_TARGET_DIR:-target}"
BIN="$TARGET/release/pennytrail"
ORG_WRITES="${PERF_ORG_WRITES:-50000}"
WORK="$(mktemp -d "${PERF_DIR:-/tmp}/pennytrail-perf.XXXXXX")"
PGDB="pennytrail_perf_$$"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for db in "$PGDB" "${PGDB}"_{1..4}; do
    dropdb -h 127.0.0.1 -U postgres --if-exists "$db" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "== machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); $(date -u +%Y-%m-%dT%H:%MZ)"
cargo build --release --locked --quiet
echo "== binary: $BIN ($(git describe --always --dirty 2>/dev/null || echo unknown))"

# start NAME PORT [serve args...]: starts a service, waits until it answers.
start() {
  local name="$1" port="$2"; shift 2
  mkdir -p "$WORK/$name"
  RUST_LOG=warn "$BIN" serve --data-dir "$WORK/$name" --listen "127.0.0.1:$port" \
    --org-writes-per-second "$ORG_WRITES" "$@" 2>"$WORK/$name.log" &
  PIDS+=($!)
  LAST_PID=$!
  for _ in $(seq 1 600); do
    curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "service $name did not start:"; cat "$WORK/$name.log"; exit 1
}

loadgen() {
  local port="$1" name="$2"; shift 2
  "$BIN" loadgen --url "http://127.0.0.1:$port" --token-file "$WORK/$name/operator.token" \
    --seconds "$SECONDS_PER_RUN" "$@"
}

peak_rss_mb() { awk '/VmHWM/ {printf "%.0f", $2/1024}' "/proc/$1/status"; }

if [ "$MODE" = caps ]; then
# 1,000,000 payouts of 1 cent to 100,000 people at random, in batches of 1,000, to a
# campaign without caps and to one with every cap, each on a fresh service, per backend.
payouts() {
  local name="$1" port="$2"; shift 2
  "$BIN" loadgen --url "http://127.0.0.1:$port" --token-file "$WORK/$name/operator.token" \
    --seconds 1800 --workload payout-batches --people 100000 --batch-size 1000 \
    --concurrency 4 --max-items 1000000 "$@"
}
n=0
for backend in sqlite pg; do
  for caps in "" --capped; do
    n=$((n + 1)); port=$((18190 + n)); name="caps$n"
    echo
    echo "== 9. 1,000,000 payouts to 100,000 people, $backend, campaign ${caps:-without caps}"
    if [ "$backend" = pg ]; then
      createdb -h 127.0.0.1 -U postgres "${PGDB}_$n"
      start "$name" "$port" --database-url "postgres://postgres@127.0.0.1:5432/${PGDB}_$n"
    else
      start "$name" "$port"
    fi
    payouts "$name" "$port" $caps
    kill "$LAST_PID"; wait "$LAST_PID" 2>/dev/null || true
    [ "$backend" = pg ] && dropdb -h 127.0.0.1 -U postgres "${PGDB}_$n"
  done
done
echo
echo "== 9. the same in memory (check, verifier, monitor)"
cargo bench --locked --quiet --bench caps
exit 0
fi

if [ "$MODE" = pg-scale ]; then
# PostgreSQL as its log grows to 10,000,000 entries (PERF_SCALE_ENTRIES): three API
# processes on one database, all under load the whole run. The batch rate of all three
# together (batches of 1,000 donations, 2 in flight per process) is measured for
# PERF_SECONDS at 1M, 5M and the full size; then single donations and /healthz at the full
# size, the raw PostgreSQL baseline on the same server, a restart, and `pennytrail check`
# over the whole store (one log, gap-free, no fork).
FULL="${PERF_SCALE_ENTRIES:-10000000}"
createdb -h 127.0.0.1 -U postgres "$PGDB"
URL="postgres://postgres@127.0.0.1:5432/$PGDB"
ORIGIN=perf.pennytrail.example/log
start pg1 18201 --database-url "$URL" --origin "$ORIGIN"
SHARED=(--database-url "$URL" --origin "$ORIGIN" --log-key "$WORK/pg1/log.key" --donor-secret "$WORK/pg1/donor.secret")
start pg2 18202 "${SHARED[@]}"
start pg3 18203 "${SHARED[@]}"
cp "$WORK/pg1/operator.token" "$WORK/pg2/operator.token"
cp "$WORK/pg1/operator.token" "$WORK/pg3/operator.token"
log_size() { curl -fs http://127.0.0.1:18201/v1/log | python3 -c 'import json,sys; print(json.load(sys.stdin)["size"])'; }
# all3 SECONDS MAX_ITEMS_EACH ARGS…: one loadgen per process at once; prints each report
# and the sum of their items/s.
all3() {
  local seconds="$1" max="$2"; shift 2
  local loads=()
  for p in 1 2 3; do
    "$BIN" loadgen --url "http://127.0.0.1:1820$p" --token-file "$WORK/pg$p/operator.token" \
      --seconds "$seconds" --max-items "$max" "$@" > "$WORK/load$p.out" 2>"$WORK/load$p.err" &
    loads+=($!)
  done
  for pid in "${loads[@]}"; do wait "$pid" || true; done
  cat "$WORK"/load{1,2,3}.out
  python3 - "$WORK"/load{1,2,3}.out <<'PY'
import re, sys
rates = [float(re.search(r"([0-9.]+) items/s", open(f).read()).group(1)) for f in sys.argv[1:]]
errors = [int(re.search(r"(\d+) errors", open(f).read()).group(1)) for f in sys.argv[1:]]
print(f"  together: {sum(rates):.0f} items/s, {sum(errors)} errors")
PY
}
BATCH=(--workload donation-batches --batch-size 1000 --concurrency 2)
echo
echo "== 10. the PostgreSQL baseline (multi-row INSERTs of the rows an append writes, one client)"
python3 benches/postgres_baseline.py --database-url "$URL" --entries 300000
for mark in 1000000 5000000 "$FULL"; do
  [ "$mark" -gt "$FULL" ] && continue
  size=$(log_size)
  if [ "$size" -lt "$mark" ]; then
    echo
    echo "-- filling to $mark entries (from $size)"
    started=$(date +%s)
    all3 100000 $(( (mark - size) / 3 )) "${BATCH[@]}" > "$WORK/fill.out"
    tail -1 "$WORK/fill.out"
    echo "  filled in $(( $(date +%s) - started )) s; log size $(log_size)"
  fi
  echo
  echo "== 11. batches of 1,000 donations at $(log_size) entries, 3 processes"
  all3 "$SECONDS_PER_RUN" 1000000000 "${BATCH[@]}"
done
echo
echo "== 12. single donations and /healthz at $(log_size) entries, 3 processes, 64 clients each"
all3 "$SECONDS_PER_RUN" 1000000000 --workload donations --concurrency 64
all3 "$SECONDS_PER_RUN" 1000000000 --workload healthz --concurrency 64
echo
echo "== 13. restart at $(log_size) entries: one process, until /readyz answers"
for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
wait 2>/dev/null || true
PIDS=()
started=$(date +%s%N)
start pg1 18201 --database-url "$URL" --origin "$ORIGIN"
for _ in $(seq 1 6000); do curl -fs http://127.0.0.1:18201/readyz >/dev/null 2>&1 && break; sleep 0.1; done
echo "restart until /readyz answered: $(( ($(date +%s%N) - started) / 1000000 )) ms; log size $(log_size)"
kill "$LAST_PID"; wait "$LAST_PID" 2>/dev/null || true
echo
echo "== 14. pennytrail check over the whole store"
started=$(date +%s)
"$BIN" check --data-dir "$WORK/pg1" --database-url "$URL" 2>/dev/null
echo "check took $(( $(date +%s) - started )) s"
exit 0
fi

if [ "$MODE" != big ]; then
echo
echo "== 1. single donation POSTs, 64 clients, SQLite (synchronous=FULL)"
start sqlite 18181
loadgen 18181 sqlite --workload donations --concurrency 64

echo
echo "== 3. batches of 1,000 donations, SQLite, and the raw sqlite3 executemany baseline"
loadgen 18181 sqlite --workload donation-batches --batch-size 1000 --concurrency 4
python3 benches/sqlite_baseline.py --entries 300000 --dir "$WORK"

echo
echo "== 7. donation trace in a campaign of 1M donations (p50/p99)"
loadgen 18181 sqlite --workload traces --preload 1000000 --concurrency 64
echo "server peak RSS: $(peak_rss_mb "$LAST_PID") MB"
kill "$LAST_PID"; wait "$LAST_PID" 2>/dev/null || true

echo
echo "== 2. single donation POSTs, 64 clients, PostgreSQL"
createdb -h 127.0.0.1 -U postgres "$PGDB"
start pg 18182 --database-url "postgres://postgres@127.0.0.1:5432/$PGDB"
loadgen 18182 pg --workload donations --concurrency 64
loadgen 18182 pg --workload donation-batches --batch-size 1000 --concurrency 4
loadgen 18182 pg --workload healthz --concurrency 64
python3 benches/postgres_baseline.py --database-url "postgres://postgres@127.0.0.1:5432/$PGDB" --entries 300000
kill "$LAST_PID"; wait "$LAST_PID" 2>/dev/null || true
fi

[ "$MODE" = quick ] && exit 0

echo
echo "== 5. memory while appending 10M entries (batches of 1,000), SQLite"
start big 18183
BIG_PID=$LAST_PID
(
  while kill -0 "$BIG_PID" 2>/dev/null; do
    size=$(curl -fs http://127.0.0.1:18183/v1/log | python3 -c 'import json,sys; print(json.load(sys.stdin)["size"])' 2>/dev/null || echo "?")
    echo "  log size $size: RSS $(awk '/VmRSS/ {printf "%.0f", $2/1024}' /proc/$BIG_PID/status) MB, peak $(peak_rss_mb $BIG_PID) MB"
    sleep 60
  done
) &
MONITOR=$!
PERF_SECONDS_BIG="${PERF_BIG_SECONDS:-900}"
"$BIN" loadgen --url http://127.0.0.1:18183 --token-file "$WORK/big/operator.token" \
  --seconds "$PERF_SECONDS_BIG" --workload donation-batches --batch-size 1000 --concurrency 4 \
  --max-items 10000000
kill "$MONITOR" 2>/dev/null || true
echo "final: log size $(curl -fs http://127.0.0.1:18183/v1/log | python3 -c 'import json,sys; print(json.load(sys.stdin)["size"])'), peak RSS $(peak_rss_mb "$BIG_PID") MB"

echo
echo "== 4. inclusion proofs on the 10M-entry log"
loadgen 18183 big --workload proofs --concurrency 64

echo
echo "== 6. restart of the 10M-entry store until serving"
kill "$BIG_PID"; wait "$BIG_PID" 2>/dev/null || true
started=$(date +%s%N)
start big 18183
BIG_PID=$LAST_PID
echo "restart until /healthz answered: $(( ($(date +%s%N) - started) / 1000000 )) ms"

echo
echo "== 7. full level-0 tiles (/log/tile/0/N, random N), 64 clients, beside /healthz"
tile_cache() { curl -fs "http://127.0.0.1:$1/metrics" | grep -E '^pennytrail_tile_cache_(bytes|tiles|hits_total|misses_total) '; }
loadgen 18183 big --workload healthz --concurrency 64
echo "-- tile cache at its default (256 MB), a first pass then a second:"
loadgen 18183 big --workload tiles --concurrency 64
loadgen 18183 big --workload tiles --concurrency 64
tile_cache 18183
echo "-- tile cache 0 MB (every tile read from the database), the baseline:"
kill "$BIG_PID"; wait "$BIG_PID" 2>/dev/null || true
start big 18183 --tile-cache-mb 0
BIG_PID=$LAST_PID
loadgen 18183 big --workload tiles --concurrency 64
tile_cache 18183
