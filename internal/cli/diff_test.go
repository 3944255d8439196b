package cli

import (
	"strings"
	"testing"
)

func TestDiffLines(t *testing.T) {
	for _, c := range []struct{ a, b, want string }{
		{"x\ny", "x\ny", ""},
		{"", "a", "+a"},
		{"a", "", "-a"},
		{"a\nb\nc", "a\nB\nc", " a|-b|+B| c"},
		{"a\nb", "a\nb\nc", " a| b|+c"},
		{"k: 1\nl: 2\nm: 3", "l: 2\nm: 4", "-k: 1| l: 2|-m: 3|+m: 4"},
	} {
		got := strings.Join(diffLines(splitLines(c.a), splitLines(c.b)), "|")
		if got != c.want {
			t.Errorf("%q → %q: got %q, want %q", c.a, c.b, got, c.want)
		}
	}
}
