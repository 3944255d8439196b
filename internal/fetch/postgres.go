package fetch

import (
	"bufio"
	"context"
	"crypto/sha3"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/ipos-dev/ipos/internal/odf"
)

// PostgresDepot is a PostgreSQL database. A bare depot://NAME reads Table
// or Query (at most one is set); depot://NAME/schema.table reads that table.
type PostgresDepot struct {
	// DSN is a libpq connection string or postgres:// URL. It may hold a
	// password: no error or message from this package shows it.
	DSN   string
	Table string
	Query string
}

// StatePrefixRows starts the "odf/etag" state value of a PostgreSQL read:
// a digest of the rows read (see rowsDigest).
const StatePrefixRows = "rows-sha3-256:"

// pgTableRE is a table name a depot URL or manifest may give: name or
// schema.name, unquoted identifiers only.
var pgTableRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$`)

// pgSession makes the text PostgreSQL sends unambiguous: ISO dates, UTC
// times, hex bytea. SET LOCAL ends with the read-only transaction.
var pgSession = []string{
	"SET LOCAL TimeZone = 'UTC'",
	"SET LOCAL DateStyle = 'ISO, YMD'",
	"SET LOCAL IntervalStyle = 'iso_8601'",
	"SET LOCAL bytea_output = 'hex'",
}

// fetchPostgres reads a table or query in a read-only transaction and
// writes the rows as NDJSON to a file in WorkDir, one object per row with
// the columns in order: numbers as JSON numbers, booleans as booleans,
// timestamps as RFC 3339 UTC, dates as YYYY-MM-DD, bytea as base64, json
// and jsonb as JSON, arrays as JSON arrays, NULL as null, anything else as
// its PostgreSQL text. The state is a digest of the rows, so a table that
// did not change gives no item on the next pull.
func fetchPostgres(ctx context.Context, ref *depotRef, s odf.FetchStepURL, prev *odf.SourceState, opts Options) ([]Item, error) {
	d := ref.d.Postgres
	sql, what, err := pgRelation(ref)
	if err != nil {
		return nil, err
	}
	if opts.WorkDir == "" {
		return nil, fmt.Errorf("depot %q: no work directory to write rows into", ref.name)
	}
	cfg, err := pgx.ParseConfig(d.DSN)
	if err != nil {
		// The parser's message quotes the DSN; say what is wrong without it.
		return nil, fmt.Errorf("depot %q: the DSN is not a PostgreSQL connection string (want postgres://user@host:port/db or host=… dbname=…)", ref.name)
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 15 * time.Second
	}
	secrets := []string{d.DSN, cfg.Password}
	fail := func(format string, err error) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return scrub(fmt.Errorf("depot %q: "+format, ref.name, err), secrets...)
	}

	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fail("cannot connect to PostgreSQL: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, fail("begin read-only transaction: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	for _, set := range pgSession {
		if _, err := tx.Exec(ctx, set); err != nil {
			return nil, fail(set+": %w", err)
		}
	}

	f, err := os.CreateTemp(opts.WorkDir, "postgres-*.ndjson")
	if err != nil {
		return nil, fmt.Errorf("depot %q: %w", ref.name, err)
	}
	digest, err := writeRows(ctx, conn.PgConn(), conn.TypeMap(), sql, f, opts)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		if errors.Is(err, ErrTooLarge) {
			return nil, fmt.Errorf("depot %q: rows of %s: %w", ref.name, what, err)
		}
		return nil, fail("read "+what+": %w", err)
	}
	state := opts.state(StateKindETag, digest)
	if prev != nil && prev.Kind == state.Kind && prev.Value == state.Value {
		os.Remove(f.Name())
		return nil, nil
	}
	return []Item{{Path: f.Name(), Name: s.URL, State: state}}, nil
}

// pgRelation is the SELECT a depot URL stands for, and how to name it.
func pgRelation(ref *depotRef) (sql, what string, err error) {
	d := ref.d.Postgres
	rel := strings.Trim(ref.rest, "/")
	switch {
	case rel != "":
		if !pgTableRE.MatchString(rel) {
			return "", "", fmt.Errorf("depot %q: %q is not a table name: want depot://%s/table or depot://%s/schema.table", ref.name, rel, ref.name, ref.name)
		}
	case d.Table != "":
		rel = d.Table
		if !pgTableRE.MatchString(rel) {
			return "", "", fmt.Errorf("depot %q: table %q is not a table name: want table or schema.table", ref.name, rel)
		}
	case strings.TrimSpace(d.Query) != "":
		q := strings.TrimRight(strings.TrimSpace(d.Query), "; \t\n")
		return q, "the depot's query", nil
	default:
		return "", "", fmt.Errorf("depot %q has neither a table nor a query: give one in the depot, or name a table as depot://%s/schema.table", ref.name, ref.name)
	}
	return "SELECT * FROM " + pgx.Identifier(strings.Split(rel, ".")).Sanitize(), "table " + rel, nil
}

// writeRows runs sql with every result column in text format and writes
// one NDJSON line per row to w, capped at opts.MaxBytes and reporting
// progress. It returns the rows' digest.
func writeRows(ctx context.Context, pc *pgconn.PgConn, types *pgtype.Map, sql string, w *os.File, opts Options) (string, error) {
	rr := pc.ExecParams(ctx, sql, nil, nil, nil, nil)
	cols, err := pgColumns(rr.FieldDescriptions(), types)
	if err != nil {
		rr.Close()
		return "", err
	}
	buf := bufio.NewWriterSize(w, 256<<10)
	var (
		dg      = newRowsDigest(cols)
		line    []byte
		written int64
		limit   = opts.maxBytes()
	)
	for rr.NextRow() {
		if err := ctx.Err(); err != nil {
			rr.Close()
			return "", err
		}
		line, err = encodeRow(line[:0], cols, rr.Values())
		if err != nil {
			rr.Close()
			return "", err
		}
		dg.add(line)
		written += int64(len(line))
		if written > limit {
			rr.Close()
			return "", fmt.Errorf("NDJSON is larger than %d bytes: %w (raise the limit or read fewer rows)", limit, ErrTooLarge)
		}
		if _, err := buf.Write(line); err != nil {
			rr.Close()
			return "", err
		}
		if opts.Progress != nil {
			opts.Progress(written)
		}
	}
	if _, err := rr.Close(); err != nil {
		return "", err
	}
	if err := buf.Flush(); err != nil {
		return "", err
	}
	return dg.sum(), nil
}

// pgColumn is one result column: its JSON key (quoted, with the colon)
// and how its text values become JSON.
type pgColumn struct {
	name string
	oid  uint32
	key  []byte
	enc  pgEncoder
}

// pgEncoder appends the JSON for one non-NULL value in text format.
type pgEncoder func(dst, text []byte) ([]byte, error)

func pgColumns(fields []pgconn.FieldDescription, types *pgtype.Map) ([]pgColumn, error) {
	cols := make([]pgColumn, len(fields))
	seen := make(map[string]bool, len(fields))
	for i, f := range fields {
		if seen[f.Name] {
			return nil, fmt.Errorf("two result columns are named %q; give them distinct names (AS)", f.Name)
		}
		seen[f.Name] = true
		key, _ := json.Marshal(f.Name)
		cols[i] = pgColumn{name: f.Name, oid: f.DataTypeOID, key: append(key, ':'), enc: pgEncoderFor(f.DataTypeOID, types)}
	}
	return cols, nil
}

func encodeRow(dst []byte, cols []pgColumn, vals [][]byte) ([]byte, error) {
	dst = append(dst, '{')
	for i, c := range cols {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, c.key...)
		if vals[i] == nil {
			dst = append(dst, "null"...)
			continue
		}
		var err error
		if dst, err = c.enc(dst, vals[i]); err != nil {
			return nil, fmt.Errorf("column %q: %w", c.name, err)
		}
	}
	return append(dst, '}', '\n'), nil
}

func pgEncoderFor(oid uint32, types *pgtype.Map) pgEncoder {
	switch oid {
	case pgtype.BoolOID:
		return func(dst, t []byte) ([]byte, error) {
			if len(t) == 1 && t[0] == 't' {
				return append(dst, "true"...), nil
			}
			return append(dst, "false"...), nil
		}
	case pgtype.Int2OID, pgtype.Int4OID, pgtype.Int8OID, pgtype.OIDOID:
		return appendRaw
	case pgtype.Float4OID, pgtype.Float8OID, pgtype.NumericOID:
		return appendNumber
	case pgtype.TimestampOID, pgtype.TimestamptzOID:
		return appendTimestamp
	case pgtype.ByteaOID:
		return appendBytea
	case pgtype.JSONOID, pgtype.JSONBOID:
		return appendRaw
	}
	if t, ok := types.TypeForOID(oid); ok {
		if ac, ok := t.Codec.(*pgtype.ArrayCodec); ok && ac.ElementType != nil && (ac.Delimiter == 0 || ac.Delimiter == ',') {
			elem := pgEncoderFor(ac.ElementType.OID, types)
			return func(dst, t []byte) ([]byte, error) {
				p := arrayParser{text: t}
				return p.parse(dst, elem)
			}
		}
	}
	return appendString
}

func appendRaw(dst, t []byte) ([]byte, error) { return append(dst, t...), nil }

func appendString(dst, t []byte) ([]byte, error) {
	b, err := json.Marshal(string(t))
	return append(dst, b...), err
}

// appendNumber writes a number as a JSON number; NaN and the infinities,
// which JSON lacks, as strings ("NaN", "Infinity", "-Infinity").
func appendNumber(dst, t []byte) ([]byte, error) {
	switch string(t) {
	case "NaN", "Infinity", "-Infinity":
		return appendString(dst, t)
	}
	return append(dst, t...), nil
}

// appendTimestamp writes a timestamp (with the session in UTC) as RFC 3339
// in UTC; a timestamp without time zone is taken to be UTC. Values RFC
// 3339 cannot hold (infinity, BC, years past 9999) keep their text.
func appendTimestamp(dst, t []byte) ([]byte, error) {
	s := string(t)
	for _, layout := range []string{"2006-01-02 15:04:05.999999999Z07", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999"} {
		if ts, err := time.Parse(layout, s); err == nil {
			return append(ts.UTC().AppendFormat(append(dst, '"'), time.RFC3339Nano), '"'), nil
		}
	}
	return appendString(dst, t)
}

// appendBytea writes hex bytea ("\x0a1b") as standard base64.
func appendBytea(dst, t []byte) ([]byte, error) {
	if len(t) < 2 || t[0] != '\\' || t[1] != 'x' {
		return nil, errors.New("bytea not in hex format")
	}
	raw := make([]byte, hex.DecodedLen(len(t)-2))
	if _, err := hex.Decode(raw, t[2:]); err != nil {
		return nil, fmt.Errorf("bytea: %w", err)
	}
	dst = append(dst, '"')
	dst = base64.StdEncoding.AppendEncode(dst, raw)
	return append(dst, '"'), nil
}

// arrayParser reads PostgreSQL's text form of an array ({1,2,NULL},
// {{"a b","c\"d"},{e,f}}, optionally after [1:2]= bounds) into nested
// JSON arrays, each element through the element type's encoder.
type arrayParser struct {
	text []byte
	pos  int
}

func (p *arrayParser) parse(dst []byte, elem pgEncoder) ([]byte, error) {
	if len(p.text) > 0 && p.text[0] == '[' { // explicit bounds: [1:3]={...}
		i := strings.Index(string(p.text), "=")
		if i < 0 {
			return nil, fmt.Errorf("array %q: bounds without '='", p.text)
		}
		p.pos = i + 1
	}
	dst, err := p.array(dst, elem)
	if err == nil && p.pos != len(p.text) {
		err = fmt.Errorf("array %q: unexpected text after the closing brace", p.text)
	}
	return dst, err
}

func (p *arrayParser) array(dst []byte, elem pgEncoder) ([]byte, error) {
	if p.pos >= len(p.text) || p.text[p.pos] != '{' {
		return nil, fmt.Errorf("array %q: expected '{' at %d", p.text, p.pos)
	}
	p.pos++
	dst = append(dst, '[')
	if p.pos < len(p.text) && p.text[p.pos] == '}' {
		p.pos++
		return append(dst, ']'), nil
	}
	for n := 0; ; n++ {
		if n > 0 {
			dst = append(dst, ',')
		}
		var err error
		switch {
		case p.pos >= len(p.text):
			return nil, fmt.Errorf("array %q: unterminated", p.text)
		case p.text[p.pos] == '{':
			dst, err = p.array(dst, elem)
		case p.text[p.pos] == '"':
			var v []byte
			if v, err = p.quoted(); err == nil {
				dst, err = elem(dst, v)
			}
		default:
			start := p.pos
			for p.pos < len(p.text) && p.text[p.pos] != ',' && p.text[p.pos] != '}' {
				p.pos++
			}
			v := p.text[start:p.pos]
			if strings.EqualFold(string(v), "NULL") {
				dst = append(dst, "null"...)
			} else {
				dst, err = elem(dst, v)
			}
		}
		if err != nil {
			return nil, err
		}
		if p.pos >= len(p.text) {
			return nil, fmt.Errorf("array %q: unterminated", p.text)
		}
		switch p.text[p.pos] {
		case ',':
			p.pos++
		case '}':
			p.pos++
			return append(dst, ']'), nil
		default:
			return nil, fmt.Errorf("array %q: unexpected %q at %d", p.text, p.text[p.pos], p.pos)
		}
	}
}

func (p *arrayParser) quoted() ([]byte, error) {
	p.pos++ // opening quote
	var v []byte
	for p.pos < len(p.text) {
		c := p.text[p.pos]
		p.pos++
		switch c {
		case '\\':
			if p.pos < len(p.text) {
				v = append(v, p.text[p.pos])
				p.pos++
			}
		case '"':
			return v, nil
		default:
			v = append(v, c)
		}
	}
	return nil, fmt.Errorf("array %q: unterminated quoted element", p.text)
}

// rowsDigest summarises a read as the SHA3-256 of its columns (names and
// types), its row count and the sum modulo 2^256 of each row's SHA3-256.
// The sum does not depend on row order, which PostgreSQL does not fix for
// an unordered query: the same rows in another order are the same state.
type rowsDigest struct {
	head []byte
	n    uint64
	acc  [4]uint64
}

func newRowsDigest(cols []pgColumn) *rowsDigest {
	var head []byte
	for _, c := range cols {
		head = binary.BigEndian.AppendUint32(head, c.oid)
		head = append(head, c.key...)
	}
	return &rowsDigest{head: head}
}

func (d *rowsDigest) add(line []byte) {
	h := sha3.Sum256(line)
	var carry uint64
	for i := range d.acc {
		d.acc[i], carry = bits.Add64(d.acc[i], binary.BigEndian.Uint64(h[8*i:]), carry)
	}
	d.n++
}

func (d *rowsDigest) sum() string {
	b := append([]byte(nil), d.head...)
	b = binary.BigEndian.AppendUint64(b, d.n)
	for _, v := range d.acc {
		b = binary.BigEndian.AppendUint64(b, v)
	}
	h := sha3.Sum256(b)
	return StatePrefixRows + hex.EncodeToString(h[:])
}
