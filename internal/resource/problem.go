package resource

import (
	"fmt"
	"strings"
)

// Problem is one thing wrong with a manifest, saying where it is. Line is
// 1-based and counts from the start of the file, 0 when unknown; Document
// is the 1-based position of the document in a multi-document stream.
type Problem struct {
	Source   string // file name given to Parse
	Document int
	Line     int
	Path     string // field path, such as spec.metadata[0].read.separator
	Msg      string
}

// Error prints "source: document N: line L: path: message", leaving out
// the parts that are unknown and the document number of the first
// document, as odf.YAMLError does.
func (p Problem) Error() string {
	var b strings.Builder
	if p.Source != "" {
		b.WriteString(p.Source)
		b.WriteString(": ")
	}
	if p.Document > 1 {
		fmt.Fprintf(&b, "document %d: ", p.Document)
	}
	if p.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", p.Line)
	}
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// ParseError is every problem found in one Parse call, in document and
// line order. Parse reports all of them at once rather than stopping at
// the first, so a user fixes a file in one pass.
type ParseError struct {
	Problems []Problem
}

// Error prints one problem per line.
func (e *ParseError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the problems, for errors.As(err, &resource.Problem{}).
func (e *ParseError) Unwrap() []error {
	errs := make([]error, len(e.Problems))
	for i, p := range e.Problems {
		errs[i] = p
	}
	return errs
}

// FieldError is a problem a kind's Validate finds in a spec. Path is
// relative to the spec ("local.path"); Parse prefixes it with "spec."
// and finds its line.
type FieldError struct {
	Path string
	Msg  string
}

func fieldErrorf(path, format string, args ...any) FieldError {
	return FieldError{Path: path, Msg: fmt.Sprintf(format, args...)}
}

// joinPath appends a field name to a path.
func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	if name == "" {
		return path
	}
	return path + "." + name
}

// indexPath appends a sequence index to a path.
func indexPath(path string, i int) string {
	return fmt.Sprintf("%s[%d]", path, i)
}

// underPath reports whether path is p or a field or element beneath it.
func underPath(path, p string) bool {
	if p == "" || path == p {
		return true
	}
	if !strings.HasPrefix(path, p) {
		return false
	}
	c := path[len(p)]
	return c == '.' || c == '['
}
