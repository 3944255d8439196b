// Package yamldiag words the problems found in YAML documents: what a node
// is ("a mapping", "a string \"x\"…"), short quoting for messages, and
// the near-miss suggestion ("did you mean …?") for misspelt names. It is
// shared by every parser of user manifests so that their errors read alike.
package yamldiag

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// IsNull reports whether n is an explicit null.
func IsNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

// Describe says what a node is, for "expected …, got …" messages.
func Describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a sequence"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "null"
		case "!!str":
			return "a string " + Quote(n.Value)
		case "!!int":
			return "an integer " + Quote(n.Value)
		case "!!float":
			return "a number " + Quote(n.Value)
		case "!!bool":
			return "a boolean " + Quote(n.Value)
		case "!!timestamp":
			return "a timestamp " + Quote(n.Value)
		}
		return "a value tagged " + Quote(n.Tag)
	}
	return "an alias"
}

// Quote quotes s for a message, cut to a readable length.
func Quote(s string) string {
	const max = 60
	if utf8.RuneCountInString(s) > max {
		r := []rune(s)
		return strconv.Quote(string(r[:max])) + "…"
	}
	return strconv.Quote(s)
}

// Closest returns the name within edit distance 2 of s, ignoring case, or
// "" when there is none.
func Closest(s string, names []string) string {
	if len(s) > 64 {
		return ""
	}
	best, bestDist := "", 3
	for _, name := range names {
		if d := editDistance(strings.ToLower(s), strings.ToLower(name)); d < bestDist {
			best, bestDist = name, d
		}
	}
	return best
}

// DidYouMean is " (did you mean \"name\"?)" for the closest name, or "".
func DidYouMean(s string, names []string) string {
	if best := Closest(s, names); best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return ""
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
