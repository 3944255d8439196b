package fetch

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ipos-dev/ipos/internal/odf"
)

func ptr[T any](v T) *T { return &v }

func names(items []Item) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.Name)
	}
	return out
}

func TestFilesGlob(t *testing.T) {
	day := func(s string) time.Time {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			panic(err)
		}
		return t
	}
	tests := []struct {
		name       string
		files      []string
		step       odf.FetchStepFilesGlob
		wantNames  []string
		wantEvents []time.Time // nil: no event times expected
		wantErr    string
	}{
		{
			name:      "by name default",
			files:     []string{"in/b.csv", "in/a.csv", "in/c.txt", "in/sub/d.csv"},
			step:      odf.FetchStepFilesGlob{Path: "in/*.csv"},
			wantNames: []string{"a.csv", "b.csv"},
		},
		{
			name:      "question mark and class",
			files:     []string{"in/a1.csv", "in/a2.csv", "in/a3.csv", "in/ab.csv"},
			step:      odf.FetchStepFilesGlob{Path: "in/a[12]?csv"},
			wantNames: []string{"a1.csv", "a2.csv"},
		},
		{
			name:      "double star",
			files:     []string{"in/x.csv", "in/2024/01/y.csv", "in/2024/z.csv", "in/2024/z.txt"},
			step:      odf.FetchStepFilesGlob{Path: "in/**/*.csv"},
			wantNames: []string{"2024/01/y.csv", "2024/z.csv", "x.csv"},
		},
		{
			name:      "wildcard directory",
			files:     []string{"in/a/x.csv", "in/b/x.csv", "in/b/c/x.csv"},
			step:      odf.FetchStepFilesGlob{Path: "in/*/x.csv"},
			wantNames: []string{"a/x.csv", "b/x.csv"},
		},
		{
			name:  "event time from path, kamu default format",
			files: []string{"in/s-2024-02-01.csv", "in/s-2024-01-15.csv"},
			step: odf.FetchStepFilesGlob{Path: "in/s-*.csv", EventTime: odf.EventTimeSourceFromPath{
				Pattern: `s-(\d{4}-\d{2}-\d{2})\.csv`,
			}},
			wantNames:  []string{"s-2024-01-15.csv", "s-2024-02-01.csv"},
			wantEvents: []time.Time{day("2024-01-15T00:00:00Z"), day("2024-02-01T00:00:00Z")},
		},
		{
			name:  "event time yyyyMMdd ordered by event time",
			files: []string{"in/b_20240301.csv", "in/a_20240302.csv"},
			step: odf.FetchStepFilesGlob{Path: "in/*.csv", Order: ptr(odf.SourceOrderingByEventTime), EventTime: odf.EventTimeSourceFromPath{
				Pattern: `_(\d{8})\.csv`, TimestampFormat: ptr("yyyyMMdd"),
			}},
			wantNames:  []string{"b_20240301.csv", "a_20240302.csv"},
			wantEvents: []time.Time{day("2024-03-01T00:00:00Z"), day("2024-03-02T00:00:00Z")},
		},
		{
			name:  "event time with Java time of day",
			files: []string{"in/r-2024-03-01T10:20:30.json"},
			step: odf.FetchStepFilesGlob{Path: "in/r-*", EventTime: odf.EventTimeSourceFromPath{
				Pattern: `r-(.*)\.json`, TimestampFormat: ptr("yyyy-MM-dd'T'HH:mm:ss"),
			}},
			wantNames:  []string{"r-2024-03-01T10:20:30.json"},
			wantEvents: []time.Time{day("2024-03-01T10:20:30Z")},
		},
		{
			name:  "event time strftime with zone",
			files: []string{"in/r-20240301-1020+0200.json"},
			step: odf.FetchStepFilesGlob{Path: "in/r-*", EventTime: odf.EventTimeSourceFromPath{
				Pattern: `r-(.*)\.json`, TimestampFormat: ptr("%Y%m%d-%H%M%z"),
			}},
			wantNames:  []string{"r-20240301-1020+0200.json"},
			wantEvents: []time.Time{day("2024-03-01T08:20:00Z")},
		},
		{
			name:  "event time unmatched",
			files: []string{"in/other.csv"},
			step: odf.FetchStepFilesGlob{Path: "in/*.csv", EventTime: odf.EventTimeSourceFromPath{
				Pattern: `(\d{4}-\d{2}-\d{2})`,
			}},
			wantErr: `does not match "other.csv"`,
		},
		{
			name:    "by event time needs an event time",
			files:   []string{"in/a.csv"},
			step:    odf.FetchStepFilesGlob{Path: "in/*.csv", Order: ptr(odf.SourceOrderingByEventTime)},
			wantErr: "needs eventTime",
		},
		{
			name:    "no match",
			files:   []string{"in/a.txt"},
			step:    odf.FetchStepFilesGlob{Path: "in/*.csv"},
			wantErr: "no files match in/*.csv",
		},
		{
			name:    "no directory",
			step:    odf.FetchStepFilesGlob{Path: "missing/*.csv"},
			wantErr: "no files match missing/*.csv",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := testOpts(t)
			for _, f := range tc.files {
				writeFile(t, filepath.Join(opts.BaseDir, f), f)
			}
			items, err := Fetch(context.Background(), tc.step, nil, opts)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := names(items); !slices.Equal(got, tc.wantNames) {
				t.Fatalf("names = %q, want %q", got, tc.wantNames)
			}
			for i, it := range items {
				if got := readFile(t, it.Path); !strings.HasSuffix(filepath.ToSlash(it.Path), got) {
					t.Errorf("item %s path %s holds %q", it.Name, it.Path, got)
				}
				want := odf.SourceState{SourceName: "default", Kind: StateKindETag, Value: it.Name}
				if it.State == nil || *it.State != want {
					t.Errorf("state = %+v, want %+v", it.State, want)
				}
				switch {
				case tc.wantEvents == nil && it.EventTime != nil:
					t.Errorf("%s: event time %v, want nil", it.Name, it.EventTime)
				case tc.wantEvents != nil && (it.EventTime == nil || !it.EventTime.Equal(tc.wantEvents[i])):
					t.Errorf("%s: event time %v, want %v", it.Name, it.EventTime, tc.wantEvents[i])
				}
			}
		})
	}
}

func TestFilesGlobOnlyNew(t *testing.T) {
	tests := []struct {
		name  string
		step  odf.FetchStepFilesGlob
		first []string // files present on the first pull
		added []string // files added before the second pull
		want  []string // second pull
	}{
		{
			name:  "by name",
			step:  odf.FetchStepFilesGlob{Path: "in/*.csv"},
			first: []string{"in/01.csv", "in/02.csv"},
			added: []string{"in/00.csv", "in/03.csv", "in/04.csv"}, // 00 sorts before: never ingested, like kamu
			want:  []string{"03.csv", "04.csv"},
		},
		{
			name: "by event time from path",
			step: odf.FetchStepFilesGlob{Path: "in/*.csv", Order: ptr(odf.SourceOrderingByEventTime), EventTime: odf.EventTimeSourceFromPath{
				Pattern: `-(\d{2})-`, TimestampFormat: ptr("MM"),
			}},
			first: []string{"in/z-01-x.csv", "in/a-02-x.csv"},
			added: []string{"in/b-03-x.csv", "in/y-02-y.csv"},
			want:  []string{"y-02-y.csv", "b-03-x.csv"},
		},
		{
			name:  "by event time from metadata",
			step:  odf.FetchStepFilesGlob{Path: "in/*.csv", Order: ptr(odf.SourceOrderingByEventTime), EventTime: odf.EventTimeSourceFromMetadata{}},
			first: []string{"in/b.csv", "in/a.csv"},
			added: []string{"in/c.csv"},
			want:  []string{"c.csv"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := testOpts(t)
			mtime := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
			write := func(files []string) {
				for _, f := range files {
					p := filepath.Join(opts.BaseDir, f)
					writeFile(t, p, f)
					mtime = mtime.Add(time.Minute)
					if err := chtimes(p, mtime); err != nil {
						t.Fatal(err)
					}
				}
			}
			write(tc.first)
			items, err := Fetch(context.Background(), tc.step, nil, opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(items) != len(tc.first) {
				t.Fatalf("first pull: %q", names(items))
			}
			// Round-trip the state through a copy, as the chain would.
			state := *items[len(items)-1].State

			got, err := Fetch(context.Background(), tc.step, &state, opts)
			if err != nil || len(got) != 0 {
				t.Fatalf("unchanged: %q, err %v; want up to date", names(got), err)
			}
			write(tc.added)
			got, err = Fetch(context.Background(), tc.step, &state, opts)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(names(got), tc.want) {
				t.Errorf("second pull = %q, want %q", names(got), tc.want)
			}
		})
	}
}

func TestFilesGlobNoMatchAfterFirstPull(t *testing.T) {
	opts := testOpts(t)
	prev := &odf.SourceState{SourceName: "default", Kind: StateKindETag, Value: "a.csv"}
	items, err := Fetch(context.Background(), odf.FetchStepFilesGlob{Path: "gone/*.csv"}, prev, opts)
	if err != nil || len(items) != 0 {
		t.Errorf("got %d items, err %v; want up to date", len(items), err)
	}
	_, err = Fetch(context.Background(), odf.FetchStepFilesGlob{Path: "gone/*.csv"}, nil, opts)
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("first pull err = %v, want ErrNotFound", err)
	}
}

func TestFilesGlobAbsolute(t *testing.T) {
	opts := testOpts(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "x.csv"), "x")
	items, err := Fetch(context.Background(), odf.FetchStepFilesGlob{Path: filepath.ToSlash(dir) + "/*.csv"}, nil, opts)
	if err != nil || !slices.Equal(names(items), []string{"x.csv"}) {
		t.Errorf("items %q, err %v", names(items), err)
	}
}

func chtimes(p string, t time.Time) error { return os.Chtimes(p, t, t) }
