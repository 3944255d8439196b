package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/ipos-dev/ipos/internal/contract"
	"github.com/ipos-dev/ipos/internal/odf"
)

// ContractRequest asks CheckContract to check a dataset's rows against
// compiled contracts.
type ContractRequest struct {
	Plans []*contract.Plan
	// Slice is the new slice's Parquet file(s) for a commit check; empty
	// checks the whole dataset (every rule then reads "dataset").
	Slice []string
	// Prev are the dataset's committed Parquet files, in offset order.
	Prev   []string
	Schema *odf.DataSchema // the schema the rows have; nil skips schema checks
	System contract.SystemColumns
	Now    time.Time
	// Samples is how many offending rows to keep per failed row-level
	// rule; 0 keeps none.
	Samples int
	Dataset string
	Source  string
}

// Relation names under which checks see the rows.
const (
	contractSlice   = "slice"
	contractDataset = "dataset"
)

// CheckContract runs the plans' checks in an engine of its own, locked
// down to the dataset's files (a rule's SQL is user SQL): "slice" is the
// new slice's appended and corrected rows, "dataset" the rows in force
// with it (each -R or -C cancels its +A or +C). Aggregate checks over
// one relation share one scan; when the slice is the whole dataset (a
// first commit without retractions) dataset checks join the slice's scan.
// SQL rules run one at a time as sandboxed queries; a rule that fails to
// run is a violation that says why. Samples of offending rows are read
// only for failed row-level rules.
func CheckContract(ctx context.Context, cfg Config, req ContractRequest) (rep *contract.Report, err error) {
	defer func() {
		if err != nil {
			if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
				err = fmt.Errorf("%w: %w", err, ctx.Err())
			}
			err = fmt.Errorf("engine: contract check: %w", err)
		}
	}()
	now := req.Now
	if now.IsZero() {
		now = time.Now()
	}
	rep = &contract.Report{Dataset: req.Dataset, Source: req.Source, CheckedAt: now.UTC(), Target: "commit"}
	if len(req.Slice) == 0 {
		rep.Target = "dataset"
	}
	for _, p := range req.Plans {
		rep.Contracts = append(rep.Contracts, p.Name+"@"+p.Version)
		rep.Results = append(rep.Results, contract.CheckSchema(p, req.Schema)...)
	}
	e, err := Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer e.Close()
	sys := req.System
	if sys == (contract.SystemColumns{}) {
		sys = contract.DefaultSystemColumns()
	}
	all := append(slices.Clone(req.Prev), req.Slice...)

	// Views.
	rels := map[string]string{} // scope → relation that scope's checks read
	cols := map[string]map[string]bool{}
	if len(all) == 0 {
		if req.Schema == nil {
			for _, p := range req.Plans {
				for i := range p.Checks {
					c := &p.Checks[i]
					r := contract.Missing(p, c)
					r.Message = "the dataset has no data yet"
					rep.Results = append(rep.Results, r)
				}
			}
			return rep, nil
		}
		if err := e.CreateEmptyView(ctx, contractDataset, req.Schema); err != nil {
			return nil, err
		}
		rels[string(contract.ScopeSlice)], rels[string(contract.ScopeDataset)] = contractDataset, contractDataset
	} else {
		retracts, err := e.hasRetractions(ctx, all, sys.Op)
		if err != nil {
			return nil, err
		}
		if retracts {
			cur, err := e.currentState(ctx, all, Vocab(sys))
			if err != nil {
				return nil, err
			}
			if err := e.exec(ctx, fmt.Sprintf("CREATE VIEW %s AS %s", quoteIdent(contractDataset), cur)); err != nil {
				return nil, err
			}
		} else if err := e.exec(ctx, fmt.Sprintf("CREATE VIEW %s AS SELECT * FROM read_parquet(%s, union_by_name=true)", quoteIdent(contractDataset), listLit(all))); err != nil {
			return nil, err
		}
		rels[string(contract.ScopeSlice)], rels[string(contract.ScopeDataset)] = contractDataset, contractDataset
		if len(req.Slice) > 0 {
			q := fmt.Sprintf("CREATE VIEW %s AS SELECT * FROM read_parquet(%s, union_by_name=true) WHERE %s IN (0, 3)",
				quoteIdent(contractSlice), listLit(req.Slice), quoteIdent(sys.Op))
			if err := e.exec(ctx, q); err != nil {
				return nil, err
			}
			rels[string(contract.ScopeSlice)] = contractSlice
			if len(req.Prev) == 0 && !retracts {
				rels[string(contract.ScopeDataset)] = contractSlice // the same rows: one scan
			}
		}
	}
	for _, rel := range rels {
		if cols[rel] != nil {
			continue
		}
		cs, err := e.describe(ctx, quoteIdent(rel))
		if err != nil {
			return nil, err
		}
		cols[rel] = map[string]bool{}
		for _, c := range cs {
			cols[rel][c.Name] = true
		}
	}
	if err := e.Lockdown(ctx, nil, all); err != nil {
		return nil, err
	}

	// Aggregates, one scan per relation.
	type job struct {
		p *contract.Plan
		c *contract.Check
	}
	scans := map[string][]job{}
	var order []string
	var queries []job
	for _, p := range req.Plans {
		for i := range p.Checks {
			c := &p.Checks[i]
			rel := rels[string(c.Scope)]
			if c.Column != "" && !cols[rel][c.Column] {
				if !c.Implied {
					rep.Results = append(rep.Results, contract.Missing(p, c))
				}
				continue
			}
			if c.Kind == contract.KindQuery {
				queries = append(queries, job{p, c})
				continue
			}
			if _, ok := scans[rel]; !ok {
				order = append(order, rel)
			}
			scans[rel] = append(scans[rel], job{p, c})
		}
	}
	rows := map[string]int64{}
	if _, ok := scans[contractSlice]; !ok && len(req.Slice) > 0 {
		order = append(order, contractSlice) // still count its rows for the report
	}
	for _, rel := range dedupe(order) {
		jobs := scans[rel]
		sel := []string{"count(*)"}
		for _, j := range jobs {
			sel = append(sel, j.c.Aggregate())
		}
		res, err := e.Query(ctx, fmt.Sprintf("SELECT %s FROM %s", strings.Join(sel, ", "), quoteIdent(rel)))
		if err != nil {
			return nil, err
		}
		if len(res.Rows) != 1 {
			return nil, fmt.Errorf("aggregate over %s returned %d rows", rel, len(res.Rows))
		}
		vals := res.Rows[0]
		n := int64(toFloat(vals[0]))
		rows[rel] = n
		for k, j := range jobs {
			obs := j.c.Observed(toFloat(vals[k+1]), n, now)
			r := contract.Evaluate(j.p, j.c, obs)
			if !r.Passed && req.Samples > 0 && j.c.RowLevel() {
				if r.Samples, err = e.samples(ctx, j.c.SampleQuery(rel, req.Samples)); err != nil {
					return nil, err
				}
			}
			rep.Results = append(rep.Results, r)
		}
	}
	for _, j := range queries {
		rel := rels[string(j.c.Scope)]
		res, err := e.QueryStatement(ctx, j.c.Query(rel))
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var obs float64
		switch {
		case err != nil:
			err = fmt.Errorf("the rule's query failed: %v", err)
		case len(res.Rows) != 1 || len(res.Columns) != 1:
			err = fmt.Errorf("the rule's query must return one row with one number; it returned %d row(s) of %d column(s)", len(res.Rows), len(res.Columns))
		default:
			if obs = toFloat(res.Rows[0][0]); math.IsNaN(obs) && res.Rows[0][0] != nil {
				err = fmt.Errorf("the rule's query returned %v, not a number", res.Rows[0][0])
			}
		}
		r := contract.Evaluate(j.p, j.c, obs)
		if err != nil {
			r.Passed, r.Observed, r.Message = false, nil, err.Error()
		}
		rep.Results = append(rep.Results, r)
	}
	if len(req.Slice) == 0 {
		for i := range rep.Results {
			if rep.Results[i].Scope == contract.ScopeSlice {
				rep.Results[i].Scope = contract.ScopeDataset // every rule read the whole dataset
			}
		}
	}
	rep.SliceRows, rep.DatasetRows = rows[contractSlice], rows[contractDataset]
	if rels[string(contract.ScopeDataset)] == contractSlice {
		rep.DatasetRows = rep.SliceRows
	}
	return rep, nil
}

// hasRetractions reports whether any row of files is a -R or -C.
func (e *Engine) hasRetractions(ctx context.Context, files []string, op string) (bool, error) {
	var n int64
	q := fmt.Sprintf("SELECT count(*) FROM read_parquet(%s, union_by_name=true) WHERE %s IN (1, 2)", listLit(files), quoteIdent(op))
	if err := e.scalar(ctx, q, &n); err != nil {
		return false, err
	}
	return n > 0, nil
}

// samples reads offending rows as column → value maps.
func (e *Engine) samples(ctx context.Context, query string) ([]map[string]any, error) {
	res, err := e.Query(ctx, query)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, len(res.Rows))
	for i, row := range res.Rows {
		m := make(map[string]any, len(row))
		for j, v := range row {
			if b, ok := v.([]byte); ok {
				v = string(b)
			}
			if t, ok := v.(time.Time); ok {
				v = t.UTC().Format(time.RFC3339Nano)
			}
			m[res.Columns[j]] = v
		}
		out[i] = m
	}
	return out, nil
}

// toFloat converts a DuckDB number to float64; NULL and non-numbers are NaN.
func toFloat(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case float32:
		return float64(x)
	case int64:
		return float64(x)
	case int32:
		return float64(x)
	case int16:
		return float64(x)
	case int8:
		return float64(x)
	case int:
		return float64(x)
	case uint64:
		return float64(x)
	case uint32:
		return float64(x)
	case uint16:
		return float64(x)
	case uint8:
		return float64(x)
	case bool:
		if x {
			return 1
		}
		return 0
	case *big.Int:
		f, _ := new(big.Float).SetInt(x).Float64()
		return f
	}
	return math.NaN()
}

func dedupe(s []string) []string {
	var out []string
	for _, x := range s {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}
