package fetch

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ipos-dev/ipos/internal/odf"
)

func gzipBytes(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(s))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

type entry struct{ name, body string }

func zipBytes(t *testing.T, entries ...entry) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, e := range entries {
		w, err := zw.Create(e.name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(e.body))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestPrepare(t *testing.T) {
	big := strings.Repeat("z", 10_000)
	tests := []struct {
		name      string
		input     func(t *testing.T) []byte
		steps     []odf.PrepStep
		allowPipe bool
		maxBytes  int64
		want      string // output content, or "error: substring"
		wantIs    error
	}{
		{
			name:  "no steps",
			input: func(*testing.T) []byte { return []byte("raw") },
			want:  "raw",
		},
		{
			name:  "gzip",
			input: func(t *testing.T) []byte { return gzipBytes(t, "a,b\n1,2\n") },
			steps: []odf.PrepStep{odf.PrepStepDecompress{Format: odf.CompressionGzip}},
			want:  "a,b\n1,2\n",
		},
		{
			name:  "gzip not gzip",
			input: func(*testing.T) []byte { return []byte("plain") },
			steps: []odf.PrepStep{odf.PrepStepDecompress{Format: odf.CompressionGzip}},
			want:  "error: is not gzip",
		},
		{
			name:     "gzip bomb capped",
			input:    func(t *testing.T) []byte { return gzipBytes(t, big) },
			steps:    []odf.PrepStep{odf.PrepStepDecompress{Format: odf.CompressionGzip}},
			maxBytes: 1000,
			want:     "error: larger than 1000 bytes",
			wantIs:   ErrTooLarge,
		},
		{
			name:  "zip single file",
			input: func(t *testing.T) []byte { return zipBytes(t, entry{"dir/", ""}, entry{"dir/data.csv", "x\n1\n"}) },
			steps: []odf.PrepStep{odf.PrepStepDecompress{Format: odf.CompressionZip}},
			want:  "x\n1\n",
		},
		{
			name: "zip subPath glob",
			input: func(t *testing.T) []byte {
				return zipBytes(t, entry{"readme.txt", "hi"}, entry{"data_2024.csv", "d"})
			},
			steps: []odf.PrepStep{odf.PrepStepDecompress{Format: odf.CompressionZip, SubPath: ptr("data_*.csv")}},
			want:  "d",
		},
		{
			name: "zip subPath base name",
			input: func(t *testing.T) []byte {
				return zipBytes(t, entry{"readme.txt", "hi"}, entry{"nested/deep/data.csv", "deep"})
			},
			steps: []odf.PrepStep{odf.PrepStepDecompress{Format: odf.CompressionZip, SubPath: ptr("data.csv")}},
			want:  "deep",
		},
		{
			name: "zip ambiguous",
			input: func(t *testing.T) []byte {
				return zipBytes(t, entry{"a.csv", "a"}, entry{"b.csv", "b"})
			},
			steps: []odf.PrepStep{odf.PrepStepDecompress{Format: odf.CompressionZip}},
			want:  "error: matches 2 files in input, need exactly one (set subPath to choose): a.csv, b.csv",
		},
		{
			name: "zip subPath ambiguous",
			input: func(t *testing.T) []byte {
				return zipBytes(t, entry{"a.csv", "a"}, entry{"b.csv", "b"}, entry{"c.txt", "c"})
			},
			steps: []odf.PrepStep{odf.PrepStepDecompress{Format: odf.CompressionZip, SubPath: ptr("*.csv")}},
			want:  `error: subPath "*.csv" matches 2 files`,
		},
		{
			name:  "zip subPath no match lists entries",
			input: func(t *testing.T) []byte { return zipBytes(t, entry{"a.csv", "a"}, entry{"b.txt", "b"}) },
			steps: []odf.PrepStep{odf.PrepStepDecompress{Format: odf.CompressionZip, SubPath: ptr("*.json")}},
			want:  `error: subPath "*.json" matches no file in input; entries: a.csv, b.txt`,
		},
		{
			name:  "zip empty",
			input: func(t *testing.T) []byte { return zipBytes(t) },
			steps: []odf.PrepStep{odf.PrepStepDecompress{Format: odf.CompressionZip}},
			want:  "error: has no files",
		},
		{
			name:  "zip slip refused",
			input: func(t *testing.T) []byte { return zipBytes(t, entry{"../../evil.csv", "evil"}) },
			steps: []odf.PrepStep{odf.PrepStepDecompress{Format: odf.CompressionZip}},
			want:  "error: zip-slip",
		},
		{
			name:  "zip absolute entry refused",
			input: func(t *testing.T) []byte { return zipBytes(t, entry{"ok.csv", "ok"}, entry{"/etc/evil", "evil"}) },
			steps: []odf.PrepStep{odf.PrepStepDecompress{Format: odf.CompressionZip, SubPath: ptr("ok.csv")}},
			want:  "error: zip-slip",
		},
		{
			name:     "zip bomb capped",
			input:    func(t *testing.T) []byte { return zipBytes(t, entry{"big.csv", big}) },
			steps:    []odf.PrepStep{odf.PrepStepDecompress{Format: odf.CompressionZip}},
			maxBytes: 1000,
			want:     "error: declares 10000 bytes",
			wantIs:   ErrTooLarge,
		},
		{
			name:  "pipe refused",
			input: func(*testing.T) []byte { return []byte("abc") },
			steps: []odf.PrepStep{
				odf.PrepStepDecompress{Format: odf.CompressionGzip},
				odf.PrepStepPipe{Command: []string{"cat"}},
			},
			want:   "error: prepare step 2 (Pipe): Pipe prepare steps run commands on this machine; enable with ingest.allowPipe: true in .ipos/config.yaml",
			wantIs: ErrPipeDisabled,
		},
		{
			name:      "pipe allowed",
			input:     func(*testing.T) []byte { return []byte("abc\n") },
			steps:     []odf.PrepStep{odf.PrepStepPipe{Command: []string{"tr", "a-z", "A-Z"}}},
			allowPipe: true,
			want:      "ABC\n",
		},
		{
			name:  "gzip then pipe",
			input: func(t *testing.T) []byte { return gzipBytes(t, "hdr\nrow\n") },
			steps: []odf.PrepStep{
				odf.PrepStepDecompress{Format: odf.CompressionGzip},
				odf.PrepStepPipe{Command: []string{"sed", "-e", "1d"}},
			},
			allowPipe: true,
			want:      "row\n",
		},
		{
			name:      "pipe failure carries stderr",
			input:     func(*testing.T) []byte { return []byte("x") },
			steps:     []odf.PrepStep{odf.PrepStepPipe{Command: []string{"sh", "-c", "echo boom >&2; exit 3"}}},
			allowPipe: true,
			want:      `error: command "sh -c echo boom >&2; exit 3": exit status 3: boom`,
		},
		{
			name:      "pipe output capped",
			input:     func(*testing.T) []byte { return []byte(big) },
			steps:     []odf.PrepStep{odf.PrepStepPipe{Command: []string{"cat"}}},
			allowPipe: true,
			maxBytes:  1000,
			wantIs:    ErrTooLarge,
			want:      "error: over the 1000-byte limit",
		},
		{
			name:      "pipe empty command",
			input:     func(*testing.T) []byte { return []byte("x") },
			steps:     []odf.PrepStep{odf.PrepStepPipe{}},
			allowPipe: true,
			want:      "error: empty command",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := testOpts(t)
			opts.AllowPipe = tc.allowPipe
			opts.MaxBytes = tc.maxBytes
			in := filepath.Join(opts.BaseDir, "input")
			data := tc.input(t)
			if err := os.WriteFile(in, data, 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := Prepare(context.Background(), tc.steps, in, opts)
			if want, ok := strings.CutPrefix(tc.want, "error: "); ok {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("err = %v, want %q", err, want)
				}
				if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
					t.Errorf("err = %v, want errors.Is %v", err, tc.wantIs)
				}
				if left, _ := os.ReadDir(opts.WorkDir); len(left) != 0 {
					t.Errorf("failed prepare left files in the work dir: %v", left)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := readFile(t, out); got != tc.want {
				t.Errorf("output = %q, want %q", got, tc.want)
			}
			if !bytes.Equal([]byte(readFile(t, in)), data) {
				t.Error("input file modified")
			}
			if len(tc.steps) > 0 {
				if filepath.Dir(out) != opts.WorkDir {
					t.Errorf("output %s is not in the work dir %s", out, opts.WorkDir)
				}
				if left, _ := os.ReadDir(opts.WorkDir); len(left) != 1 {
					t.Errorf("work dir holds %d files, want only the output", len(left))
				}
			}
			// Nothing escaped into the base dir.
			if entries, _ := os.ReadDir(opts.BaseDir); len(entries) != 1 {
				t.Errorf("base dir holds %d entries, want only the input", len(entries))
			}
		})
	}
}

func TestPipeCancel(t *testing.T) {
	opts := testOpts(t)
	opts.AllowPipe = true
	in := filepath.Join(opts.BaseDir, "input")
	writeFile(t, in, "x")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := Prepare(ctx, []odf.PrepStep{odf.PrepStepPipe{Command: []string{"sleep", "30"}}}, in, opts)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want deadline exceeded", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v after cancellation", d)
	}
	if left, _ := os.ReadDir(opts.WorkDir); len(left) != 0 {
		t.Errorf("cancelled pipe left files: %v", left)
	}
}
