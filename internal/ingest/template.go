package ingest

import (
	"fmt"
	"os"
	"regexp"

	"github.com/ipos-dev/ipos/internal/odf"
)

// templateRE matches kamu's fetch-step templates: ${{ env.NAME }}.
var templateRE = regexp.MustCompile(`\$\{\{\s*env\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}`)

// expandTemplates substitutes environment variables into the URL, path and
// headers of a fetch step, so a manifest can name a server or a secret
// without holding it. An unset variable is an error naming it.
func expandTemplates(step odf.FetchStep, lookup func(string) (string, bool)) (odf.FetchStep, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	var missing error
	expand := func(s string) string {
		return templateRE.ReplaceAllStringFunc(s, func(m string) string {
			name := templateRE.FindStringSubmatch(m)[1]
			v, ok := lookup(name)
			if !ok && missing == nil {
				missing = fmt.Errorf("environment variable %s is not set (the fetch step uses ${{ env.%s }})", name, name)
			}
			return v
		})
	}
	switch s := step.(type) {
	case odf.FetchStepURL:
		s.URL = expand(s.URL)
		if s.Headers != nil {
			hs := make([]odf.RequestHeader, len(s.Headers))
			for i, h := range s.Headers {
				hs[i] = odf.RequestHeader{Name: h.Name, Value: expand(h.Value)}
			}
			s.Headers = hs
		}
		step = s
	case odf.FetchStepFilesGlob:
		s.Path = expand(s.Path)
		step = s
	}
	return step, missing
}
