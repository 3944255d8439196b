# IPOS build, demo, test and check targets. `make demo` and `make test` are
# the two commands of the README's quick start.

GO      ?= go
BIN     := bin/ipos
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/ipos-dev/ipos/internal/cli.Version=$(VERSION)

.PHONY: all build algorithms demo test test-race fuzz bench check tidy-check clean tools

# Test servers the tests start themselves, installed into bin/tools when
# missing. The fetch and CLI tests find versitygw (an S3 server) through
# $IPOS_VERSITYGW, then bin/tools/versitygw, then PATH.
TOOLS     := $(CURDIR)/bin/tools
VERSITYGW := $(TOOLS)/versitygw

all: build

build: algorithms
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/ipos

# Compute-to-data algorithms, built for WASI preview 1. go build's cache
# keeps this cheap when nothing changed.
algorithms:
	@mkdir -p bin/algorithms
	GOOS=wasip1 GOARCH=wasm $(GO) build -o bin/algorithms/aggregate.wasm ./examples/algorithms/aggregate

demo: build tools
	$(GO) build -o bin/demo-httpd ./scripts/httpd
	IPOS=$(CURDIR)/$(BIN) HTTPD=$(CURDIR)/bin/demo-httpd ./scripts/demo.sh

tools: $(VERSITYGW)

$(VERSITYGW):
	GOBIN=$(TOOLS) $(GO) install github.com/versity/versitygw/cmd/versitygw@v1.8.0

test: tools
	$(GO) test -count=1 ./...

test-race: tools
	$(GO) test -count=1 -race ./...

# Short fuzzing runs of every decoder and parser.
fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzDecodeBlock -fuzztime=30s ./internal/odf/
	$(GO) test -run='^$$' -fuzz=FuzzParseSnapshots -fuzztime=30s ./internal/odf/
	$(GO) test -run='^$$' -fuzz=FuzzUnmarshalBlockYAML -fuzztime=30s ./internal/odf/

bench:
	$(GO) test -run='^$$' -bench=. -benchtime=1x -count=1 ./internal/cli/ ./internal/ingest/ ./internal/sandbox/ ./internal/query/

check: tidy-check tools
	@test -z "$$(gofmt -l . | tee /dev/stderr)" || (echo "gofmt: files above need formatting" >&2; exit 1)
	$(GO) vet ./...
	$(GO) test -count=1 ./...

tidy-check:
	@cp go.mod /tmp/ipos-go.mod.bak; cp go.sum /tmp/ipos-go.sum.bak
	@$(GO) mod tidy -e
	@if ! diff -q go.mod /tmp/ipos-go.mod.bak >/dev/null || ! diff -q go.sum /tmp/ipos-go.sum.bak >/dev/null; then \
		echo "go mod tidy changed go.mod/go.sum: commit the tidied files" >&2; exit 1; fi

clean:
	rm -rf bin
