package policy

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/ipos-dev/ipos/internal/resource"
)

// SQLString quotes s as an SQL string literal. DuckDB's standard strings
// have no escapes but the doubled quote, so doubling is all it takes; a
// NUL byte or invalid UTF-8 is refused rather than passed on.
func SQLString(s string) (string, error) {
	if strings.IndexByte(s, 0) >= 0 {
		return "", errors.New("value has a NUL byte")
	}
	if !utf8.ValidString(s) {
		return "", errors.New("value is not valid UTF-8")
	}
	return "'" + strings.ReplaceAll(s, "'", "''") + "'", nil
}

// mustString quotes a value that validation has already checked.
func mustString(s string) string {
	l, err := SQLString(s)
	if err != nil {
		return "NULL"
	}
	return l
}

// QuoteIdent quotes an SQL identifier.
func QuoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// RedactedValue is what redact shows when the mask gives no value.
const RedactedValue = "[redacted]"

// MaskSQL is the DuckDB expression that shows column col through mask m.
// Nulls stay null (except for null, which is all nulls). m must have
// passed ColumnMask.Validate; pass_through gives the column itself.
func MaskSQL(m *resource.ColumnMask, col string) string {
	c := QuoteIdent(col)
	switch m.Operator {
	case "hash":
		v := "CAST(" + c + " AS VARCHAR)"
		if m.Salt != "" {
			v = mustString(m.Salt) + " || " + v
		}
		// md5_number is the digest as an unsigned 128-bit integer; two
		// bits fewer make it a HUGEINT, which casts, prints and writes to
		// Parquet (as DECIMAL(38,0)) like any other integer.
		return "CAST(md5_number(" + v + ") >> 2 AS HUGEINT)"
	case "redact":
		val := m.Value
		if val == "" {
			val = RedactedValue
		}
		return fmt.Sprintf("CASE WHEN %s IS NULL THEN NULL ELSE %s END", c, mustString(val))
	case "null":
		// Keeps the column's type: a bare NULL would change it.
		return "CASE WHEN false THEN " + c + " END"
	case "bucket_number":
		var b strings.Builder
		fmt.Fprintf(&b, "CASE WHEN %s IS NULL THEN NULL", c)
		bs := m.Buckets
		fmt.Fprintf(&b, " WHEN %s < %s THEN %s", c, bs[0], mustString("< "+bs[0].String()))
		for i := 1; i < len(bs); i++ {
			fmt.Fprintf(&b, " WHEN %s < %s THEN %s", c, bs[i], mustString(bs[i-1].String()+"-"+bs[i].String()))
		}
		fmt.Fprintf(&b, " ELSE %s END", mustString(">= "+bs[len(bs)-1].String()))
		return b.String()
	case "bucket_date":
		return fmt.Sprintf("date_trunc(%s, %s)", mustString(m.Precision), c)
	case "regex_replace":
		return fmt.Sprintf("regexp_replace(CAST(%s AS VARCHAR), %s, %s, 'g')", c, mustString(m.Pattern), mustString(m.Replacement))
	}
	return c
}
