#!/usr/bin/env bash
# The main job end to end, in a temporary workspace, with nothing but the
# ipos binary: create a workspace, add datasets from manifests, read their
# chains, verify them, and show that tampering is caught.
set -euo pipefail

IPOS="${IPOS:-$(pwd)/bin/ipos}"
EXAMPLES="$(pwd)/examples"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/ipos-demo.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
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

step "Integrity: every block, link and data file checked"
run verify --integrity --all

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
