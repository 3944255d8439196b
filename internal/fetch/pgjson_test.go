package fetch

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestPGArrayText(t *testing.T) {
	for in, want := range map[string]string{
		`{}`:                         `[]`,
		`{1,2,NULL}`:                 `["1","2",null]`,
		`{"a b","c\"d","NULL",e\,f}`: `["a b","c\"d","NULL","e\\","f"]`,
		`{{1,2},{3,4}}`:              `[["1","2"],["3","4"]]`,
		`[0:1]={x,y}`:                `["x","y"]`,
		`{"back\\slash",""}`:         `["back\\slash",""]`,
		`{  spaced  ,"q"}`:           `["  spaced  ","q"]`,
		`{"{not nested}",plain}`:     `["{not nested}","plain"]`,
		`{{"a"},{}}`:                 `[["a"],[]]`,
		`{1,2`:                       `error`,
		`{1}x`:                       `error`,
		`{"open`:                     `error`,
		`[1:2]{a}`:                   `error`,
		`{"a"b}`:                     `error`,
	} {
		p := arrayParser{text: []byte(in)}
		got, err := p.parse(nil, appendString)
		if err != nil {
			got = []byte("error")
		}
		if string(got) != want {
			t.Errorf("%s: got %s, want %s", in, got, want)
		}
	}
}

func FuzzPGArrayText(f *testing.F) {
	for _, s := range []string{`{}`, `{1,NULL}`, `{{"a","b"},{c,d}}`, `[1:2]={x,y}`, `{"\\",""}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		p := arrayParser{text: []byte(in)}
		out, err := p.parse(nil, appendString)
		if err == nil && !json.Valid(out) {
			t.Fatalf("%q gave invalid JSON %s", in, out)
		}
	})
}

func TestPGScalars(t *testing.T) {
	for _, tc := range []struct {
		enc      pgEncoder
		in, want string
	}{
		{appendNumber, "1.50", "1.50"},
		{appendNumber, "-Infinity", `"-Infinity"`},
		{appendTimestamp, "2024-03-01 10:00:00+00", `"2024-03-01T10:00:00Z"`},
		{appendTimestamp, "2024-03-01 10:00:00.5", `"2024-03-01T10:00:00.5Z"`},
		{appendTimestamp, "0044-03-15 12:00:00 BC", `"0044-03-15 12:00:00 BC"`},
		{appendBytea, `\x48690a`, `"SGkK"`},
		{appendString, "tab\there", `"tab\there"`},
	} {
		got, err := tc.enc(nil, []byte(tc.in))
		if err != nil || string(got) != tc.want {
			t.Errorf("%s: %s %v, want %s", tc.in, got, err, tc.want)
		}
	}
	if _, err := appendBytea(nil, []byte("plain")); err == nil {
		t.Error("escape-format bytea accepted")
	}
}

func TestRowsDigestIgnoresOrder(t *testing.T) {
	cols := []pgColumn{{name: "a", oid: 23, key: []byte(`"a":`)}}
	digest := func(lines ...string) string {
		d := newRowsDigest(cols)
		for _, l := range lines {
			d.add([]byte(l))
		}
		return d.sum()
	}
	ab, ba := digest("{1}\n", "{2}\n"), digest("{2}\n", "{1}\n")
	if ab != ba || !strings.HasPrefix(ab, StatePrefixRows) {
		t.Errorf("order changed the digest: %s %s", ab, ba)
	}
	for _, other := range []string{digest("{1}\n"), digest("{1}\n", "{2}\n", "{2}\n"), digest("{1}\n", "{3}\n")} {
		if other == ab {
			t.Errorf("different rows, same digest %s", ab)
		}
	}
	cols[0].oid = 20 // same rows, another column type
	if digest("{1}\n", "{2}\n") == ab {
		t.Error("a column type change kept the digest")
	}
}

func TestScrub(t *testing.T) {
	base := errors.New("base")
	err := scrub(fmt.Errorf("connect to postgres://u:hunter2@h/db failed: %w", base), "postgres://u:hunter2@h/db", "hunter2")
	if strings.Contains(err.Error(), "hunter2") || !errors.Is(err, base) || errors.Unwrap(err) != nil {
		t.Errorf("scrub: %v", err)
	}
	if e := scrub(base, "xx"); e != base {
		t.Errorf("nothing to scrub, got %v", e)
	}
}
