package gate

import (
	"crypto/sha256"
	"encoding/csv"
	"fmt"
	"io"
	"strings"
)

// RowSet is the set of input rows a consumer's algorithm saw, held as
// SHA-256 hashes of their canonical form (cells trimmed, joined by 0x1F),
// so that it costs 32 bytes a row and holds no data. The zero value and
// nil are empty sets.
type RowSet struct {
	rows map[[32]byte]struct{}
}

// NewRowSet returns an empty set.
func NewRowSet() *RowSet { return &RowSet{rows: map[[32]byte]struct{}{}} }

// canonical is the hash of a row's canonical form.
func canonical(cells []string) [32]byte {
	var b strings.Builder
	for i, c := range cells {
		if i > 0 {
			b.WriteByte(0x1f)
		}
		b.WriteString(strings.TrimSpace(c))
	}
	return sha256.Sum256([]byte(b.String()))
}

// Add puts one row in the set.
func (s *RowSet) Add(cells []string) {
	if s.rows == nil {
		s.rows = map[[32]byte]struct{}{}
	}
	s.rows[canonical(cells)] = struct{}{}
}

// AddCSV adds every row of a CSV stream; with header set the first record
// is a header and is skipped. name is used in errors.
func (s *RowSet) AddCSV(name string, r io.Reader, header bool) error {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	first := true
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("input rows %s: %w", name, err)
		}
		if first && header {
			first = false
			continue
		}
		first = false
		s.Add(rec)
	}
}

// Contains reports whether the row is in the set.
func (s *RowSet) Contains(cells []string) bool {
	if s == nil || len(s.rows) == 0 {
		return false
	}
	_, ok := s.rows[canonical(cells)]
	return ok
}

// Len is the number of distinct rows.
func (s *RowSet) Len() int {
	if s == nil {
		return 0
	}
	return len(s.rows)
}
