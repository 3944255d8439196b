package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/ipos-dev/ipos/internal/odf"
	"github.com/ipos-dev/ipos/internal/store"
)

// TestRefs checks that the refs made by newRefs behave as store.Refs
// promises.
func TestRefs(t *testing.T, newRefs func(t *testing.T) store.Refs) {
	tests := []struct {
		name string
		fn   func(t *testing.T, r store.Refs)
	}{
		{"Unset", testRefUnset},
		{"CompareAndSwap", testCompareAndSwap},
		{"Names", testRefNames},
		{"InvalidInput", testRefInvalidInput},
		{"Concurrent", testConcurrentCAS},
		{"Canceled", testRefsCanceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, newRefs(t)) })
	}
}

// block returns a distinct, valid hash for each i.
func block(i int) odf.Multihash {
	return odf.SHA3(fmt.Appendf(nil, "block %d", i))
}

func mustGetRef(t *testing.T, r store.Refs, name string) odf.Multihash {
	t.Helper()
	h, err := r.Get(t.Context(), name)
	if err != nil {
		t.Fatalf("Get(%q): %v", name, err)
	}
	return h
}

func testRefUnset(t *testing.T, r store.Refs) {
	_, err := r.Get(t.Context(), store.Head)
	if !errors.Is(err, store.ErrRefNotFound) {
		t.Fatalf("Get of unset ref: err = %v, want ErrRefNotFound", err)
	}
	if !strings.Contains(err.Error(), store.Head) {
		t.Errorf("error %q does not name the ref", err)
	}
}

func testCompareAndSwap(t *testing.T, r store.Refs) {
	ctx := t.Context()
	a, b, c := block(1), block(2), block(3)

	// unset → a
	if err := r.CompareAndSwap(ctx, store.Head, nil, a); err != nil {
		t.Fatalf("CAS(unset → %s): %v", a, err)
	}
	if got := mustGetRef(t, r, store.Head); !got.Equal(a) {
		t.Fatalf("Get after CAS = %s, want %s", got, a)
	}

	// Expecting unset when set is a conflict that says what the ref is.
	err := r.CompareAndSwap(ctx, store.Head, odf.Multihash{}, b)
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CAS(unset → b) on set ref: err = %v, want ErrConflict", err)
	}
	if !strings.Contains(err.Error(), a.String()) {
		t.Errorf("conflict error %q does not say the ref is %s", err, a)
	}

	// Wrong prev is refused and changes nothing.
	err = r.CompareAndSwap(ctx, store.Head, c, b)
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CAS with wrong prev: err = %v, want ErrConflict", err)
	}
	if !strings.Contains(err.Error(), a.String()) {
		t.Errorf("conflict error %q does not say the ref is %s", err, a)
	}
	if got := mustGetRef(t, r, store.Head); !got.Equal(a) {
		t.Fatalf("Get after refused CAS = %s, want %s", got, a)
	}

	// Right prev is accepted.
	if err := r.CompareAndSwap(ctx, store.Head, a, b); err != nil {
		t.Fatalf("CAS(a → b): %v", err)
	}
	if got := mustGetRef(t, r, store.Head); !got.Equal(b) {
		t.Fatalf("Get after CAS = %s, want %s", got, b)
	}

	// Swapping to the same value is allowed.
	if err := r.CompareAndSwap(ctx, store.Head, b, b); err != nil {
		t.Fatalf("CAS(b → b): %v", err)
	}
	// The old value no longer works.
	if err := r.CompareAndSwap(ctx, store.Head, a, c); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CAS with stale prev: err = %v, want ErrConflict", err)
	}
}

func testRefNames(t *testing.T, r store.Refs) {
	ctx := t.Context()
	if err := r.CompareAndSwap(ctx, store.Head, nil, block(1)); err != nil {
		t.Fatal(err)
	}
	if err := r.CompareAndSwap(ctx, "other", nil, block(2)); err != nil {
		t.Fatalf("CAS on a second ref: %v", err)
	}
	if got := mustGetRef(t, r, store.Head); !got.Equal(block(1)) {
		t.Errorf("head = %s after setting another ref, want %s", got, block(1))
	}
	if got := mustGetRef(t, r, "other"); !got.Equal(block(2)) {
		t.Errorf("other = %s, want %s", got, block(2))
	}
}

func testRefInvalidInput(t *testing.T, r store.Refs) {
	ctx := t.Context()
	for _, name := range []string{"", ".", "..", "../head", "a/b", `a\b`, ".hidden", "nul\x00", "sp ace"} {
		if _, err := r.Get(ctx, name); err == nil || errors.Is(err, store.ErrRefNotFound) {
			t.Errorf("Get(%q): err = %v, want an invalid-name error", name, err)
		}
		if err := r.CompareAndSwap(ctx, name, nil, block(1)); err == nil {
			t.Errorf("CAS(%q): no error", name)
		}
	}
	for name, h := range map[string]odf.Multihash{
		"nil":      nil,
		"garbage":  {0xff, 0xff},
		"not sha3": odf.NewMultihash(0x12, make([]byte, 32)),
	} {
		if err := r.CompareAndSwap(ctx, store.Head, nil, h); err == nil {
			t.Errorf("CAS to %s hash: no error", name)
		}
		if h.IsZero() {
			continue // an empty prev means "unset", which is valid
		}
		if err := r.CompareAndSwap(ctx, store.Head, h, block(1)); err == nil {
			t.Errorf("CAS from %s hash: no error", name)
		}
	}
	if _, err := r.Get(ctx, store.Head); !errors.Is(err, store.ErrRefNotFound) {
		t.Errorf("head after invalid CAS calls: err = %v, want ErrRefNotFound", err)
	}
}

// testConcurrentCAS runs rounds in which many goroutines try to move the
// ref from the same value at once: exactly one must win each round.
func testConcurrentCAS(t *testing.T, r store.Refs) {
	const workers, rounds = 16, 50
	ctx := t.Context()
	var cur odf.Multihash
	for round := range rounds {
		start := make(chan struct{})
		errs := make([]error, workers)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				<-start
				errs[w] = r.CompareAndSwap(ctx, store.Head, cur, block(round*workers+w))
			})
		}
		close(start)
		wg.Wait()
		winner := -1
		for w, err := range errs {
			switch {
			case err == nil:
				if winner >= 0 {
					t.Fatalf("round %d: workers %d and %d both won", round, winner, w)
				}
				winner = w
			case !errors.Is(err, store.ErrConflict):
				t.Fatalf("round %d, worker %d: err = %v, want nil or ErrConflict", round, w, err)
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: no worker won", round)
		}
		cur = mustGetRef(t, r, store.Head)
		if want := block(round*workers + winner); !cur.Equal(want) {
			t.Fatalf("round %d: ref = %s, want the winner's %s", round, cur, want)
		}
	}
}

func testRefsCanceled(t *testing.T, r store.Refs) {
	if err := r.CompareAndSwap(t.Context(), store.Head, nil, block(1)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := r.Get(ctx, store.Head); !errors.Is(err, context.Canceled) {
		t.Errorf("Get with canceled context: err = %v, want context.Canceled", err)
	}
	if err := r.CompareAndSwap(ctx, store.Head, block(1), block(2)); !errors.Is(err, context.Canceled) {
		t.Errorf("CAS with canceled context: err = %v, want context.Canceled", err)
	}
	if got := mustGetRef(t, r, store.Head); !got.Equal(block(1)) {
		t.Errorf("ref after canceled CAS = %s, want %s", got, block(1))
	}
}
