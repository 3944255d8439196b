package gate

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// SmallCountMode says what to do with a count below K.
type SmallCountMode string

const (
	// Suppress empties the cell (and the row's other numeric cells) and
	// notes it.
	Suppress SmallCountMode = "suppress"
	// Refuse refuses the whole release.
	Refuse SmallCountMode = "refuse"
)

// Rules are the output rules of an agreement.
type Rules struct {
	// MaxTotalBytes and MaxFiles bound the released outputs.
	MaxTotalBytes int64 `json:"maxTotalBytes"`
	MaxFiles      int   `json:"maxFiles"`
	// AllowedTypes lists the allowed extensions, lower case with the dot
	// (".csv", ".json", ".txt", ".parquet").
	AllowedTypes []string `json:"allowedTypes"`
	// K is the smallest count that may be released; 0 turns the check off.
	K           int            `json:"k"`
	SmallCounts SmallCountMode `json:"smallCounts"`
	// CountColumns names the count columns (case-insensitive); empty
	// means count, n and any column ending in _count.
	CountColumns []string `json:"countColumns,omitempty"`
	// RawRowsAllowed lets outputs and logs repeat input rows.
	RawRowsAllowed bool `json:"rawRowsAllowed"`
	// LogsMaxBytes bounds the logs released with the outputs.
	LogsMaxBytes int64 `json:"logsMaxBytes"`
}

// DefaultRules are strict: 16 MiB and 20 files of CSV, JSON or text, k=5
// with suppression, no raw rows, 64 KiB of logs.
func DefaultRules() Rules {
	return Rules{
		MaxTotalBytes: 16 << 20,
		MaxFiles:      20,
		AllowedTypes:  []string{".csv", ".json", ".txt"},
		K:             5,
		SmallCounts:   Suppress,
		LogsMaxBytes:  64 << 10,
	}
}

// Validate reports rules that cannot be applied, naming the field.
func (r Rules) Validate() error {
	var errs []error
	if r.MaxTotalBytes < 0 {
		errs = append(errs, fmt.Errorf("maxTotalBytes: must not be negative, got %d", r.MaxTotalBytes))
	}
	if r.MaxFiles < 0 {
		errs = append(errs, fmt.Errorf("maxFiles: must not be negative, got %d", r.MaxFiles))
	}
	if r.K < 0 {
		errs = append(errs, fmt.Errorf("k: must not be negative, got %d", r.K))
	}
	if r.K > 0 && r.SmallCounts != Suppress && r.SmallCounts != Refuse {
		errs = append(errs, fmt.Errorf("smallCounts: must be %q or %q, got %q", Suppress, Refuse, r.SmallCounts))
	}
	for i, t := range r.AllowedTypes {
		if _, ok := sniffers[t]; !ok {
			errs = append(errs, fmt.Errorf("allowedTypes[%d]: unknown type %q (known: .csv, .json, .txt, .parquet)", i, t))
		}
	}
	if r.LogsMaxBytes < 0 {
		errs = append(errs, fmt.Errorf("logsMaxBytes: must not be negative, got %d", r.LogsMaxBytes))
	}
	return errors.Join(errs...)
}

// File is one released file.
type File struct {
	Name string
	Data []byte
}

// Verdict is the gate's decision.
type Verdict struct {
	// Released is true when Files and Logs may leave the node.
	Released bool
	Files    []File // outputs, sorted by name, with suppressions applied
	Logs     []File
	// Notes say what was changed (suppressed cells); Reasons why the
	// release was refused. Both name the file, line and column.
	Notes   []string
	Reasons []string
}

// Err returns nil for a release and otherwise an error listing the reasons.
func (v Verdict) Err() error {
	if v.Released {
		return nil
	}
	return fmt.Errorf("output gate refused the release: %s", strings.Join(v.Reasons, "; "))
}

// sniffers check that a file's content is what its extension says.
var sniffers = map[string]func([]byte) error{
	".csv":     sniffText,
	".txt":     sniffText,
	".json":    sniffJSON,
	".parquet": sniffParquet,
}

func sniffText(b []byte) error {
	if !utf8.Valid(b) {
		return errors.New("not UTF-8 text")
	}
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return fmt.Errorf("NUL byte at offset %d: binary content", i)
	}
	return nil
}

func sniffJSON(b []byte) error {
	if err := sniffText(b); err != nil {
		return err
	}
	if !json.Valid(b) {
		return errors.New("not valid JSON")
	}
	return nil
}

func sniffParquet(b []byte) error {
	if len(b) < 12 || string(b[:4]) != "PAR1" || string(b[len(b)-4:]) != "PAR1" {
		return errors.New("not a Parquet file (no PAR1 magic at both ends)")
	}
	return nil
}

// Check applies rules to the outputs and logs (name → bytes) of one run.
// inputs holds the rows the consumer's algorithm saw; nil means none.
func Check(outputs, logs map[string][]byte, inputs *RowSet, rules Rules) Verdict {
	var v Verdict
	refuse := func(format string, args ...any) { v.Reasons = append(v.Reasons, fmt.Sprintf(format, args...)) }
	if err := rules.Validate(); err != nil {
		refuse("rules: %v", err)
		return v
	}
	rowChecks := !rules.RawRowsAllowed || rules.K > 0

	names := sortedKeys(outputs)
	if len(names) > rules.MaxFiles {
		refuse("outputs: %d files, more than the %d allowed", len(names), rules.MaxFiles)
	}
	var total int64
	for _, name := range names {
		total += int64(len(outputs[name]))
	}
	if total > rules.MaxTotalBytes {
		refuse("outputs: %d bytes, more than the %d allowed", total, rules.MaxTotalBytes)
	}
	for _, name := range names {
		data := outputs[name]
		ext := strings.ToLower(path.Ext(name))
		if !contains(rules.AllowedTypes, ext) {
			refuse("%s: file type %q is not allowed (allowed: %s)", name, ext, strings.Join(rules.AllowedTypes, ", "))
			continue
		}
		if err := sniffers[ext](data); err != nil {
			refuse("%s: %v", name, err)
			continue
		}
		switch ext {
		case ".csv":
			out, notes, reasons := checkCSV(name, data, inputs, rules)
			v.Notes = append(v.Notes, notes...)
			v.Reasons = append(v.Reasons, reasons...)
			data = out
		case ".parquet":
			if rowChecks {
				refuse("%s: Parquet outputs cannot be checked for small counts or raw rows; write CSV or allow raw rows and set k to 0", name)
			}
		default:
			if !rules.RawRowsAllowed {
				v.Reasons = append(v.Reasons, checkLines(name, data, inputs)...)
			}
		}
		v.Files = append(v.Files, File{Name: name, Data: data})
	}

	var logBytes int64
	for _, name := range sortedKeys(logs) {
		data := logs[name]
		logBytes += int64(len(data))
		if !rules.RawRowsAllowed {
			v.Reasons = append(v.Reasons, checkLines("logs/"+name, data, inputs)...)
		}
		v.Logs = append(v.Logs, File{Name: name, Data: data})
	}
	if logBytes > rules.LogsMaxBytes {
		refuse("logs: %d bytes, more than the %d allowed", logBytes, rules.LogsMaxBytes)
	}
	if len(v.Reasons) > 0 {
		v.Files, v.Logs, v.Notes = nil, nil, nil
		return v
	}
	v.Released = true
	return v
}

// checkCSV applies the small-count and raw-row rules to one CSV file and
// returns the bytes to release.
func checkCSV(name string, data []byte, inputs *RowSet, rules Rules) (out []byte, notes, reasons []string) {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	var records [][]string
	var lines []int
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, []string{fmt.Sprintf("%s: not valid CSV: %v", name, err)}
		}
		line, _ := r.FieldPos(0)
		records = append(records, rec)
		lines = append(lines, line)
	}
	if len(records) == 0 {
		return data, nil, nil
	}
	header := records[0]
	var countCols []int
	for i, h := range header {
		if isCountColumn(h, rules.CountColumns) {
			countCols = append(countCols, i)
		}
	}
	changed := false
	for ri := 1; ri < len(records); ri++ {
		rec, line := records[ri], lines[ri]
		if !rules.RawRowsAllowed && inputs.Contains(rec) {
			reasons = append(reasons, fmt.Sprintf("%s:%d: row is identical to an input row", name, line))
		}
		if rules.K == 0 {
			continue
		}
		small := false
		for _, c := range countCols {
			if c >= len(rec) {
				continue
			}
			n, err := strconv.ParseInt(strings.TrimSpace(rec[c]), 10, 64)
			if err != nil || n <= 0 || n >= int64(rules.K) {
				continue
			}
			small = true
			if rules.SmallCounts == Refuse {
				reasons = append(reasons, fmt.Sprintf("%s:%d: column %q holds %d, below k=%d", name, line, header[c], n, rules.K))
			}
		}
		if small && rules.SmallCounts == Suppress {
			var cols []string
			for c, cell := range rec {
				if _, err := strconv.ParseFloat(strings.TrimSpace(cell), 64); err == nil || contains(countCols, c) {
					rec[c] = ""
					if c < len(header) {
						cols = append(cols, header[c])
					}
				}
			}
			changed = true
			notes = append(notes, fmt.Sprintf("%s:%d: count below k=%d, suppressed %s", name, line, rules.K, strings.Join(cols, ", ")))
		}
	}
	if !changed {
		return data, notes, reasons
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.UseCRLF = bytes.Contains(data, []byte("\r\n"))
	w.WriteAll(records) // writes to a bytes.Buffer cannot fail
	return buf.Bytes(), notes, reasons
}

// checkLines refuses any line of a text file that is an input row.
func checkLines(name string, data []byte, inputs *RowSet) []string {
	if inputs.Len() == 0 {
		return nil
	}
	var reasons []string
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSuffix(line, "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		if inputs.Contains(splitLine(line)) {
			reasons = append(reasons, fmt.Sprintf("%s:%d: line is identical to an input row", name, i+1))
		}
	}
	return reasons
}

// splitLine reads one line as a CSV record, falling back to splitting on
// commas when it is not valid CSV.
func splitLine(line string) []string {
	r := csv.NewReader(strings.NewReader(line))
	r.LazyQuotes = true
	rec, err := r.Read()
	if err != nil {
		return strings.Split(line, ",")
	}
	return rec
}

func isCountColumn(h string, names []string) bool {
	h = strings.ToLower(strings.TrimSpace(h))
	if len(names) == 0 {
		return h == "count" || h == "n" || strings.HasSuffix(h, "_count")
	}
	for _, n := range names {
		if strings.ToLower(strings.TrimSpace(n)) == h {
			return true
		}
	}
	return false
}

func contains[T comparable](s []T, v T) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func sortedKeys(m map[string][]byte) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
