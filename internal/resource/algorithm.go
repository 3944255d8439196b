package resource

import (
	"errors"
	"fmt"
	"regexp"

	"github.com/ipos-dev/ipos/internal/odf"
	"github.com/ipos-dev/ipos/internal/yamldiag"
)

const algorithmKindName = "Algorithm"

// AlgorithmKind describes the Algorithm kind: a computation consumers may
// bring to data under an Agreement, either a WASI preview-1 module stored
// by content hash or a SQL query.
func AlgorithmKind() KindInfo {
	return KindInfo{
		Name: algorithmKindName,
		New:  func() Spec { return new(AlgorithmSpec) },
		Doc:  "a WASI module (by content hash) or SQL query that runs next to the data under an Agreement",
	}
}

// AlgorithmSpec is an Algorithm's spec: exactly one of Wasm and SQL.
type AlgorithmSpec struct {
	Description string              `json:"description,omitempty"`
	Author      string              `json:"author,omitempty"`
	Wasm        *WasmModule         `json:"wasm,omitempty"`
	SQL         *SQLAlgorithm       `json:"sql,omitempty"`
	Arguments   []AlgorithmArgument `json:"arguments,omitempty"`
}

// WasmModule names a module in the workspace's module store by its
// hashes: the SHA-256 in hex and the SHA3-256 multihash in ODF's
// multibase form (f1620…). Both must match the stored bytes.
type WasmModule struct {
	SHA256    string `json:"sha256"`
	Multihash string `json:"multihash"`
	Size      int64  `json:"size,omitempty"`
}

// SQLAlgorithm is a query DuckDB runs over the agreement's inputs, each
// visible as a table named after its dataset.
type SQLAlgorithm struct {
	Query string `json:"query"`
}

// AlgorithmArgument is one argument the algorithm takes, passed to a
// module as --name=value.
type AlgorithmArgument struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Required    bool   `json:"required,omitempty"`
	Default     string `json:"default,omitempty"`
}

var (
	sha256HexRE = regexp.MustCompile(`^[0-9a-f]{64}$`)
	argNameRE   = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)
)

// Validate checks the module hashes or query and the argument list.
func (s *AlgorithmSpec) Validate() []FieldError {
	var errs []FieldError
	switch {
	case s.Wasm == nil && s.SQL == nil:
		errs = append(errs, fieldErrorf("", "an algorithm needs wasm or sql"))
	case s.Wasm != nil && s.SQL != nil:
		errs = append(errs, fieldErrorf("", "an algorithm has wasm or sql, not both"))
	}
	if w := s.Wasm; w != nil {
		if !sha256HexRE.MatchString(w.SHA256) {
			errs = append(errs, fieldErrorf("wasm.sha256", "invalid SHA-256 %s: want 64 lower-case hex digits", yamldiag.Quote(w.SHA256)))
		}
		if err := validateSHA3Multihash(w.Multihash); err != nil {
			errs = append(errs, fieldErrorf("wasm.multihash", "%v", err))
		}
		if w.Size < 0 {
			errs = append(errs, fieldErrorf("wasm.size", "negative size"))
		}
	}
	if s.SQL != nil && s.SQL.Query == "" {
		errs = append(errs, fieldErrorf("sql.query", "missing required field"))
	}
	seen := map[string]bool{}
	for i, a := range s.Arguments {
		p := indexPath("arguments", i)
		switch {
		case !argNameRE.MatchString(a.Name):
			errs = append(errs, fieldErrorf(p+".name", "invalid argument name %s: lower-case letters, digits and '-', starting with a letter", yamldiag.Quote(a.Name)))
		case seen[a.Name]:
			errs = append(errs, fieldErrorf(p+".name", "argument %s given twice", yamldiag.Quote(a.Name)))
		}
		seen[a.Name] = true
		if a.Required && a.Default != "" {
			errs = append(errs, fieldErrorf(p, "a required argument has no default"))
		}
	}
	return errs
}

// Dependencies: an algorithm refers to nothing declared.
func (s *AlgorithmSpec) Dependencies() []Ref { return nil }

// validateSHA3Multihash checks an ODF-style multibase SHA3-256 multihash.
func validateSHA3Multihash(s string) error {
	if s == "" {
		return errors.New("missing required field")
	}
	h, err := odf.ParseMultihashString(s)
	if err != nil || h.Code() != odf.CodeSHA3_256 {
		return fmt.Errorf("invalid multihash %s: want a SHA3-256 multihash such as f1620…", yamldiag.Quote(s))
	}
	return nil
}
