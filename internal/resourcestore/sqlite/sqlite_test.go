package sqlite

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ipos-dev/ipos/internal/resourcestore"
	"github.com/ipos-dev/ipos/internal/resourcestore/storetest"
)

func openTest(t *testing.T, path string, opts Options) *Store {
	t.Helper()
	s, err := Open(t.Context(), path, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) resourcestore.Store {
		return openTest(t, filepath.Join(t.TempDir(), ".ipos", "state.db"), DefaultOptions())
	})
}

func TestMigrations(t *testing.T) {
	if len(migrations) != SchemaVersion {
		t.Fatalf("SchemaVersion = %d, but there are %d migrations", SchemaVersion, len(migrations))
	}
}

func TestOpenSetsUpAndReopens(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".ipos", "state.db")
	s := openTest(t, path, Options{})
	if _, _, err := s.Apply(t.Context(), resourcestore.Record{Kind: "Dataset", Name: "a", SpecHash: "h", Object: []byte(`{}`)}, 0); err != nil {
		t.Fatal(err)
	}
	var mode string
	var fk int
	if err := s.db.QueryRowContext(t.Context(), `PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	if err := s.db.QueryRowContext(t.Context(), `PRAGMA foreign_keys`).Scan(&fk); err != nil || fk != 1 {
		t.Errorf("foreign_keys = %d, %v; want 1", fk, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Reopening an up-to-date file keeps its data and version.
	s = openTest(t, path, Options{})
	defer s.Close()
	if _, err := s.Get(t.Context(), "Dataset", "a"); err != nil {
		t.Errorf("after reopening: %v", err)
	}
	var v int
	if err := s.db.QueryRowContext(t.Context(), `SELECT version FROM schema_version`).Scan(&v); err != nil || v != SchemaVersion {
		t.Errorf("schema_version = %d, %v; want %d", v, err, SchemaVersion)
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s := openTest(t, path, Options{})
	if _, err := s.db.ExecContext(t.Context(), `UPDATE schema_version SET version = ?`, SchemaVersion+1); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err := Open(t.Context(), path, Options{})
	if !errors.Is(err, resourcestore.ErrSchemaTooNew) {
		t.Fatalf("Open of a newer schema: err = %v, want ErrSchemaTooNew", err)
	}
	for _, want := range []string{path, fmt.Sprint("version ", SchemaVersion+1), "upgrade ipos"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestEventsPerResource(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "state.db"), Options{EventsPerResource: 3})
	defer s.Close()
	for i := range 5 {
		if err := s.AddEvent(t.Context(), resourcestore.Event{Kind: "K", Name: "n", Reason: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	evs, err := s.Events(t.Context(), "K", "n", 0)
	if err != nil || len(evs) != 3 || evs[0].Reason != "4" || evs[2].Reason != "2" {
		t.Fatalf("Events = %+v, %v; want reasons 4 3 2", evs, err)
	}
}

func TestDeleteCascadesLabels(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "state.db"), Options{})
	defer s.Close()
	ctx := t.Context()
	if _, _, err := s.Apply(ctx, resourcestore.Record{Kind: "K", Name: "n", Labels: map[string]string{"a": "1", "b": "2"}}, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "K", "n", 0); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM resource_labels`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d label rows left after delete (%v)", n, err)
	}
}

// Environment of the child processes of TestTwoProcesses.
const (
	envChild = "IPOS_RESOURCESTORE_SQLITE_CHILD" // the child's number
	envPath  = "IPOS_RESOURCESTORE_SQLITE_PATH"
)

const (
	processes  = 2
	goroutines = 2   // per process
	steps      = 200 // per goroutine: alternately a spec and a status increment
)

// TestTwoProcesses runs this test binary twice at once against one file.
// Each child has goroutines that increment their own counters, in the
// spec by Apply and in the status by UpdateStatus, each by
// read-modify-write with expectVersion, retrying on conflict. No update
// may be lost and none may land twice.
func TestTwoProcesses(t *testing.T) {
	if id := os.Getenv(envChild); id != "" {
		child(t, id, os.Getenv(envPath))
		return
	}
	path := filepath.Join(t.TempDir(), ".ipos", "state.db")
	s := openTest(t, path, Options{})
	defer s.Close()
	if _, _, err := s.Apply(t.Context(), resourcestore.Record{Kind: "Dataset", Name: "shared", SpecHash: "{}", Object: []byte(`{}`)}, 0); err != nil {
		t.Fatal(err)
	}
	cmds := make([]*exec.Cmd, processes)
	outs := make([]strings.Builder, processes)
	for p := range cmds {
		cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestTwoProcesses$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), envChild+"="+strconv.Itoa(p), envPath+"="+path)
		cmd.Stdout, cmd.Stderr = &outs[p], &outs[p]
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds[p] = cmd
	}
	for p, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("child %d: %v\n%s", p, err, outs[p].String())
		} else {
			t.Logf("child %d: %s", p, lastLines(outs[p].String()))
		}
	}
	final, err := s.Get(t.Context(), "Dataset", "shared")
	if err != nil {
		t.Fatal(err)
	}
	spec, status := map[string]int{}, map[string]int{}
	json.Unmarshal(final.Object, &spec)
	json.Unmarshal(final.Status, &status)
	for p := range processes {
		for g := range goroutines {
			key := fmt.Sprintf("p%dg%d", p, g)
			if spec[key] != steps/2 || status[key] != steps/2 {
				t.Errorf("%s: spec counter %d, status counter %d; want %d each", key, spec[key], status[key], steps/2)
			}
		}
	}
	if want := int64(1 + processes*goroutines*steps/2); final.Generation != want {
		t.Errorf("generation %d, want %d (one per spec change)", final.Generation, want)
	}
	// Every successful write took a distinct version from the counter.
	var counter int64
	if err := s.db.QueryRowContext(t.Context(), `SELECT value FROM counters WHERE name = 'resource_version'`).Scan(&counter); err != nil {
		t.Fatal(err)
	}
	if want := int64(1 + processes*goroutines*steps); counter != want || final.ResourceVersion != want {
		t.Errorf("version counter %d, record version %d; want %d writes", counter, final.ResourceVersion, want)
	}
}

func lastLines(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for _, l := range lines {
		if strings.Contains(l, "conflicts") {
			return strings.TrimSpace(l)
		}
	}
	return lines[len(lines)-1]
}

func child(t *testing.T, id, path string) {
	// A generous busy timeout: the children contend hard on purpose.
	s := openTest(t, path, Options{BusyTimeout: 30 * time.Second})
	defer s.Close()
	ctx := t.Context()
	type result struct {
		conflicts int
		err       error
	}
	results := make(chan result, goroutines)
	for g := range goroutines {
		go func() {
			key := fmt.Sprintf("p%sg%d", id, g)
			n := 0
			for i := 0; i < steps; {
				cur, err := s.Get(ctx, "Dataset", "shared")
				if err != nil {
					results <- result{err: err}
					return
				}
				if i%2 == 0 {
					m := map[string]int{}
					json.Unmarshal(cur.Object, &m)
					m[key]++
					b, _ := json.Marshal(m)
					_, _, err = s.Apply(ctx, resourcestore.Record{Kind: "Dataset", Name: "shared", SpecHash: string(b), Object: b}, cur.ResourceVersion)
				} else {
					m := map[string]int{}
					if len(cur.Status) > 0 {
						json.Unmarshal(cur.Status, &m)
					}
					m[key]++
					b, _ := json.Marshal(m)
					_, err = s.UpdateStatus(ctx, "Dataset", "shared", b, cur.ResourceVersion)
				}
				switch {
				case errors.Is(err, resourcestore.ErrConflict):
					n++
				case err != nil:
					results <- result{err: fmt.Errorf("%s step %d: %w", key, i, err)}
					return
				default:
					i++
				}
			}
			results <- result{conflicts: n}
		}()
	}
	total := 0
	for range goroutines {
		r := <-results
		if r.err != nil {
			t.Fatal(r.err)
		}
		total += r.conflicts
	}
	t.Logf("process %s: %d writes, %d conflicts retried", id, goroutines*steps, total)
}
