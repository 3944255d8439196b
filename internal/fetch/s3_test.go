package fetch

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipos-dev/ipos/internal/fetch/fetchtest"
	"github.com/ipos-dev/ipos/internal/odf"
)

// depotOptions resolves the given depots by name.
func depotOptions(t *testing.T, depots map[string]*Depot) Options {
	return Options{BaseDir: t.TempDir(), WorkDir: t.TempDir(), Depots: func(ctx context.Context, name string) (*Depot, error) {
		d, ok := depots[name]
		if !ok {
			return nil, errors.New("no such depot")
		}
		return d, nil
	}}
}

func readItem(t *testing.T, it Item) string {
	t.Helper()
	b, err := os.ReadFile(it.Path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestS3Depot(t *testing.T) {
	srv := fetchtest.NewS3(t)
	ctx := t.Context()
	if err := srv.MakeBucket(ctx, "lake"); err != nil {
		t.Fatal(err)
	}
	put := func(key, data string) {
		t.Helper()
		if err := srv.Put(ctx, "lake", key, []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	put("raw/2024/b.csv", "x\n2\n")
	put("raw/2024/a.csv", "x\n1\n")
	put("raw/2024/notes.txt", "not csv")
	put("raw/2024/deep/d.csv", "x\n4\n")
	put("other/z.csv", "x\n9\n")

	lake := &S3Depot{Endpoint: srv.Endpoint, Region: "us-east-1", Bucket: "lake", Prefix: "raw", AccessKey: srv.AccessKey, SecretKey: srv.SecretKey}
	var seen int64
	opts := depotOptions(t, map[string]*Depot{
		"lake":    {S3: lake},
		"nobkt":   {S3: &S3Depot{Endpoint: srv.Endpoint, Region: "us-east-1", Bucket: "nope", AccessKey: srv.AccessKey, SecretKey: srv.SecretKey}},
		"badkey":  {S3: &S3Depot{Endpoint: srv.Endpoint, Region: "us-east-1", Bucket: "lake", AccessKey: srv.AccessKey, SecretKey: "wrong-secret-value"}},
		"offline": {S3: &S3Depot{Endpoint: "http://127.0.0.1:1", Region: "us-east-1", Bucket: "lake", AccessKey: "k", SecretKey: "offline-secret"}},
	})
	opts.Progress = func(n int64) { seen = n }

	t.Run("Url", func(t *testing.T) {
		step := odf.FetchStepURL{URL: "depot://lake/2024/a.csv"}
		items, err := Fetch(ctx, step, nil, opts)
		if err != nil || len(items) != 1 {
			t.Fatalf("first fetch: %+v %v", items, err)
		}
		it := items[0]
		if got := readItem(t, it); got != "x\n1\n" {
			t.Errorf("content %q", got)
		}
		if it.State == nil || it.State.Kind != StateKindETag || it.State.Value == "" || it.EventTime == nil || it.Name != step.URL {
			t.Errorf("item %+v state %+v", it, it.State)
		}
		if seen != 4 {
			t.Errorf("progress saw %d bytes, want 4", seen)
		}
		if items, err := Fetch(ctx, step, it.State, opts); err != nil || len(items) != 0 {
			t.Fatalf("unchanged object fetched again: %+v %v", items, err)
		}
		put("raw/2024/a.csv", "x\n1\n10\n")
		items, err = Fetch(ctx, step, it.State, opts)
		if err != nil || len(items) != 1 || readItem(t, items[0]) != "x\n1\n10\n" || items[0].State.Value == it.State.Value {
			t.Fatalf("changed object: %+v %v", items, err)
		}
		// A recorded Last-Modified works too, as for HTTP.
		lm := opts.state(StateKindLastModified, items[0].EventTime.Format("2006-01-02T15:04:05.999999999Z07:00"))
		if items, err := Fetch(ctx, step, lm, opts); err != nil || len(items) != 1 {
			t.Fatalf("an ETag beats a recorded time: %+v %v", items, err)
		}
	})

	t.Run("FilesGlob", func(t *testing.T) {
		step := odf.FetchStepFilesGlob{Path: "depot://lake/2024/*.csv"}
		items, err := Fetch(ctx, step, nil, opts)
		if err != nil || len(items) != 2 || items[0].Name != "a.csv" || items[1].Name != "b.csv" {
			t.Fatalf("first listing: %+v %v", items, err)
		}
		if readItem(t, items[1]) != "x\n2\n" || items[1].State.Value != "b.csv" {
			t.Errorf("b.csv: %+v", items[1])
		}
		last := items[1].State
		if items, err := Fetch(ctx, step, last, opts); err != nil || len(items) != 0 {
			t.Fatalf("nothing new, got %+v %v", items, err)
		}
		put("raw/2024/c.csv", "x\n3\n")
		put("raw/2024/0-old.csv", "x\n0\n") // orders before b.csv: never ingested, as for local globs
		items, err = Fetch(ctx, step, last, opts)
		if err != nil || len(items) != 1 || items[0].Name != "c.csv" || readItem(t, items[0]) != "x\n3\n" {
			t.Fatalf("new object: %+v %v", items, err)
		}
		deep, err := Fetch(ctx, odf.FetchStepFilesGlob{Path: "depot://lake/**/*.csv"}, nil, opts)
		var names []string
		for _, it := range deep {
			names = append(names, it.Name)
		}
		if err != nil || strings.Join(names, " ") != "2024/0-old.csv 2024/a.csv 2024/b.csv 2024/c.csv 2024/deep/d.csv" {
			t.Fatalf("** glob: %v %v", names, err)
		}
		_, err = Fetch(ctx, odf.FetchStepFilesGlob{Path: "depot://lake/2024/*.parquet"}, nil, opts)
		if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `depot "lake"`) {
			t.Errorf("no match: %v", err)
		}
	})

	t.Run("Limits", func(t *testing.T) {
		small := opts
		small.MaxBytes = 3
		small.WorkDir = t.TempDir()
		_, err := Fetch(ctx, odf.FetchStepURL{URL: "depot://lake/2024/b.csv"}, nil, small)
		if !errors.Is(err, ErrTooLarge) {
			t.Errorf("over MaxBytes: %v", err)
		}
		if files, _ := filepath.Glob(filepath.Join(small.WorkDir, "*")); len(files) != 0 {
			t.Errorf("partial downloads left behind: %v", files)
		}
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := Fetch(cancelled, odf.FetchStepFilesGlob{Path: "depot://lake/2024/*.csv"}, nil, opts); !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled: %v", err)
		}
	})

	t.Run("Errors", func(t *testing.T) {
		for _, tc := range []struct {
			url, want string
			is        error
		}{
			{"depot://lake/2024/missing.csv", `depot "lake": no object "raw/2024/missing.csv" in bucket "lake"`, ErrNotFound},
			{"depot://nobkt/a.csv", `depot "nobkt": bucket "nope" does not exist`, ErrNotFound},
			{"depot://badkey/raw/2024/a.csv", `depot "badkey": ` + srv.Endpoint + ` refused access to bucket "lake"`, nil},
			{"depot://offline/a.csv", `depot "offline": cannot reach S3 at http://127.0.0.1:1`, nil},
			{"depot://lake/../secret.csv", `depot "lake": depot://lake/../secret.csv: object path "../secret.csv" has a ".." segment`, nil},
			{"depot://lake", `depot "lake": depot://lake names no object`, nil},
		} {
			_, err := Fetch(ctx, odf.FetchStepURL{URL: tc.url}, nil, opts)
			t.Log(err)
			if err == nil || !strings.Contains(err.Error(), tc.want) || (tc.is != nil && !errors.Is(err, tc.is)) {
				t.Errorf("%s: %v\nwant %q", tc.url, err, tc.want)
				continue
			}
			for _, secret := range []string{srv.SecretKey, "wrong-secret-value", "offline-secret"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("%s: error shows a secret key: %v", tc.url, err)
				}
			}
		}
	})
}
