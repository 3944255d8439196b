#!/usr/bin/env bash
# The main job end to end, in a temporary workspace, with nothing but the
# ipos binary: create a workspace, add datasets from manifests, read their
# chains, verify them, and show that tampering is caught.
set -euo pipefail

IPOS="${IPOS:-$(pwd)/bin/ipos}"
HTTPD="${HTTPD:-$(pwd)/bin/demo-httpd}"
EXAMPLES="$(pwd)/examples"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/ipos-demo.XXXXXX")"
HTTPD_PID=""
cleanup() {
  if [ -n "$HTTPD_PID" ]; then kill "$HTTPD_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
cd "$WORK"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ ipos %s\n' "$*"; "$IPOS" "$@"; }

step "A workspace with a node identity"
run init

step "Datasets from DatasetSnapshot manifests (kamu's format)"
run add "$EXAMPLES/datasets/"
run list

step "A metadata chain, newest block first"
run log covid.cases.per-capita

step "The same block as kamu would print it"
run log covid.cases --limit 1 -o yaml

step "Root datasets: a CSV snapshot polled from files"
mkdir -p data
cp "$EXAMPLES/data/regions-1.csv" data/
run pull regions
run tail regions

step "Push ingest: NDJSON into a Ledger"
run ingest covid.cases "$EXAMPLES/data/cases-2026-11-01.ndjson"

step "A gzipped NDJSON file over HTTP, with its ETag kept as source state"
"$HTTPD" -dir "$EXAMPLES/data" -addr-file "$WORK/httpd.addr" &
HTTPD_PID=$!
for _ in $(seq 50); do [ -s "$WORK/httpd.addr" ] && break; sleep 0.1; done
export IPOS_DEMO_HTTP="$(cat "$WORK/httpd.addr")"
run pull covid.tests
echo "(pulling again: the server answers 304 Not Modified, so nothing is committed)"
run pull covid.tests

step "Derivative datasets: SQL over the roots, in dependency order"
run pull --all
run tail covid.cases.per-capita
run tail covid.tests.positivity
run inspect lineage

step "New root data: the filter updates incrementally, the aggregate is recomputed"
echo "(the second batch repeats one row of the first; the Ledger drops it)"
run ingest covid.cases "$EXAMPLES/data/cases-2026-11-02.ndjson"
run pull covid.cases.high covid.cases.per-capita
run tail covid.cases.high

AS_AT="$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)"
sleep 0.05

step "The snapshot changes: retractions (-R) and corrections (-C/+C) appear"
cp "$EXAMPLES/data/regions-2.csv" data/
run pull --all
run tail regions
run inspect schema regions
echo "(the aggregate followed: changed totals are retracted and appended again)"
run tail covid.cases.per-capita
run log covid.cases.per-capita --limit 1

step "SQL over datasets (their names are tables), and time travel"
run sql -c 'SELECT "offset", op, region, cases, cases_per_100k FROM "covid.cases.per-capita" ORDER BY "offset"'
echo "(the same query as the workspace was at $AS_AT, before the regions changed)"
run sql --as-at "$AS_AT" -c 'SELECT "offset", op, region, cases, cases_per_100k FROM "covid.cases.per-capita" ORDER BY "offset"'
echo "(user SQL reads only the datasets' own files:)"
if "$IPOS" sql -c "SELECT * FROM read_csv('/etc/passwd')"; then
  echo "demo: the SQL sandbox let a query read /etc/passwd" >&2
  exit 1
fi

step "The watermark only moves forward"
run set-watermark covid.cases 2026-11-03
if "$IPOS" set-watermark covid.cases 2026-10-01 2>/dev/null; then
  echo "demo: the watermark moved back" >&2
  exit 1
fi
echo "(moving it back to 2026-10-01 was refused)"

step "Declared resources: apply records desired state, a controller makes it so"
run apply -f "$EXAMPLES/resources/"
run get datasets
cp "$EXAMPLES/data/stations-1.csv" data/
echo "(weather.stations reads depot://files/stations-*.csv; the Depot 'files' is the folder data/)"
run pull weather.stations
run get secret partner-token -o yaml
run describe dataset weather.daily
echo "(applying the same manifests again changes nothing)"
run apply -f "$EXAMPLES/resources/"
echo "(ipos serve keeps the workspace so and pulls scheduled datasets: one second of a node, then SIGINT)"
printf '$ ipos serve --resync 200ms\n'
"$IPOS" serve --resync 200ms &
SERVE_PID=$!
sleep 1
kill -INT "$SERVE_PID"
wait "$SERVE_PID"

step "Verification: every block, link and data file, and every transform re-run"
run verify --all

step "Tampering is caught: flip one byte of a block"
id="$("$IPOS" list -o json | sed -n 's/.*"id": "did:odf:\(f[0-9a-f]*\)".*/\1/p' | head -n1)"
block="$(ls "$WORK/.ipos/datasets/$id/blocks" | head -n1)"
file="$WORK/.ipos/datasets/$id/blocks/$block"
chmod u+w "$file"
cp "$file" "$WORK/block.orig"
printf '\x01' | dd of="$file" bs=1 seek=40 conv=notrunc status=none
printf '$ ipos verify --integrity --all\n'
status=0
"$IPOS" verify --integrity --all || status=$?
if [ "$status" -ne 3 ]; then
  echo "demo: tampering went unnoticed (exit status $status)" >&2
  exit 1
fi
echo "(exit status 3: verification found the flipped byte and named the block)"
echo "Restoring the block:"
cp "$WORK/block.orig" "$file"
run verify --integrity --all

step "Done"
echo "The demo workspace in $WORK is removed on exit."
