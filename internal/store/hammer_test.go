package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/ipos-dev/ipos/internal/odf"
	"github.com/ipos-dev/ipos/internal/store"
)

// The hammer treats a dataset's head as a counter: each increment stores
// a block naming the previous head, the worker and its step, then moves
// the head to it by compare-and-swap, retrying on conflict. If every
// successful swap survives, walking the chain back from the head finds
// every worker's steps, each exactly once and in order.

// hammer makes n increments as worker name and returns how many swaps
// lost to another worker.
func hammer(ctx context.Context, ds *store.Dataset, name string, n int) (conflicts int, err error) {
	for i := range n {
		for {
			cur, err := ds.Refs.Get(ctx, store.Head)
			if err != nil && !errors.Is(err, store.ErrRefNotFound) {
				return conflicts, err
			}
			prev := "-"
			if !cur.IsZero() {
				prev = cur.String()
			}
			h, err := ds.Blocks.Put(ctx, fmt.Appendf(nil, "%s\n%s\n%d\n", prev, name, i))
			if err != nil {
				return conflicts, err
			}
			err = ds.Refs.CompareAndSwap(ctx, store.Head, cur, h)
			if err == nil {
				break
			}
			if !errors.Is(err, store.ErrConflict) {
				return conflicts, err
			}
			conflicts++
		}
	}
	return conflicts, nil
}

// checkChain walks the chain from the head and checks that it holds n
// steps of each worker, in order, and nothing else.
func checkChain(t *testing.T, ds *store.Dataset, workers []string, n int) {
	t.Helper()
	ctx := t.Context()
	next := make(map[string]int) // worker → step expected next, walking backwards
	for _, w := range workers {
		next[w] = n - 1
	}
	h, err := ds.Refs.Get(ctx, store.Head)
	if err != nil {
		t.Fatalf("head: %v", err)
	}
	length := 0
	for {
		data, err := ds.Blocks.Get(ctx, h)
		if err != nil {
			t.Fatalf("block %d from the head: %v", length, err)
		}
		fields := strings.Split(string(bytes.TrimSuffix(data, []byte("\n"))), "\n")
		if len(fields) != 3 {
			t.Fatalf("block %s: malformed %q", h, data)
		}
		step, err := strconv.Atoi(fields[2])
		if err != nil {
			t.Fatalf("block %s: %v", h, err)
		}
		want, ok := next[fields[1]]
		if !ok {
			t.Fatalf("block %s: unknown worker %q", h, fields[1])
		}
		if step != want {
			t.Fatalf("block %s: worker %s step %d, want %d (an update was lost or repeated)", h, fields[1], step, want)
		}
		next[fields[1]]--
		length++
		if fields[0] == "-" {
			break
		}
		if h, err = odf.ParseMultihashString(fields[0]); err != nil {
			t.Fatalf("block %s: prev: %v", h, err)
		}
	}
	if want := len(workers) * n; length != want {
		t.Errorf("chain has %d blocks, want %d", length, want)
	}
	for w, step := range next {
		if step != -1 {
			t.Errorf("worker %s: steps 0..%d missing from the chain", w, step)
		}
	}
}

// runHammer runs one goroutine per worker on ds and checks the result.
func runHammer(t *testing.T, ds *store.Dataset, workers []string, n int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, len(workers))
	conflicts := make([]int, len(workers))
	for i, w := range workers {
		wg.Go(func() { conflicts[i], errs[i] = hammer(t.Context(), ds, w, n) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("worker %s: %v", workers[i], err)
		}
	}
	t.Logf("conflicts per worker: %v", conflicts)
	checkChain(t, ds, workers, n)
}
