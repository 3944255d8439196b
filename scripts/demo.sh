#!/usr/bin/env bash
# The main job end to end, in a temporary workspace, with nothing but the
# ipos binary: declare the world from a folder of manifests, ingest and
# derive, query with time travel, gate commits with contracts, mask what
# an analyst sees, run an algorithm next to the data under a signed
# agreement, and show that tampering with data or audit log is caught.
set -euo pipefail

IPOS="${IPOS:-$(pwd)/bin/ipos}"
HTTPD="${HTTPD:-$(pwd)/bin/demo-httpd}"
WASM="${WASM:-$(pwd)/bin/algorithms/aggregate.wasm}"
VERSITYGW="${VERSITYGW:-$(pwd)/bin/tools/versitygw}"
EXAMPLES="$(pwd)/examples"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/ipos-demo.XXXXXX")"
HTTPD_PID=""
S3_PID=""
cleanup() {
  if [ -n "$HTTPD_PID" ]; then kill "$HTTPD_PID" 2>/dev/null || true; fi
  if [ -n "$S3_PID" ]; then kill "$S3_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
cd "$WORK"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ ipos %s\n' "$*"; "$IPOS" "$@"; }

step "A workspace with a node identity"
run init

step "The world declared in one folder: datasets (kamu's DatasetSnapshot format and ipos.dev/v1alpha1), a Depot, a Secret, contracts, a policy"
run apply -f "$EXAMPLES/" --no-reconcile
echo "(apply recorded the desired state; one pass of the controller makes it so)"
run reconcile --once
run get datasets
run list

step "A metadata chain, newest block first"
run log covid.cases.per-capita

step "The same block as kamu would print it"
run log covid.cases --limit 1 -o yaml

step "Root datasets: a CSV snapshot polled from files"
mkdir -p data
cp "$EXAMPLES/data/regions-1.csv" "$EXAMPLES/data/stations-1.csv" data/
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

step "Declared resources: a Depot, a sealed Secret, the controller as a node"
echo "(weather.stations read depot://files/stations-*.csv in the pulls above; the Depot 'files' is the folder data/)"
run tail weather.stations
run get secret partner-token -o yaml
run describe dataset weather.daily
echo "(applying the same folder again changes nothing: no new blocks, generations unchanged)"
run apply -f "$EXAMPLES/"
echo "(ipos serve keeps the workspace so and pulls scheduled datasets: one second of a node, then SIGINT)"
printf '$ ipos serve --resync 200ms\n'
"$IPOS" serve --resync 200ms &
SERVE_PID=$!
sleep 1
kill -INT "$SERVE_PID"
wait "$SERVE_PID"

step "Contracts gate every commit: a good batch, a bad one quarantined, a warning"
run ingest weather.daily "$EXAMPLES/data/weather-daily-good.ndjson"
HEAD_BEFORE="$("$IPOS" log weather.daily --limit 1 -o json | sed -n 's/.*"hash": "\(f1620[0-9a-f]*\)".*/\1/p' | head -n1)"
echo "(a malformed station code and 99 °C: the contract refuses the batch)"
printf '$ ipos ingest weather.daily weather-daily-bad.ndjson\n'
if "$IPOS" ingest weather.daily "$EXAMPLES/data/weather-daily-bad.ndjson"; then
  echo "demo: the bad batch was committed" >&2
  exit 1
fi
HEAD_AFTER="$("$IPOS" log weather.daily --limit 1 -o json | sed -n 's/.*"hash": "\(f1620[0-9a-f]*\)".*/\1/p' | head -n1)"
if [ "$HEAD_BEFORE" != "$HEAD_AFTER" ]; then
  echo "demo: the head moved after a refused batch" >&2
  exit 1
fi
echo "(the head is still $HEAD_AFTER; the batch and its report wait in quarantine)"
run contract quarantine
cat .ipos/quarantine/weather.daily/*/report.json
echo "(mostly missing readings: a warning, so the batch commits and the warning is an event)"
run ingest weather.daily "$EXAMPLES/data/weather-daily-sparse.ndjson"
run contract test weather-daily
echo "(a breaking change to the contract without a new major version is refused)"
"$IPOS" contract diff weather-daily "$EXAMPLES/changes/contract-weather-daily-v2.yaml" || true
if "$IPOS" apply -f "$EXAMPLES/changes/contract-weather-daily-v2.yaml"; then
  echo "demo: a breaking contract change was applied" >&2
  exit 1
fi
run contract export weather-stations

if [ -x "$VERSITYGW" ]; then
  step "Depots on S3 and PostgreSQL: a bucket read by glob, a table as a Snapshot"
  mkdir -p "$WORK/s3/lake/raw/sales"
  printf 'day,city,amount\n2024-01-01,kyiv,3\n2024-01-02,lviv,4\n' > "$WORK/s3/lake/raw/sales/2024-01.csv"
  "$VERSITYGW" -a demo-access -s demo-secret-key --port 127.0.0.1:19070 posix "$WORK/s3" >/dev/null 2>&1 &
  S3_PID=$!
  for _ in $(seq 100); do (echo > /dev/tcp/127.0.0.1/19070) 2>/dev/null && break; sleep 0.1; done
  PG=""
  export PGOPTIONS="--client-min-messages=warning"
  if command -v psql >/dev/null && psql -q -h 127.0.0.1 -U postgres -d test -c 'SELECT 1' >/dev/null 2>&1; then
    PG="crm.customers"
    psql -q -h 127.0.0.1 -U postgres -d test -c "DROP SCHEMA IF EXISTS ipos_demo CASCADE" -c "CREATE SCHEMA ipos_demo" \
      -c "CREATE TABLE ipos_demo.customers (id int PRIMARY KEY, name text, credit numeric(10,2), since timestamptz)" \
      -c "INSERT INTO ipos_demo.customers VALUES (1, 'ada', 10.50, '2024-01-02 03:04:05Z'), (2, 'bob', NULL, '2024-02-03 04:05:06Z')"
  else
    echo "(no PostgreSQL on 127.0.0.1:5432: the table depot is skipped)"
  fi
  run apply -f "$EXAMPLES/depots/"
  run pull lake.sales $PG
  echo "(nothing changed at the sources: nothing is committed)"
  run pull lake.sales $PG
  printf 'day,city,amount\n2024-02-01,kyiv,5\n' > "$WORK/s3/lake/raw/sales/2024-02.csv"
  if [ -n "$PG" ]; then
    psql -q -h 127.0.0.1 -U postgres -d test -c "UPDATE ipos_demo.customers SET credit = 99.99 WHERE id = 1"
  fi
  run pull lake.sales $PG
  run tail lake.sales
  if [ -n "$PG" ]; then
    run tail crm.customers
    psql -q -h 127.0.0.1 -U postgres -d test -c "DROP SCHEMA ipos_demo CASCADE"
  fi
  kill "$S3_PID"; wait "$S3_PID" 2>/dev/null || true; S3_PID=""
fi

step "Identities and policies: the owner sees everything, an analyst sees masked PII and only their organisation"
run ingest people "$EXAMPLES/data/people.ndjson"
run identity create analyst --role analyst --org acme --purpose research
run identity list
run sql -c 'SELECT name, email, org, city, salary FROM people ORDER BY name'
run --as analyst sql -c 'SELECT name, email, org, city, salary FROM people ORDER BY name'
run policy eval --as analyst query people
echo "(everything the analyst is not granted is denied, and recorded:)"
if "$IPOS" --as analyst ingest people "$EXAMPLES/data/people.ndjson"; then
  echo "demo: the analyst ingested without a policy allowing it" >&2
  exit 1
fi
echo "(the analyst cannot reach the raw file around the view:)"
if "$IPOS" --as analyst sql -c "SELECT * FROM read_parquet('.ipos/datasets/*/data/*')"; then
  echo "demo: the analyst read around the policy" >&2
  exit 1
fi

step "Compute-to-data: the analyst's algorithm goes to the data, under an agreement the owner signs"
run algorithm add "$WASM" --name aggregate --description "rows and mean per group" --arg group! --arg value! --arg dataset=people
run --as analyst agreement propose -f "$EXAMPLES/compute/agreement.yaml"
run agreement approve age-by-city
echo "(the job sees what the analyst's policies let through; cities with fewer than 3 people are suppressed)"
run --as analyst job run age-by-city --arg group=city --arg value=age
run --as analyst job output age-by-city-1
echo "(the same invocation again is answered from its signed receipt, without running)"
run --as analyst job run age-by-city --arg group=city --arg value=age
run get jobs
run get agreements -o wide
run ledger

step "The audit log: every mutation and access decision, hash-chained and signed"
run audit log --actor analyst
run audit verify

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

step "Tampering is caught: edit one byte of the audit log"
cp .ipos/audit/log.jsonl "$WORK/log.orig"
printf '9' | dd of=.ipos/audit/log.jsonl bs=1 seek=7 conv=notrunc status=none
printf '$ ipos audit verify\n'
status=0
"$IPOS" audit verify || status=$?
if [ "$status" -ne 3 ]; then
  echo "demo: an edited audit entry went unnoticed (exit status $status)" >&2
  exit 1
fi
echo "(exit status 3: the edited entry is named)"
cp "$WORK/log.orig" .ipos/audit/log.jsonl
run audit verify

step "Done"
echo "The demo workspace in $WORK is removed on exit."
