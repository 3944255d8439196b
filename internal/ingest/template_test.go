package ingest

import (
	"strings"
	"testing"

	"github.com/ipos-dev/ipos/internal/odf"
)

func TestExpandTemplates(t *testing.T) {
	vars := map[string]string{"HOST": "127.0.0.1:8080", "TOKEN": "s3cret"}
	lookup := func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	step, err := expandTemplates(odf.FetchStepURL{
		URL:     "http://${{ env.HOST }}/a.csv",
		Headers: []odf.RequestHeader{{Name: "Authorization", Value: "Bearer ${{env.TOKEN}}"}},
	}, lookup)
	if err != nil {
		t.Fatal(err)
	}
	u := step.(odf.FetchStepURL)
	if u.URL != "http://127.0.0.1:8080/a.csv" || u.Headers[0].Value != "Bearer s3cret" {
		t.Fatalf("expanded to %+v", u)
	}
	if _, err := expandTemplates(odf.FetchStepFilesGlob{Path: "${{ env.NOPE }}/x"}, lookup); err == nil || !strings.Contains(err.Error(), "NOPE") {
		t.Fatalf("unset variable: %v", err)
	}
}
