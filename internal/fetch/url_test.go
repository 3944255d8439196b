package fetch

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ipos-dev/ipos/internal/odf"
)

func testOpts(t *testing.T) Options {
	t.Helper()
	return Options{BaseDir: t.TempDir(), WorkDir: t.TempDir(), SourceName: "default"}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeFile(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

type checker struct{ t *testing.T }

func must(t *testing.T) checker { return checker{t} }

// one returns the single item of a Fetch result, failing otherwise.
func (c checker) one(items []Item, err error) Item {
	t := c.t
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 {
		t.Fatalf("got %d items, want 1: %+v", len(items), items)
	}
	return items[0]
}

var lastMod = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

func TestHTTP(t *testing.T) {
	tests := []struct {
		name string
		// handler serves the body; it sees the request count (1, 2, …).
		handler   func(w http.ResponseWriter, r *http.Request, n int64)
		wantState odf.SourceState
		wantEvent *time.Time
		// second fetch is up to date
		secondEmpty bool
	}{
		{
			name: "etag then 304",
			handler: func(w http.ResponseWriter, r *http.Request, n int64) {
				if r.Header.Get("If-None-Match") == `"v1"` {
					w.WriteHeader(http.StatusNotModified)
					return
				}
				w.Header().Set("ETag", `"v1"`)
				fmt.Fprint(w, "a,b\n1,2\n")
			},
			wantState:   odf.SourceState{SourceName: "default", Kind: StateKindETag, Value: `"v1"`},
			secondEmpty: true,
		},
		{
			name: "etag ignored by server but unchanged",
			handler: func(w http.ResponseWriter, r *http.Request, n int64) {
				w.Header().Set("ETag", `W/"same"`)
				fmt.Fprint(w, "a,b\n1,2\n")
			},
			wantState:   odf.SourceState{SourceName: "default", Kind: StateKindETag, Value: `W/"same"`},
			secondEmpty: true,
		},
		{
			name: "etag changed",
			handler: func(w http.ResponseWriter, r *http.Request, n int64) {
				w.Header().Set("ETag", fmt.Sprintf(`"v%d"`, n))
				fmt.Fprint(w, "a,b\n1,2\n")
			},
			wantState:   odf.SourceState{SourceName: "default", Kind: StateKindETag, Value: `"v1"`},
			secondEmpty: false,
		},
		{
			name: "last-modified then 304",
			handler: func(w http.ResponseWriter, r *http.Request, n int64) {
				if ims, err := http.ParseTime(r.Header.Get("If-Modified-Since")); err == nil && !lastMod.After(ims) {
					w.WriteHeader(http.StatusNotModified)
					return
				}
				w.Header().Set("Last-Modified", lastMod.Format(http.TimeFormat))
				fmt.Fprint(w, "a,b\n1,2\n")
			},
			wantState:   odf.SourceState{SourceName: "default", Kind: StateKindLastModified, Value: "2024-03-01T12:00:00Z"},
			wantEvent:   &lastMod,
			secondEmpty: true,
		},
		{
			name: "last-modified ignored by server but unchanged",
			handler: func(w http.ResponseWriter, r *http.Request, n int64) {
				w.Header().Set("Last-Modified", lastMod.Format(http.TimeFormat))
				fmt.Fprint(w, "a,b\n1,2\n")
			},
			wantState:   odf.SourceState{SourceName: "default", Kind: StateKindLastModified, Value: "2024-03-01T12:00:00Z"},
			wantEvent:   &lastMod,
			secondEmpty: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var n atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				tc.handler(w, r, n.Add(1))
			}))
			defer srv.Close()
			opts := testOpts(t)
			opts.HTTP = srv.Client()
			var progress atomic.Int64
			opts.Progress = func(b int64) { progress.Store(b) }
			step := odf.FetchStepURL{URL: srv.URL + "/data.csv"}

			it := must(t).one(Fetch(context.Background(), step, nil, opts))
			if got := readFile(t, it.Path); got != "a,b\n1,2\n" {
				t.Errorf("body = %q", got)
			}
			if !strings.HasPrefix(it.Path, opts.WorkDir) || filepath.Ext(it.Path) != ".csv" {
				t.Errorf("path %s not a .csv in the work dir", it.Path)
			}
			if it.State == nil || *it.State != tc.wantState {
				t.Errorf("state = %+v, want %+v", it.State, tc.wantState)
			}
			if (it.EventTime == nil) != (tc.wantEvent == nil) || it.EventTime != nil && !it.EventTime.Equal(*tc.wantEvent) {
				t.Errorf("event time = %v, want %v", it.EventTime, tc.wantEvent)
			}
			if progress.Load() != 8 {
				t.Errorf("progress = %d, want 8", progress.Load())
			}

			items, err := Fetch(context.Background(), step, it.State, opts)
			if err != nil {
				t.Fatal(err)
			}
			if tc.secondEmpty != (len(items) == 0) {
				t.Errorf("second fetch: %d items, want empty=%v", len(items), tc.secondEmpty)
			}
		})
	}
}

func TestHTTPHeadersAndErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/auth":
			if r.Header.Get("Authorization") != "Bearer s3cret" || r.Header.Get("X-Api") != "v2" {
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			fmt.Fprint(w, "ok")
		case "/big":
			fmt.Fprint(w, strings.Repeat("x", 1000))
		case "/nometa":
			fmt.Fprint(w, "x")
		default:
			http.Error(w, "no such thing", http.StatusNotFound)
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	opts := testOpts(t)
	opts.HTTP = srv.Client()

	it := must(t).one(Fetch(ctx, odf.FetchStepURL{URL: srv.URL + "/auth", Headers: []odf.RequestHeader{
		{Name: "Authorization", Value: "Bearer s3cret"}, {Name: "X-Api", Value: "v2"},
	}}, nil, opts))
	if readFile(t, it.Path) != "ok" {
		t.Error("headers not sent")
	}

	it = must(t).one(Fetch(ctx, odf.FetchStepURL{URL: srv.URL + "/nometa"}, nil, opts))
	if it.State != nil || it.EventTime != nil {
		t.Errorf("no ETag or Last-Modified: state %+v, event time %v, want nil", it.State, it.EventTime)
	}

	_, err := Fetch(ctx, odf.FetchStepURL{URL: srv.URL + "/missing.csv"}, nil, opts)
	if err == nil || !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), srv.URL+"/missing.csv") || !strings.Contains(err.Error(), "404") {
		t.Errorf("404 error = %v", err)
	}

	small := opts
	small.MaxBytes = 100
	_, err = Fetch(ctx, odf.FetchStepURL{URL: srv.URL + "/big"}, nil, small)
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("over limit: err = %v, want ErrTooLarge", err)
	}
	if left, _ := os.ReadDir(opts.WorkDir); len(left) != 2 { // auth + nometa downloads
		t.Errorf("work dir holds %d files, want 2 (partial download not removed?)", len(left))
	}

	_, err = Fetch(ctx, odf.FetchStepURL{URL: "ftp://example.org/x.csv"}, nil, opts)
	if !errors.Is(err, ErrUnsupported) {
		t.Errorf("ftp: err = %v, want ErrUnsupported", err)
	}
}

func TestFileURL(t *testing.T) {
	opts := testOpts(t)
	rel := filepath.Join(opts.BaseDir, "data", "x.csv")
	writeFile(t, rel, "a\n1\n")
	mtime := time.Date(2023, 5, 6, 7, 8, 9, 123_000_000, time.UTC)
	if err := os.Chtimes(rel, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, url string
	}{
		{"relative with host form", "file://data/x.csv"},
		{"relative opaque", "file:data/x.csv"},
		{"absolute", "file://" + filepath.ToSlash(rel)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			step := odf.FetchStepURL{URL: tc.url}
			it := must(t).one(Fetch(context.Background(), step, nil, opts))
			if it.Path != rel {
				t.Errorf("path = %s, want %s", it.Path, rel)
			}
			want := odf.SourceState{SourceName: "default", Kind: StateKindLastModified, Value: "2023-05-06T07:08:09.123Z"}
			if it.State == nil || *it.State != want {
				t.Errorf("state = %+v, want %+v", it.State, want)
			}
			if it.EventTime == nil || !it.EventTime.Equal(mtime) {
				t.Errorf("event time = %v, want %v", it.EventTime, mtime)
			}
			items, err := Fetch(context.Background(), step, it.State, opts)
			if err != nil || len(items) != 0 {
				t.Errorf("unchanged file: %d items, err %v; want up to date", len(items), err)
			}
		})
	}

	// A touched file is fetched again.
	first := must(t).one(Fetch(context.Background(), odf.FetchStepURL{URL: "file://data/x.csv"}, nil, opts))
	later := mtime.Add(time.Hour)
	if err := os.Chtimes(rel, later, later); err != nil {
		t.Fatal(err)
	}
	must(t).one(Fetch(context.Background(), odf.FetchStepURL{URL: "file://data/x.csv"}, first.State, opts))

	_, err := Fetch(context.Background(), odf.FetchStepURL{URL: "file://data/nope.csv"}, nil, opts)
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "nope.csv") {
		t.Errorf("missing file: err = %v", err)
	}
}

func TestForeverCaching(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		fmt.Fprint(w, "x")
	}))
	defer srv.Close()
	opts := testOpts(t)
	opts.HTTP = srv.Client()
	writeFile(t, filepath.Join(opts.BaseDir, "in", "a.csv"), "a")
	steps := []odf.FetchStep{
		odf.FetchStepURL{URL: srv.URL, Cache: odf.SourceCachingForever{}},
		odf.FetchStepFilesGlob{Path: "in/*.csv", Cache: odf.SourceCachingForever{}},
	}
	for _, step := range steps {
		it := must(t).one(Fetch(context.Background(), step, nil, opts))
		// The server sends no ETag or Last-Modified: Forever still needs a state.
		if it.State == nil {
			t.Fatalf("%T: no state recorded", step)
		}
		items, err := Fetch(context.Background(), step, it.State, opts)
		if err != nil || len(items) != 0 {
			t.Errorf("%T: second fetch %d items, err %v; want none", step, len(items), err)
		}
	}
	if hits.Load() != 1 {
		t.Errorf("server hit %d times, want 1", hits.Load())
	}
}

func TestUnsupportedKinds(t *testing.T) {
	for _, tc := range []struct {
		step odf.FetchStep
		kind string
	}{
		{odf.FetchStepContainer{Image: "x"}, "Container"},
		{odf.FetchStepMqtt{Host: "h"}, "Mqtt"},
		{odf.FetchStepEthereumLogs{}, "EthereumLogs"},
	} {
		_, err := Fetch(context.Background(), tc.step, nil, testOpts(t))
		if !errors.Is(err, ErrUnsupported) || !strings.HasPrefix(err.Error(), tc.kind+" fetch is not supported by IPOS") {
			t.Errorf("%s: err = %v", tc.kind, err)
		}
	}
}

func TestFetchCancel(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000000")
		fmt.Fprint(w, "partial")
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	opts := testOpts(t)
	opts.HTTP = srv.Client()
	ctx, cancel := context.WithCancel(context.Background())
	opts.Progress = func(int64) { cancel() } // cancel once bytes arrive
	done := make(chan error, 1)
	go func() {
		_, err := Fetch(ctx, odf.FetchStepURL{URL: srv.URL}, nil, opts)
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Fetch did not return after cancellation")
	}
	if left, _ := os.ReadDir(opts.WorkDir); len(left) != 0 {
		t.Errorf("partial download left in the work dir: %v", left)
	}

	// Already-cancelled contexts stop before any work.
	_, err := Fetch(ctx, odf.FetchStepFilesGlob{Path: "*"}, nil, opts)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("glob with cancelled ctx: err = %v", err)
	}
}
