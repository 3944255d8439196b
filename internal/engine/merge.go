package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ipos-dev/ipos/internal/odf"
	"github.com/ipos-dev/ipos/internal/parquetmeta"
)

// Vocab names the system columns.
type Vocab struct{ Offset, Op, SystemTime, EventTime string }

// DefaultVocab returns ODF's default column names.
func DefaultVocab() Vocab {
	return Vocab{Offset: "offset", Op: "op", SystemTime: "system_time", EventTime: "event_time"}
}

// VocabFrom applies a SetVocab event (nil allowed) over the defaults.
func VocabFrom(v *odf.SetVocab) Vocab {
	d := DefaultVocab()
	if v == nil {
		return d
	}
	set := func(dst *string, p *string) {
		if p != nil && *p != "" {
			*dst = *p
		}
	}
	set(&d.Offset, v.OffsetColumn)
	set(&d.Op, v.OperationTypeColumn)
	set(&d.SystemTime, v.SystemTimeColumn)
	set(&d.EventTime, v.EventTimeColumn)
	return d
}

func (v Vocab) withDefaults() Vocab {
	d := DefaultVocab()
	if v.Offset == "" {
		v.Offset = d.Offset
	}
	if v.Op == "" {
		v.Op = d.Op
	}
	if v.SystemTime == "" {
		v.SystemTime = d.SystemTime
	}
	if v.EventTime == "" {
		v.EventTime = d.EventTime
	}
	return v
}

// MergeRequest asks Merge to combine a new batch with a dataset's history.
type MergeRequest struct {
	New             string   // table with the new batch (user columns)
	Prev            []string // Parquet files of the existing slices, in offset order
	Strategy        odf.MergeStrategy
	Vocab           Vocab
	SystemTime      time.Time
	SourceEventTime *time.Time // event time when the batch has no event-time column; nil → SystemTime
	NextOffset      uint64     // offset of the first new row
	Out             string     // Parquet file to write
}

// MergeResult describes the written slice.
type MergeResult struct {
	Rows         int64           // 0: nothing to commit, no file written
	MaxEventTime *time.Time      // max event time of the written rows
	Schema       *odf.DataSchema // ODF schema of the file, system columns included
	Incremental  bool            // Transform read only the new input slices
}

// Parquet settings; see doc.go for why.
const (
	parquetCompression  = "snappy"
	parquetRowGroupSize = 122880
)

// mergeCtx is the state of one Merge call.
type mergeCtx struct {
	e        *Engine
	req      MergeRequest
	v        Vocab
	data     []column // data columns of the new batch, event time excluded
	hasET    bool
	newT     string            // staged new rows: __et, __etnn, data…, __seq
	stageSel string            // newT's select list over req.New
	prevV    string            // view over Prev, "" when none
	prevCols map[string]string // name → DuckDB type
	// inputOrder: the rows are every staged row, unfiltered, and the order
	// is "__et, __seq" (Append), so when the batch's event times never
	// decrease the sorted order is the input order and write may skip the
	// sort (see presorted).
	inputOrder bool
}

// Merge merges req.New with the history per req.Strategy and writes one
// Parquet slice to req.Out.
func (e *Engine) Merge(ctx context.Context, req MergeRequest) (res MergeResult, err error) {
	defer func() {
		if err != nil {
			if ctx.Err() != nil && !strings.Contains(err.Error(), ctx.Err().Error()) {
				err = fmt.Errorf("%w: %w", err, ctx.Err())
			}
			err = fmt.Errorf("engine: merge: %w", err)
		}
	}()
	m := &mergeCtx{e: e, req: req, v: req.Vocab.withDefaults()}
	if req.SystemTime.IsZero() {
		return res, fmt.Errorf("system time is not set")
	}
	cols, err := e.describe(ctx, quoteIdent(req.New))
	if err != nil {
		return res, fmt.Errorf("table %q: %w", req.New, err)
	}
	_, changelog := req.Strategy.(odf.MergeStrategyChangelogStream)
	if p, ok := req.Strategy.(*odf.MergeStrategyChangelogStream); ok && p != nil {
		changelog = true
	}
	var opCol *column
	for _, c := range cols {
		switch c.Name {
		case m.v.Offset, m.v.SystemTime:
			return res, fmt.Errorf("new data has column %q, which is reserved for a system column", c.Name)
		case m.v.Op:
			if !changelog {
				return res, fmt.Errorf("new data has column %q, which is reserved for the operation type", c.Name)
			}
			opCol = &c
			continue
		case m.v.EventTime:
			m.hasET = true
			continue
		}
		m.data = append(m.data, c)
	}
	if changelog && opCol == nil {
		return res, fmt.Errorf("ChangelogStream: new data has no %q column", m.v.Op)
	}
	if err := m.stage(ctx, opCol != nil, cols); err != nil {
		return res, err
	}
	defer e.dropView(m.newT)
	if len(req.Prev) > 0 {
		m.prevV = e.tempName("prev")
		q := fmt.Sprintf("CREATE OR REPLACE TEMP VIEW %s AS SELECT * FROM read_parquet(%s, union_by_name=true)", quoteIdent(m.prevV), listLit(req.Prev))
		if err := e.exec(ctx, q); err != nil {
			return res, fmt.Errorf("previous slices: %w", err)
		}
		defer e.dropView(m.prevV)
		pc, err := e.describe(ctx, quoteIdent(m.prevV))
		if err != nil {
			return res, fmt.Errorf("previous slices: %w", err)
		}
		m.prevCols = map[string]string{}
		for _, c := range pc {
			m.prevCols[c.Name] = c.Type
		}
	}

	var rows string // SELECT __op, __et, data…, __k… ORDER-ready
	var order string
	switch s := deref2(req.Strategy).(type) {
	case odf.MergeStrategyAppend:
		rows, order = m.appendRows(nil), "__et, __seq"
		m.inputOrder = true
	case odf.MergeStrategyLedger:
		if err := m.checkColumns("primaryKey", s.PrimaryKey, true, true); err != nil {
			return res, err
		}
		rows, order = m.appendRows(s.PrimaryKey), "__et, __seq"
	case odf.MergeStrategySnapshot:
		if err := m.checkColumns("primaryKey", s.PrimaryKey, true, false); err != nil {
			return res, err
		}
		if err := m.checkColumns("compareColumns", s.CompareColumns, false, false); err != nil {
			return res, err
		}
		rows, order = m.snapshotRows(s)
	case odf.MergeStrategyChangelogStream:
		if err := m.checkColumns("primaryKey", s.PrimaryKey, true, false); err != nil {
			return res, err
		}
		if err := m.checkOps(ctx); err != nil {
			return res, err
		}
		rows, order = fmt.Sprintf("SELECT __op, __et, %s, __seq FROM %s", m.dataList(""), quoteIdent(m.newT)), "__seq"
	case odf.MergeStrategyUpsertStream:
		return res, fmt.Errorf("merge strategy UpsertStream: %w", ErrNotSupported)
	default:
		return res, fmt.Errorf("merge strategy %T: %w", req.Strategy, ErrNotSupported)
	}
	return m.write(ctx, rows, order)
}

func deref2(s odf.MergeStrategy) odf.MergeStrategy {
	switch p := s.(type) {
	case *odf.MergeStrategyAppend:
		return *p
	case *odf.MergeStrategyLedger:
		return *p
	case *odf.MergeStrategySnapshot:
		return *p
	case *odf.MergeStrategyChangelogStream:
		return *p
	case *odf.MergeStrategyUpsertStream:
		return *p
	}
	return s
}

func tsLit(t time.Time) string {
	return "TIMESTAMPTZ " + quoteLit(t.UTC().Truncate(time.Millisecond).Format("2006-01-02 15:04:05.000Z07:00"))
}

// stage defines a temp view over the new batch with the normalised event
// time (__et), whether the batch had one (__etnn), the data columns with
// timestamps normalised to UTC milliseconds, and the input order (__seq,
// the rowid of req.New). A view, not a copy: the batch is scanned once,
// when write sorts it.
func (m *mergeCtx) stage(ctx context.Context, withOp bool, cols []column) error {
	fallback := m.req.SystemTime
	if m.req.SourceEventTime != nil {
		fallback = *m.req.SourceEventTime
	}
	et, etnn := tsLit(fallback), "false"
	if m.hasET {
		c := quoteIdent(m.v.EventTime)
		typ := ""
		for _, col := range cols {
			if col.Name == m.v.EventTime {
				typ = col.Type
			}
		}
		et = fmt.Sprintf("coalesce(%s, %s)", utcMillis(c, typ), tsLit(fallback))
		etnn = c + " IS NOT NULL"
	}
	sel := []string{et + " AS __et", etnn + " AS __etnn"}
	if withOp {
		sel = append(sel, fmt.Sprintf("CAST(%s AS INTEGER) AS __op", quoteIdent(m.v.Op)))
	}
	for _, c := range m.data {
		sel = append(sel, normalised(quoteIdent(c.Name), c.Type)+" AS "+quoteIdent(c.Name))
	}
	sel = append(sel, "rowid AS __seq")
	m.newT = m.e.tempName("new")
	m.stageSel = strings.Join(sel, ", ")
	q := fmt.Sprintf("CREATE TEMP VIEW %s AS SELECT %s FROM %s", quoteIdent(m.newT), m.stageSel, quoteIdent(m.req.New))
	return m.e.exec(ctx, q)
}

// normalised converts a top-level timestamp column to TIMESTAMPTZ whole
// milliseconds; other columns are kept.
func normalised(expr, typ string) string {
	if isTimestamp(typ) {
		return utcMillis(expr, typ)
	}
	return expr
}

// utcMillis is CAST(expr AS TIMESTAMPTZ) truncated to whole milliseconds
// (floor), for a value of DuckDB type typ. It equals
// date_trunc('millisecond', CAST(expr AS TIMESTAMPTZ)) under TimeZone=UTC
// (TestUTCMillis) but avoids ICU's calendar arithmetic, which costs ~0.2 µs
// a value: the truncation runs on a naive TIMESTAMP (plain integer
// arithmetic) and make_timestamptz/epoch_us only relabel the microseconds.
func utcMillis(expr, typ string) string {
	var naive string
	switch strings.ToUpper(typ) {
	case "TIMESTAMP":
		naive = expr
	case "DATE", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS":
		naive = fmt.Sprintf("CAST(%s AS TIMESTAMP)", expr)
	case "TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ":
		naive = fmt.Sprintf("make_timestamp(epoch_us(%s))", expr)
	default:
		naive = fmt.Sprintf("make_timestamp(epoch_us(CAST(%s AS TIMESTAMPTZ)))", expr)
	}
	return fmt.Sprintf("make_timestamptz(epoch_us(date_trunc('millisecond', %s)))", naive)
}

// checkColumns checks that names are data columns (or the event time,
// when allowET) of both the new batch and the previous slices.
func (m *mergeCtx) checkColumns(what string, names []string, required, allowET bool) error {
	if required && len(names) == 0 {
		return fmt.Errorf("%s is empty", what)
	}
	for _, n := range names {
		if allowET && m.hasET && n == m.v.EventTime {
			continue
		}
		if !slices.ContainsFunc(m.data, func(c column) bool { return c.Name == n }) {
			return fmt.Errorf("%s column %q is not in the new data (columns: %s)", what, n, m.columnNames())
		}
		if _, ok := m.prevCols[n]; m.prevV != "" && !ok {
			return fmt.Errorf("%s column %q is not in the previous slices", what, n)
		}
	}
	return nil
}

func (m *mergeCtx) columnNames() string {
	names := make([]string, len(m.data))
	for i, c := range m.data {
		names[i] = c.Name
	}
	return strings.Join(names, ", ")
}

// dataList renders the data columns, qualified by alias when set.
func (m *mergeCtx) dataList(alias string) string {
	parts := make([]string, len(m.data))
	for i, c := range m.data {
		if alias != "" {
			parts[i] = alias + "." + quoteIdent(c.Name)
		} else {
			parts[i] = quoteIdent(c.Name)
		}
	}
	return strings.Join(parts, ", ")
}

// ledgerMatch matches a previous row p with a staged new row n on pk.
func (m *mergeCtx) ledgerMatch(pk []string) string {
	conds := make([]string, len(pk))
	for i, k := range pk {
		nk := "n." + quoteIdent(k)
		if m.hasET && k == m.v.EventTime {
			nk = "n.__et"
		}
		conds[i] = fmt.Sprintf("p.%s IS NOT DISTINCT FROM %s", quoteIdent(k), nk)
	}
	return strings.Join(conds, " AND ")
}

// appendRows is Append (pk nil) or Ledger: every new row, or those whose
// primary key never appeared before, as +A.
func (m *mergeCtx) appendRows(pk []string) string {
	q := fmt.Sprintf("SELECT 0 AS __op, n.__et, %s, n.__seq FROM %s n", m.dataList("n"), quoteIdent(m.newT))
	if pk != nil && m.prevV != "" {
		q += fmt.Sprintf(" WHERE NOT EXISTS (SELECT 1 FROM %s p WHERE %s)", quoteIdent(m.prevV), m.ledgerMatch(pk))
	}
	return q
}

// snapshotRows diffs the new batch against the projected current state.
func (m *mergeCtx) snapshotRows(s odf.MergeStrategySnapshot) (string, string) {
	var pkOrder []string
	for _, k := range s.PrimaryKey {
		pkOrder = append(pkOrder, quoteIdent(k))
	}
	order := strings.Join(pkOrder, ", ") + ", __op, __seq"
	if m.prevV == "" {
		return m.appendRows(nil), order
	}
	v := m.v
	// Current state: latest row per key by offset, unless retracted.
	oSel := []string{fmt.Sprintf("%s AS __oet", quoteIdent(v.EventTime)), fmt.Sprintf("%s AS __ooff", quoteIdent(v.Offset))}
	nSel := []string{"__et AS __net", "__etnn AS __netnn", "__seq AS __nseq"}
	for i, c := range m.data {
		if pt, ok := m.prevCols[c.Name]; ok {
			o := quoteIdent(c.Name)
			if isTimestamp(c.Type) {
				o = utcMillis(o, pt)
			}
			oSel = append(oSel, fmt.Sprintf("%s AS __o%d", o, i))
		} else {
			oSel = append(oSel, fmt.Sprintf("CAST(NULL AS %s) AS __o%d", c.Type, i))
		}
		nSel = append(nSel, fmt.Sprintf("%s AS __n%d", quoteIdent(c.Name), i))
	}
	partition := strings.Join(pkOrder, ", ")
	state := fmt.Sprintf(`SELECT %s FROM (SELECT *, row_number() OVER (PARTITION BY %s ORDER BY %s DESC) AS __rn FROM %s) WHERE __rn = 1 AND %s <> 1`,
		strings.Join(oSel, ", "), partition, quoteIdent(v.Offset), quoteIdent(m.prevV), quoteIdent(v.Op))
	newer := fmt.Sprintf("SELECT %s FROM %s", strings.Join(nSel, ", "), quoteIdent(m.newT))
	idx := func(name string) int {
		return slices.IndexFunc(m.data, func(c column) bool { return c.Name == name })
	}
	var on []string
	for _, k := range s.PrimaryKey {
		i := idx(k)
		on = append(on, fmt.Sprintf("o.__o%d IS NOT DISTINCT FROM n.__n%d", i, i))
	}
	compare := s.CompareColumns
	if len(compare) == 0 {
		for _, c := range m.data {
			if !slices.Contains(s.PrimaryKey, c.Name) {
				compare = append(compare, c.Name)
			}
		}
	}
	var changed []string
	for _, c := range compare {
		i := idx(c)
		changed = append(changed, fmt.Sprintf("o.__o%d IS DISTINCT FROM n.__n%d", i, i))
	}
	if m.hasET {
		changed = append(changed, "(n.__netnn AND o.__oet IS DISTINCT FROM n.__net)")
	}
	if len(changed) == 0 {
		changed = []string{"false"}
	}
	joined := fmt.Sprintf("SELECT o.*, n.*, o.__ooff IS NOT NULL AS __hasold, n.__nseq IS NOT NULL AS __hasnew, (%s) AS __changed FROM (%s) o FULL OUTER JOIN (%s) n ON %s",
		strings.Join(changed, " OR "), state, newer, strings.Join(on, " AND "))
	side := func(op int, prefix string, where string) string {
		sel := []string{fmt.Sprintf("%d AS __op", op)}
		if prefix == "o" {
			sel = append(sel, "__oet AS __et")
		} else {
			sel = append(sel, "__net AS __et")
		}
		for i, c := range m.data {
			sel = append(sel, fmt.Sprintf("__%s%d AS %s", prefix, i, quoteIdent(c.Name)))
		}
		if prefix == "o" {
			sel = append(sel, "__ooff AS __seq")
		} else {
			sel = append(sel, "__nseq AS __seq")
		}
		return fmt.Sprintf("SELECT %s FROM j WHERE %s", strings.Join(sel, ", "), where)
	}
	q := fmt.Sprintf("WITH j AS (%s) %s UNION ALL %s UNION ALL %s UNION ALL %s", joined,
		side(0, "n", "NOT __hasold"),
		side(1, "o", "NOT __hasnew"),
		side(2, "o", "__hasold AND __hasnew AND __changed"),
		side(3, "n", "__hasold AND __hasnew AND __changed"))
	return q, order
}

func (m *mergeCtx) checkOps(ctx context.Context) error {
	var n int64
	var bad *int64
	q := fmt.Sprintf("SELECT count(*), min(__seq) FILTER (WHERE __op IS NULL OR __op NOT IN (0, 1, 2, 3)) FROM %s", quoteIdent(m.newT))
	if err := m.e.conn.QueryRowContext(ctx, q).Scan(&n, &bad); err != nil {
		return err
	}
	if bad != nil {
		return fmt.Errorf("ChangelogStream: row %d: column %q must be 0 (+A), 1 (-R), 2 (-C) or 3 (+C)", *bad+1, m.v.Op)
	}
	return nil
}

// write sorts the rows into a temp table, numbers them from NextOffset by
// their position in it, adds the system columns and writes the Parquet
// file with every thread. See doc.go for why the bytes are deterministic.
func (m *mergeCtx) write(ctx context.Context, rows, order string) (MergeResult, error) {
	var res MergeResult
	e, v := m.e, m.v
	data := ""
	if len(m.data) > 0 {
		data = ", " + m.dataList("")
	}
	ranked, err := m.sort(ctx, rows, data, order)
	if err != nil {
		if m.hasET && strings.Contains(err.Error(), "Conversion Error") {
			return res, fmt.Errorf("event time column %q: %w", m.v.EventTime, err)
		}
		return res, err
	}
	defer ranked.drop()
	var maxET *time.Time
	if err := e.conn.QueryRowContext(ctx, fmt.Sprintf("SELECT count(*), max(__et) FROM %s", ranked.rel)).Scan(&res.Rows, &maxET); err != nil {
		return res, err
	}
	if res.Rows == 0 {
		return MergeResult{}, nil
	}
	if maxET != nil {
		t := maxET.UTC()
		res.MaxEventTime = &t
	}
	// Timestamps leave as TIMESTAMP_MS, which DuckDB writes as
	// TIMESTAMP(MILLIS) not adjusted to UTC; the footer is then marked UTC
	// (parquetmeta), which is what the epoch milliseconds are.
	sel := []string{
		fmt.Sprintf("CAST(%d + __rank AS BIGINT) AS %s", m.req.NextOffset, quoteIdent(v.Offset)),
		fmt.Sprintf("CAST(__op AS INTEGER) AS %s", quoteIdent(v.Op)),
		fmt.Sprintf("%s AS %s", millisOut(tsLit(m.req.SystemTime)), quoteIdent(v.SystemTime)),
		fmt.Sprintf("%s AS %s", millisOut("__et"), quoteIdent(v.EventTime)),
	}
	for _, c := range m.data {
		if isTimestamp(c.Type) {
			sel = append(sel, millisOut(quoteIdent(c.Name))+" AS "+quoteIdent(c.Name))
		} else {
			sel = append(sel, quoteIdent(c.Name))
		}
	}
	out := e.tempName("out")
	if err := e.exec(ctx, fmt.Sprintf("CREATE TEMP VIEW %s AS SELECT %s FROM %s", quoteIdent(out), strings.Join(sel, ", "), ranked.rel)); err != nil {
		return res, err
	}
	defer e.dropView(out)
	schema, err := m.schema(ctx, out)
	if err != nil {
		return res, err
	}
	res.Schema = schema
	q := fmt.Sprintf("COPY %s TO %s (FORMAT parquet, COMPRESSION %s, ROW_GROUP_SIZE %d)",
		quoteIdent(out), quoteLit(m.req.Out), parquetCompression, parquetRowGroupSize)
	if err := e.exec(ctx, q); err != nil {
		return res, fmt.Errorf("write %s: %w", m.req.Out, err)
	}
	if _, err := parquetmeta.AdjustTimestampsToUTC(m.req.Out); err != nil {
		return res, fmt.Errorf("write %s: %w", m.req.Out, err)
	}
	return res, nil
}

// ranked is the merged rows materialised in their final order: rel is a
// relation with __op, __et, the data columns and __rank, the row's
// position from 0, whose scan yields the rows in that order.
type ranked struct {
	rel  string
	drop func()
}

// sort materialises rows in order. The sort is a CREATE TABLE AS … ORDER
// BY, which stores rows in order (preserve_insertion_order), so rowid is
// the rank, and repacks them into full row groups (see doc.go).
//
// When the batch is already in order (Append, presorted), it is copied
// instead, in parts of whole row groups (repack), for about a third of the
// sort's CPU time; the Parquet file is the same bytes
// (TestPresortedSameBytes).
func (m *mergeCtx) sort(ctx context.Context, rows, data, order string) (ranked, error) {
	e := m.e
	if m.inputOrder && !e.alwaysSort {
		n, ok, err := m.presorted(ctx)
		if err != nil {
			return ranked{}, err
		}
		if ok {
			return m.repack(ctx, n, data)
		}
	}
	sorted := e.tempName("sorted")
	q := fmt.Sprintf("CREATE TEMP TABLE %s AS SELECT __op, __et%s FROM (%s) ORDER BY %s", quoteIdent(sorted), data, rows, order)
	if err := e.exec(ctx, q); err != nil {
		e.drop(sorted)
		return ranked{}, err
	}
	return ranked{
		rel:  fmt.Sprintf("(SELECT *, rowid AS __rank FROM %s)", quoteIdent(sorted)),
		drop: func() { e.drop(sorted) },
	}, nil
}

// repack copies the n staged rows of an Append batch that is already in
// order into tables of whole row groups. A single DuckDB thread filling a
// table makes full row groups of parquetRowGroupSize rows, the last one
// shorter, which is the layout the sorted table has; with several threads
// the rows would keep the irregular groups of the parallel reader. So
// DuckDB is set to one thread and the batch is cut into one part per
// thread, each a multiple of parquetRowGroupSize rows but the last, each
// copied by its own connection at the same time. Scanned one after the
// other (UNION ALL keeps the order) the parts give the COPY the same row
// groups as the sorted table.
func (m *mergeCtx) repack(ctx context.Context, n int64, data string) (rk ranked, err error) {
	e := m.e
	per := (n + int64(e.threads) - 1) / int64(e.threads)
	per = max(1, (per+parquetRowGroupSize-1)/parquetRowGroupSize) * parquetRowGroupSize
	var names []string
	rk.drop = func() {
		for _, t := range names {
			e.drop(t)
		}
	}
	defer func() {
		if err != nil {
			rk.drop()
		}
	}()
	if err := e.exec(ctx, "SET threads=1"); err != nil {
		return rk, err
	}
	defer func() {
		// Restore the thread count even when ctx has ended.
		restore, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		err = errors.Join(err, e.exec(restore, fmt.Sprintf("SET threads=%d", e.threads)))
	}()
	var rels []string
	var wg sync.WaitGroup
	errs := make([]error, 0, e.threads)
	var mu sync.Mutex
	for lo := int64(0); lo < n || lo == 0; lo += per {
		// Parts are plain tables, not TEMP ones, so that the other
		// connections can create them and this one can read them.
		t := e.tempName("part")
		names = append(names, t)
		rels = append(rels, fmt.Sprintf("SELECT *, %d + rowid AS __rank FROM %s", lo, quoteIdent(t)))
		q := fmt.Sprintf("CREATE TABLE %s AS SELECT 0 AS __op, __et%s FROM (SELECT %s FROM %s WHERE rowid >= %d AND rowid < %d)",
			quoteIdent(t), data, m.stageSel, quoteIdent(m.req.New), lo, lo+per)
		wg.Go(func() {
			err := e.execOnNewConn(ctx, q)
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		})
		if n == 0 {
			break
		}
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return rk, err
	}
	rk.rel = "(" + strings.Join(rels, " UNION ALL ") + ")"
	return rk, nil
}

// presorted reports whether the staged batch's event times never decrease
// in input order, so that ORDER BY __et, __seq is the input order, and
// counts its rows. The streaming lag() sees the rows in scan order; the
// query also checks that this order is the input order (__seq rising by
// one each row), so a scan in any other order answers false, and the
// batch is then sorted.
func (m *mergeCtx) presorted(ctx context.Context) (int64, bool, error) {
	q := fmt.Sprintf(`SELECT count(*), count(*) FILTER (WHERE __pseq IS NOT NULL AND (__seq <> __pseq + 1 OR __et < __pet))
FROM (SELECT __seq, __et, lag(__seq) OVER () AS __pseq, lag(__et) OVER () AS __pet FROM %s)`, quoteIdent(m.newT))
	var n, bad int64
	if err := m.e.conn.QueryRowContext(ctx, q).Scan(&n, &bad); err != nil {
		return 0, false, err
	}
	return n, bad == 0, nil
}

// millisOut turns a TIMESTAMPTZ expression holding whole UTC milliseconds
// into TIMESTAMP_MS with the same epoch value, by integer arithmetic.
func millisOut(expr string) string {
	return fmt.Sprintf("CAST(make_timestamp(epoch_us(%s)) AS TIMESTAMP_MS)", expr)
}

// schema is the ODF schema of the output table: system columns as kamu
// declares them, data columns as Option of their type (DuckDB writes every
// Parquet column OPTIONAL), top-level timestamps as Timestamp(ms, "UTC").
func (m *mergeCtx) schema(ctx context.Context, table string) (*odf.DataSchema, error) {
	cols, err := m.e.describe(ctx, quoteIdent(table))
	if err != nil {
		return nil, err
	}
	ms := odf.TimeUnitMillisecond
	utc := "UTC"
	tsMS := odf.DataTypeTimestamp{Unit: &ms, Timezone: &utc}
	s := &odf.DataSchema{Fields: []odf.DataField{
		{Name: m.v.Offset, Type: odf.DataTypeInt64{}},
		{Name: m.v.Op, Type: odf.DataTypeInt32{}},
		{Name: m.v.SystemTime, Type: tsMS},
		{Name: m.v.EventTime, Type: tsMS},
	}}
	for _, c := range cols[4:] {
		var t odf.DataType
		if isTimestamp(c.Type) {
			t = tsMS
		} else if t, err = odfType(c.Type); err != nil {
			return nil, fmt.Errorf("column %q: %w", c.Name, err)
		}
		s.Fields = append(s.Fields, odf.DataField{Name: c.Name, Type: odf.DataTypeOption{Inner: t}})
	}
	return s, nil
}
