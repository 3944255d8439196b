package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/ipos-dev/ipos/internal/odf"
)

// TransformInput is one input of a derivative transform: the name the
// query reads it by and the Parquet files of its history up to the block
// the transform consumes, in offset order.
type TransformInput struct {
	Name  string
	Files []string
	// New, when not nil, lists the slices among Files that earlier runs
	// have not consumed. Transform then runs a stateless query (see
	// Stateless) over those slices alone, which gives the same bytes as
	// recomputing everything, provided the previous output is this
	// query's.
	New []string
}

// TransformRequest asks Transform to run a derivative dataset's query and
// write the difference from its previous output.
type TransformRequest struct {
	Inputs     []TransformInput
	Transform  odf.TransformSQL
	Prev       []string // the derivative's own slices, in offset order
	Vocab      Vocab    // the derivative's system column names
	SystemTime time.Time
	// EventTime is the event time of result rows when the query gives no
	// event-time column (the transform's output watermark, so that a
	// re-run gives the same rows); nil means SystemTime.
	EventTime  *time.Time
	NextOffset uint64
	Out        string
}

// Transform runs a derivative's SQL over its inputs and writes, as one
// Parquet slice, the difference between the result and the current state
// of its previous output: rows that disappeared are retracted (-R) and new
// rows appended (+A), as multisets, retractions first, each group in a
// total order of its columns so the file is the same on every run.
//
// Inputs are seen as their current state: each input's retractions and
// corrections cancel the rows they name, and the system columns offset, op
// and system_time are not visible (event_time is). Recomputing the whole
// result makes every kind of query correct (projections, filters,
// aggregations, joins, windows), and corrections in inputs flow through.
func (e *Engine) Transform(ctx context.Context, req TransformRequest) (res MergeResult, err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("engine: transform: %w", err)
		}
	}()
	if req.SystemTime.IsZero() {
		return res, fmt.Errorf("system time is not set")
	}
	v := req.Vocab.withDefaults()
	var views []string
	defer func() {
		for i := len(views) - 1; i >= 0; i-- {
			e.dropView(views[i])
		}
	}()
	for _, in := range req.Inputs {
		if len(in.Files) == 0 {
			return res, fmt.Errorf("input %q has no data yet", in.Name)
		}
	}
	incremental := false
	if len(req.Inputs) == 1 && req.Inputs[0].New != nil {
		if incremental, err = e.Stateless(ctx, req.Inputs[0], req.Transform); err != nil {
			return res, err
		}
	}
	result, negResult := e.tempName("result"), ""
	if incremental {
		// f(current) - f(previous) = f(added rows) - f(removed rows) for a
		// query that maps rows one by one.
		in := req.Inputs[0]
		negResult = e.tempName("negresult")
		for _, side := range []struct {
			table, ops string
		}{{result, "0, 3"}, {negResult, "1, 2"}} {
			q := fmt.Sprintf("CREATE OR REPLACE TEMP VIEW %s AS SELECT * EXCLUDE (%s, %s, %s) FROM read_parquet(%s, union_by_name=true) WHERE %s IN (%s)",
				quoteIdent(in.Name), quoteIdent(DefaultVocab().Offset), quoteIdent(DefaultVocab().Op), quoteIdent(DefaultVocab().SystemTime),
				listLit(in.New), quoteIdent(DefaultVocab().Op), side.ops)
			if err := e.exec(ctx, q); err != nil {
				return res, fmt.Errorf("input %q: %w", in.Name, err)
			}
			err := e.runSQL(ctx, req.Transform, side.table)
			e.dropView(in.Name)
			if err != nil {
				return res, err
			}
			defer e.drop(side.table)
		}
	} else {
		for _, in := range req.Inputs {
			proj, err := e.currentState(ctx, in.Files, DefaultVocab())
			if err != nil {
				return res, fmt.Errorf("input %q: %w", in.Name, err)
			}
			views = append(views, in.Name)
			if err := e.exec(ctx, fmt.Sprintf("CREATE OR REPLACE TEMP VIEW %s AS %s", quoteIdent(in.Name), proj)); err != nil {
				return res, fmt.Errorf("input %q: %w", in.Name, err)
			}
		}
		if err := e.runSQL(ctx, req.Transform, result); err != nil {
			return res, err
		}
		defer e.drop(result)
	}
	cols, err := e.describe(ctx, quoteIdent(result))
	if err != nil {
		return res, err
	}
	m := &mergeCtx{e: e, req: MergeRequest{SystemTime: req.SystemTime, NextOffset: req.NextOffset, Out: req.Out}, v: v}
	for _, c := range cols {
		switch c.Name {
		case v.Offset, v.Op, v.SystemTime:
			return res, fmt.Errorf("the query's result has column %q, which is reserved for a system column; rename it", c.Name)
		case v.EventTime:
			m.hasET = true
			continue
		}
		m.data = append(m.data, c)
	}
	fallback := req.SystemTime
	if req.EventTime != nil {
		fallback = *req.EventTime
	}
	et := tsLit(fallback)
	if m.hasET {
		for _, c := range cols {
			if c.Name == v.EventTime {
				et = utcMillis(quoteIdent(c.Name), c.Type)
			}
		}
	}
	sel := []string{et + " AS __et"}
	for _, c := range m.data {
		sel = append(sel, normalised(quoteIdent(c.Name), c.Type)+" AS "+quoteIdent(c.Name))
	}
	newV := e.tempName("tnew")
	views = append(views, newV)
	if err := e.exec(ctx, fmt.Sprintf("CREATE TEMP VIEW %s AS SELECT %s FROM %s", quoteIdent(newV), strings.Join(sel, ", "), quoteIdent(result))); err != nil {
		return res, err
	}
	negV := ""
	if incremental {
		negV = e.tempName("tneg")
		views = append(views, negV)
		if err := e.exec(ctx, fmt.Sprintf("CREATE TEMP VIEW %s AS SELECT %s FROM %s", quoteIdent(negV), strings.Join(sel, ", "), quoteIdent(negResult))); err != nil {
			return res, err
		}
	}

	// The previous output's current state, with its event time as __et.
	prevV := e.tempName("tprev")
	views = append(views, prevV)
	prevQ := "SELECT " + strings.Join(append([]string{"CAST(NULL AS TIMESTAMPTZ) AS __et"}, typedNulls(m.data)...), ", ") + " WHERE false"
	if len(req.Prev) > 0 {
		proj, err := e.currentState(ctx, req.Prev, v)
		if err != nil {
			return res, fmt.Errorf("previous output: %w", err)
		}
		pcols := []string{quoteIdent(v.EventTime) + " AS __et"}
		for _, c := range m.data {
			pcols = append(pcols, quoteIdent(c.Name))
		}
		prevQ = fmt.Sprintf("SELECT %s FROM (%s)", strings.Join(pcols, ", "), proj)
	}
	if err := e.exec(ctx, fmt.Sprintf("CREATE TEMP VIEW %s AS %s", quoteIdent(prevV), prevQ)); err != nil {
		return res, fmt.Errorf("previous output: %w (has the query's output changed shape?)", err)
	}

	// Multiset difference on the compared columns: the data, and the
	// event time when the query gives one.
	if len(m.data) == 0 {
		return res, fmt.Errorf("the query's result has no data columns")
	}
	data := m.dataList("")
	group, etSel := data, "min(__et) AS __et"
	on := make([]string, 0, len(m.data)+1)
	if m.hasET {
		group, etSel = "__et, "+data, "__et"
		on = append(on, "r.__et IS NOT DISTINCT FROM p.__et")
	}
	var coalesced []string
	for _, c := range m.data {
		n := quoteIdent(c.Name)
		on = append(on, fmt.Sprintf("r.%s IS NOT DISTINCT FROM p.%s", n, n))
		coalesced = append(coalesced, fmt.Sprintf("coalesce(r.%s, p.%s) AS %s", n, n, n))
	}
	// Retractions keep the event time they were written with.
	etOut := "CASE WHEN coalesce(p.__n, 0) > coalesce(r.__n, 0) THEN p.__et ELSE r.__et END"
	counted := func(view string) string {
		return fmt.Sprintf("SELECT %s, %s, count(*) AS __n FROM %s GROUP BY %s", etSel, data, quoteIdent(view), group)
	}
	removed := counted(prevV)
	if incremental {
		// The rows removed are those the retracted input rows map to;
		// without an event-time column of their own they keep the event
		// time they were written with, which only the previous output
		// knows.
		removed = counted(negV)
		if !m.hasET {
			var match []string
			for _, c := range m.data {
				n := quoteIdent(c.Name)
				match = append(match, fmt.Sprintf("n.%s IS NOT DISTINCT FROM o.%s", n, n))
			}
			removed = fmt.Sprintf("SELECT o.__et, %s, n.__n FROM (SELECT %s, count(*) AS __n FROM %s GROUP BY %s) n LEFT JOIN (SELECT min(__et) AS __et, %s FROM %s GROUP BY %s) o ON %s",
				prefixedCols("n.", m.data), data, quoteIdent(negV), data, data, quoteIdent(prevV), data, strings.Join(match, " AND "))
		}
	}
	diff := fmt.Sprintf("SELECT %s AS __et, %s, coalesce(r.__n, 0) AS __nr, coalesce(p.__n, 0) AS __np FROM (%s) r FULL OUTER JOIN (%s) p ON %s",
		etOut, strings.Join(coalesced, ", "), counted(newV), removed, strings.Join(on, " AND "))
	rows := fmt.Sprintf(`SELECT 1 AS __op, __et, %[1]s FROM (%[2]s) d, range(CAST(d.__np - d.__nr AS BIGINT)) WHERE d.__np > d.__nr
UNION ALL
SELECT 0 AS __op, __et, %[1]s FROM (%[2]s) d, range(CAST(d.__nr - d.__np AS BIGINT)) WHERE d.__nr > d.__np`, data, diff)
	res, err = m.write(ctx, rows, "__op DESC, "+data+", __et")
	res.Incremental = incremental
	return res, err
}

// currentState is a query over Parquet files of a stream with op codes
// that gives the rows in force: each -R or -C cancels one identical +A or
// +C. Its columns are the files' columns less offset, op and system_time.
func (e *Engine) currentState(ctx context.Context, files []string, v Vocab) (string, error) {
	src := fmt.Sprintf("read_parquet(%s, union_by_name=true)", listLit(files))
	cols, err := e.describe(ctx, "SELECT * FROM "+src)
	if err != nil {
		return "", err
	}
	var keep []string
	hasOp := false
	for _, c := range cols {
		switch c.Name {
		case v.Offset, v.SystemTime:
			continue
		case v.Op:
			hasOp = true
			continue
		}
		keep = append(keep, quoteIdent(c.Name))
	}
	if len(keep) == 0 {
		return "", fmt.Errorf("no data columns")
	}
	list := strings.Join(keep, ", ")
	sign := "1"
	if hasOp {
		sign = fmt.Sprintf("CASE WHEN %s IN (1, 2) THEN -1 ELSE 1 END", quoteIdent(v.Op))
	}
	return fmt.Sprintf("SELECT %s FROM (SELECT %s, CAST(sum(%s) AS BIGINT) AS __n FROM %s GROUP BY ALL) s, range(s.__n)", prefixed("s.", keep), list, sign, src), nil
}

func prefixed(p string, cols []string) string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = p + c
	}
	return strings.Join(out, ", ")
}

func typedNulls(cols []column) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		typ := c.Type
		if isTimestamp(typ) {
			typ = "TIMESTAMPTZ"
		}
		out[i] = fmt.Sprintf("CAST(NULL AS %s) AS %s", typ, quoteIdent(c.Name))
	}
	return out
}

func prefixedCols(p string, cols []column) string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = quoteIdent(c.Name)
	}
	return prefixed(p, names)
}

// statelessOps are the plan operators of a query that maps input rows one
// by one: scans, filters and projections.
var statelessOps = map[string]bool{
	"PROJECTION": true, "FILTER": true, "TABLE_SCAN": true, "READ_PARQUET": true,
	"PARQUET_SCAN": true, "SEQ_SCAN": true, "SEQ_SCAN ": true,
}

// Stateless reports whether a transform over one input maps its rows one
// by one (only scans, filters and projections in DuckDB's plan, and at
// least one scan of the input), so that it can run over new slices alone.
// Anything else (aggregates, joins, windows, DISTINCT, ORDER BY, LIMIT,
// constant rows) is stateful and is recomputed.
func (e *Engine) Stateless(ctx context.Context, in TransformInput, t odf.TransformSQL) (bool, error) {
	q := fmt.Sprintf("CREATE OR REPLACE TEMP VIEW %s AS SELECT * EXCLUDE (%s, %s, %s) FROM read_parquet(%s, union_by_name=true)",
		quoteIdent(in.Name), quoteIdent(DefaultVocab().Offset), quoteIdent(DefaultVocab().Op), quoteIdent(DefaultVocab().SystemTime), listLit(in.Files))
	if err := e.exec(ctx, q); err != nil {
		return false, fmt.Errorf("input %q: %w", in.Name, err)
	}
	defer e.dropView(in.Name)
	stateless := false
	err := e.withSteps(ctx, t, func(output string) error {
		rows, err := e.conn.QueryContext(ctx, "EXPLAIN (FORMAT JSON) "+output)
		if err != nil {
			return err
		}
		defer rows.Close()
		var plan strings.Builder
		for rows.Next() {
			var k, v string
			if err := rows.Scan(&k, &v); err != nil {
				return err
			}
			plan.WriteString(v)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		stateless = planIsStateless(plan.String())
		return nil
	})
	return stateless, err
}

// planIsStateless checks the operator names of an EXPLAIN (FORMAT JSON)
// plan.
func planIsStateless(plan string) bool {
	var nodes []map[string]any
	if err := json.Unmarshal([]byte(plan), &nodes); err != nil {
		return false
	}
	scans := 0
	var walk func(n map[string]any) bool
	walk = func(n map[string]any) bool {
		name, _ := n["name"].(string)
		name = strings.TrimSpace(name)
		if !statelessOps[name] {
			return false
		}
		if strings.Contains(name, "SCAN") || name == "READ_PARQUET" {
			scans++
		}
		children, _ := n["children"].([]any)
		for _, c := range children {
			m, ok := c.(map[string]any)
			if !ok || !walk(m) {
				return false
			}
		}
		return true
	}
	for _, n := range nodes {
		if !walk(n) {
			return false
		}
	}
	return scans > 0
}
