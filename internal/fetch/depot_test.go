package fetch

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipos-dev/ipos/internal/odf"
)

func TestDepots(t *testing.T) {
	ctx := context.Background()
	base := t.TempDir()
	os.MkdirAll(filepath.Join(base, "drop"), 0o755)
	os.WriteFile(filepath.Join(base, "drop", "a.csv"), []byte("x\n1\n"), 0o644)
	os.WriteFile(filepath.Join(base, "drop", "b.csv"), []byte("x\n2\n"), 0o644)
	var gotAuth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth = r.Header.Get("Authorization")
		if r.URL.Path != "/api/v1/data.csv" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte("x\n3\n"))
	}))
	defer srv.Close()
	depots := map[string]*Depot{
		"drop": {Local: "drop"},
		"api":  {HTTPBase: srv.URL + "/api/v1/", Headers: []odf.RequestHeader{{Name: "Authorization", Value: "Bearer t0k"}}},
		"void": {},
	}
	opts := Options{BaseDir: base, WorkDir: t.TempDir(), Depots: func(ctx context.Context, name string) (*Depot, error) {
		d, ok := depots[name]
		if !ok {
			return nil, errors.New("no such depot")
		}
		return d, nil
	}}

	items, err := Fetch(ctx, odf.FetchStepFilesGlob{Path: "depot://drop/*.csv"}, nil, opts)
	if err != nil || len(items) != 2 || !strings.HasSuffix(items[1].Path, "b.csv") {
		t.Fatalf("glob in a local depot: %+v %v", items, err)
	}
	items, err = Fetch(ctx, odf.FetchStepURL{URL: "depot://drop/a.csv"}, nil, opts)
	if err != nil || len(items) != 1 {
		t.Fatalf("file URL in a local depot: %+v %v", items, err)
	}
	items, err = Fetch(ctx, odf.FetchStepURL{URL: "depot://api/data.csv"}, nil, opts)
	if err != nil || len(items) != 1 || gotAuth != "Bearer t0k" {
		t.Fatalf("HTTP depot: %+v %v (auth %q)", items, err, gotAuth)
	}
	for url, want := range map[string]string{
		"depot://nope/x.csv": `depot "nope": no such depot`,
		"depot://void/x.csv": `depot "void" leads nowhere`,
	} {
		if _, err := Fetch(ctx, odf.FetchStepURL{URL: url}, nil, opts); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", url, err, want)
		}
	}
	opts.Depots = nil
	if _, err := Fetch(ctx, odf.FetchStepURL{URL: "depot://drop/a.csv"}, nil, opts); err == nil || !strings.Contains(err.Error(), "declared depots") {
		t.Errorf("no resolver: %v", err)
	}
}
