package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/ipos-dev/ipos/internal/compute"
	"github.com/ipos-dev/ipos/internal/engine"
	"github.com/ipos-dev/ipos/internal/identity"
	"github.com/ipos-dev/ipos/internal/policy"
	"github.com/ipos-dev/ipos/internal/query"
	"github.com/ipos-dev/ipos/internal/workspace"
)

// systemColumns are left out of a job's inputs: they describe the
// history, not the data (event_time stays, as a data column).
var systemColumns = `EXCLUDE ("offset", op, system_time)`

// jobInputs materialises a job's inputs through the same policy views as
// 'ipos sql': masks and row filters apply inside the query that reads the
// dataset, and the decision is recorded in the audit log.
type jobInputs struct {
	g *globals
	w *workspace.Workspace
}

var _ compute.Materializer = jobInputs{}

func (m jobInputs) Materialize(ctx context.Context, subject identity.Subject, dataset, dir string) (compute.InputInfo, error) {
	info := compute.InputInfo{Dataset: dataset}
	access, err := m.g.access(ctx, m.w, policy.ActionRead)
	if err != nil {
		return info, err
	}
	if access.Subject.DID != subject.DID {
		return info, fmt.Errorf("inputs are read as %s, but the job runs for %s", access.Subject.Name, subject.Name)
	}
	s, err := query.Open(ctx, m.w, query.Options{Access: access, Only: []string{dataset}})
	if err != nil {
		return info, err
	}
	defer s.Close()
	t, err := s.Table(dataset)
	if err != nil {
		return info, err
	}
	info.ID = t.ID.String()
	if t.Head != nil {
		info.Head = t.Head.String()
	}
	if d := t.Decision; d != nil {
		if !d.Allow {
			return info, fmt.Errorf("%s may not read %s: %s", subject.Name, dataset, t.Note)
		}
		info.Policy = d.Policy
		for col := range d.ColumnMasks {
			info.Masked = append(info.Masked, col)
		}
		sort.Strings(info.Masked)
		info.Filtered = len(d.RowFilters) > 0
	}
	if len(t.Columns) == 0 {
		return info, fmt.Errorf("%s has no data yet (%s)", dataset, t.Note)
	}
	res, err := s.Query(ctx, fmt.Sprintf("SELECT * %s FROM %s ORDER BY \"offset\"", systemColumns, quoteIdent(dataset)))
	if err != nil {
		return info, err
	}
	info.Rows, info.Columns = int64(len(res.Rows)), res.Columns
	var buf bytes.Buffer
	if err := writeResultCSV(&buf, res); err != nil {
		return info, err
	}
	if err := os.WriteFile(filepath.Join(dir, "data.csv"), buf.Bytes(), 0o600); err != nil {
		return info, err
	}
	if err := engine.WriteParquet(ctx, res, filepath.Join(dir, "data.parquet")); err != nil {
		return info, err
	}
	info.Files = []string{"data.csv", "data.parquet"}
	return info, nil
}

// sqlAlgorithms runs SQL algorithms in a locked-down engine that can read
// the job's materialised inputs and nothing else.
type sqlAlgorithms struct{}

var _ compute.SQLRunner = sqlAlgorithms{}

func (sqlAlgorithms) RunSQL(ctx context.Context, q string, inputs map[string]string) ([]byte, error) {
	e, err := engine.Open(ctx, engine.DefaultConfig())
	if err != nil {
		return nil, err
	}
	defer e.Close()
	var files []string
	for name, path := range inputs {
		if err := e.CreateParquetView(ctx, name, []string{path}); err != nil {
			return nil, err
		}
		files = append(files, path)
	}
	if err := e.Lockdown(ctx, nil, files); err != nil {
		return nil, err
	}
	res, err := e.QueryStatement(ctx, q)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	err = writeResultCSV(&buf, res)
	return buf.Bytes(), err
}
