package resource

import (
	"strings"
	"testing"
)

// FuzzScanRowFilter checks that a row filter either is refused or
// expands to text that scans again to itself: substituted values,
// however hostile, stay inside their literals.
func FuzzScanRowFilter(f *testing.F) {
	for _, s := range []string{"org = ${subject.org}", "list_contains(${subject.roles}, 'x')", "a = 'it''s'", `"from" = 1`,
		"x IN (SELECT 1)", "1; DROP", "${subject.nope}", "(a", "a)", "'open", "$$x$$", "/* c */ 1"} {
		f.Add(s, "acme' OR '1'='1")
	}
	f.Fuzz(func(t *testing.T, pred, org string) {
		lit := "'" + strings.ReplaceAll(org, "'", "''") + "'"
		vars := map[string]string{"subject.name": lit, "subject.did": lit, "subject.org": lit, "subject.purpose": lit,
			"subject.roles": "[" + lit + "]", "subject.groups": "[" + lit + "]"}
		out, err := ScanRowFilter(pred, vars)
		if err != nil {
			return
		}
		if strings.ContainsRune(org, 0) || strings.Contains(org, "\x00") {
			return
		}
		again, err := ScanRowFilter(out, map[string]string{})
		if err != nil && !strings.Contains(err.Error(), "control character") && !strings.Contains(err.Error(), "bytes; the limit") {
			t.Fatalf("expanded filter %q does not scan: %v", out, err)
		}
		if err == nil && again != out {
			t.Fatalf("expanded filter changed on rescan: %q -> %q", out, again)
		}
	})
}

func TestPolicyValidate(t *testing.T) {
	objs, err := DefaultRegistry().Parse("p.yaml", []byte(`apiVersion: ipos.dev/v1alpha1
kind: Policy
metadata: {name: p}
spec:
  priority: 7
  access:
    - {subjects: ["roles:analyst", "did:key:z6Mkabc", bob, "name:ann"], actions: [query, "*"], objects: ["covid.*", "tag:public", "Dataset/*"], effect: allow}
  data:
    - subjects: ["*"]
      datasets: [people]
      masks:
        - {tags: [pii], operator: hash, salt: x}
        - {columns: [d], operator: bucket_date, precision: month}
      rowFilter: "org = ${subject.org} AND list_contains(${subject.roles}, 'x')"
`))
	if err != nil {
		t.Fatal(err)
	}
	s := objs[0].Spec.(*PolicySpec)
	if s.EffectivePriority() != 7 || len(s.Access) != 1 || s.Data[0].Masks[1].Precision != "month" {
		t.Errorf("spec = %+v", s)
	}
	_, err = DefaultRegistry().Parse("bad.yaml", []byte(`apiVersion: ipos.dev/v1alpha1
kind: Policy
metadata: {name: bad}
spec:
  priority: -1
  access:
    - {subjects: [], actions: [fly], objects: ["a b"], effect: perhaps}
  data:
    - subjects: ["org:"]
      datasets: ["tag:"]
      masks: [{operator: hash, buckets: [1]}]
`))
	if err == nil {
		t.Fatal("bad policy parsed")
	}
	for _, want := range []string{
		"spec.priority: priority -1 is out of range",
		"spec.access[0].subjects: missing required field",
		`spec.access[0].actions[0]: unknown action "fly"`,
		`spec.access[0].objects[0]: invalid object "a b"`,
		`spec.access[0].effect: unknown value "perhaps"`,
		`spec.data[0].subjects[0]: invalid org value ""`,
		`spec.data[0].datasets[0]: invalid tag ""`,
		"spec.data[0].masks[0]: name the masked columns or column tags",
		"spec.data[0].masks[0].buckets: buckets does not apply to operator hash",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}
