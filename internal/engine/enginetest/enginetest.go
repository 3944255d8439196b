// Package enginetest helps tests read back what the engine wrote: a
// dataset's records as one line each, compared as text.
package enginetest

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/ipos-dev/ipos/internal/engine"
)

var opNames = map[string]string{"0": "+A", "1": "-R", "2": "-C", "3": "+C"}

// Records reads Parquet slices in offset order as "offset op col=value …"
// lines, op written +A, -R, -C or +C. No files is no records.
func Records(t testing.TB, eng *engine.Engine, files []string, cols ...string) []string {
	t.Helper()
	if len(files) == 0 {
		return nil
	}
	q := make([]string, len(files))
	for i, f := range files {
		q[i] = "'" + strings.ReplaceAll(f, "'", "''") + "'"
	}
	sel := `"offset", op`
	for _, c := range cols {
		sel += `, "` + c + `"`
	}
	res, err := eng.Query(context.Background(), fmt.Sprintf(`SELECT %s FROM read_parquet([%s]) ORDER BY "offset"`, sel, strings.Join(q, ",")))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range res.Rows {
		parts := []string{fmt.Sprint(r[0]), opNames[fmt.Sprint(r[1])]}
		for i, c := range cols {
			parts = append(parts, fmt.Sprintf("%s=%v", c, r[2+i]))
		}
		out = append(out, strings.Join(parts, " "))
	}
	return out
}

// EqualLines fails the test unless got and want are the same lines.
func EqualLines(t testing.TB, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("records:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
