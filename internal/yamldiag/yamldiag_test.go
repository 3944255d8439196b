package yamldiag

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestDescribe(t *testing.T) {
	for src, want := range map[string]string{
		"a: 1":     "a mapping",
		"[1]":      "a sequence",
		"null":     "null",
		"x":        `a string "x"`,
		"7":        `an integer "7"`,
		"1.5":      `a number "1.5"`,
		"true":     `a boolean "true"`,
		"!foo bar": `a value tagged "!foo"`,
	} {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
			t.Fatal(err)
		}
		if got := Describe(doc.Content[0]); got != want {
			t.Errorf("%q: %s, want %s", src, got, want)
		}
	}
	if q := Quote(strings.Repeat("é", 70)); !strings.HasSuffix(q, `"…`) || len([]rune(q)) != 63 {
		t.Errorf("long quote %q", q)
	}
}

func TestDidYouMean(t *testing.T) {
	names := []string{"separator", "header", "quote"}
	for s, want := range map[string]string{
		"seperator":              ` (did you mean "separator"?)`,
		"HEADER":                 ` (did you mean "header"?)`,
		"qoute":                  ` (did you mean "quote"?)`,
		"nothing":                "",
		strings.Repeat("x", 100): "",
	} {
		if got := DidYouMean(s, names); got != want {
			t.Errorf("%q: %q, want %q", s, got, want)
		}
	}
}
