package contract

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/ipos-dev/ipos/internal/odf"
	"github.com/ipos-dev/ipos/internal/store"
)

// Batch is a slice about to be committed, as a Gate sees it.
type Batch struct {
	Dataset string
	Source  string          // file, URL or transform the rows came from
	Slice   string          // the new slice's Parquet file (in scratch space)
	Rows    int64           // its rows
	Prev    []string        // the dataset's committed Parquet files, in offset order
	Schema  *odf.DataSchema // the slice's schema
	System  SystemColumns
}

// Gate checks a batch before its commit. It returns the report (nil when
// no contract binds the dataset) and an error when the commit must not
// happen: a *RejectedError when a contract refused it, anything else when
// the check could not run.
type Gate func(ctx context.Context, b Batch) (*Report, error)

// ErrRejected is wrapped by *RejectedError.
var ErrRejected = errors.New("refused by its data contract")

// RejectedError is a commit that a contract refused. Nothing was
// committed; the slice and its report are in Dir.
type RejectedError struct {
	Report *Report
	Dir    string
}

func (e *RejectedError) Error() string {
	v := e.Report.Violations(SeverityError)
	var b strings.Builder
	fmt.Fprintf(&b, "%s: batch %s: %v (%d error violation(s)); nothing was committed", e.Report.Dataset, orDash(e.Report.Source), ErrRejected, len(v))
	if e.Dir != "" {
		fmt.Fprintf(&b, "; the batch and its report are in %s", e.Dir)
	}
	b.WriteString(":\n")
	b.WriteString(strings.TrimRight(e.Report.Summary(SeverityError), "\n"))
	return b.String()
}

func (e *RejectedError) Unwrap() error { return ErrRejected }

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Enforce makes a Gate from check: a report with an error-severity
// violation moves the batch into q and becomes a *RejectedError.
func Enforce(check Gate, q Quarantine) Gate {
	return func(ctx context.Context, b Batch) (*Report, error) {
		rep, err := check(ctx, b)
		if err != nil || rep == nil || !rep.Rejected() {
			return rep, err
		}
		dir, err := q.Put(b, rep)
		if err != nil {
			return rep, fmt.Errorf("%s: refused by its data contract, and quarantining the batch failed: %w", b.Dataset, err)
		}
		return rep, &RejectedError{Report: rep, Dir: dir}
	}
}

// Quarantine is the folder where refused batches are kept: one folder
// per batch, <Dir>/<dataset>/<time>-<id>/, holding slice.parquet and
// report.json.
type Quarantine struct {
	Dir string
	Now func() time.Time
}

// Put moves the batch's slice into a new quarantine folder with the
// report, and returns the folder. The folder appears complete or not at
// all: it is assembled under a temporary name and renamed.
func (q Quarantine) Put(b Batch, r *Report) (string, error) {
	now := time.Now
	if q.Now != nil {
		now = q.Now
	}
	parent := filepath.Join(q.Dir, b.Dataset)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", err
	}
	var id [4]byte
	if _, err := rand.Read(id[:]); err != nil {
		return "", err
	}
	final := filepath.Join(parent, now().UTC().Format("20060102T150405Z")+"-"+hex.EncodeToString(id[:]))
	r.Quarantine = final
	tmp, err := os.MkdirTemp(parent, ".tmp-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	if b.Slice != "" {
		if err := moveFile(b.Slice, filepath.Join(tmp, "slice.parquet")); err != nil {
			return "", err
		}
	}
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return "", err
	}
	if err := store.WriteSynced(filepath.Join(tmp, "report.json"), os.O_CREATE|os.O_EXCL, 0o644, append(data, '\n')); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, final); err != nil {
		return "", err
	}
	return final, nil
}

// Entry is one quarantined batch.
type Entry struct {
	Dir    string
	Report *Report
}

// List returns the quarantined batches of dataset (all when ""), oldest
// first. A folder whose report cannot be read is listed with a nil
// report.
func (q Quarantine) List(dataset string) ([]Entry, error) {
	pattern := filepath.Join(q.Dir, "*", "*")
	if dataset != "" {
		pattern = filepath.Join(q.Dir, dataset, "*")
	}
	dirs, err := filepath.Glob(pattern)
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, d := range dirs {
		if strings.HasPrefix(filepath.Base(d), ".") {
			continue
		}
		e := Entry{Dir: d}
		if data, err := os.ReadFile(filepath.Join(d, "report.json")); err == nil {
			var r Report
			if json.Unmarshal(data, &r) == nil {
				e.Report = &r
			}
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool {
		return filepath.Base(out[i].Dir) < filepath.Base(out[j].Dir)
	})
	return out, nil
}

// moveFile renames src to dst, copying when they are on different file
// systems.
func moveFile(src, dst string) error {
	if err := os.Rename(src, dst); err == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Remove(src)
}
