package compute

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ipos-dev/ipos/internal/identity"
	"github.com/ipos-dev/ipos/internal/resource"
	"github.com/ipos-dev/ipos/internal/store"
)

// Phase is where a job is.
type Phase string

// Job phases.
const (
	Running        Phase = "Running"
	AwaitingReview Phase = "AwaitingReview"
	Succeeded      Phase = "Succeeded" // outputs released
	Withheld       Phase = "Withheld"  // the gate refused the outputs
	Rejected       Phase = "Rejected"  // the reviewer refused the outputs
	Failed         Phase = "Failed"    // refused before running, or the run failed
)

// InputInfo describes one materialised input: what the consumer's
// policies let through.
type InputInfo struct {
	Dataset string   `json:"dataset"`
	ID      string   `json:"id"`
	Head    string   `json:"head"`
	Rows    int64    `json:"rows"`
	Columns []string `json:"columns"`
	// Masked and Filtered say what the consumer's policies did.
	Masked   []string `json:"maskedColumns,omitempty"`
	Filtered bool     `json:"rowFiltered,omitempty"`
	Policy   string   `json:"policy,omitempty"`
	// Files are the files written, relative to the dataset's folder.
	Files []string `json:"files"`
}

// Materializer writes what subject may see of a dataset, policies
// applied inside the query, into dir as data.csv and data.parquet.
type Materializer interface {
	Materialize(ctx context.Context, subject identity.Subject, dataset, dir string) (InputInfo, error)
}

// SQLRunner runs a SQL algorithm over materialised inputs (each dataset
// a table of its name, read from its data.parquet) and returns CSV.
type SQLRunner interface {
	RunSQL(ctx context.Context, query string, inputs map[string]string) ([]byte, error)
}

// JobRecord is the whole story of one job, kept in .ipos/jobs/NAME.json.
type JobRecord struct {
	Name       string            `json:"name"`
	Agreement  string            `json:"agreement"`
	Consumer   string            `json:"consumer"`
	Arguments  map[string]string `json:"arguments,omitempty"`
	Invocation string            `json:"invocation,omitempty"`
	Phase      Phase             `json:"phase"`
	Reasons    []string          `json:"reasons,omitempty"`
	Cached     bool              `json:"cached,omitempty"`
	Receipt    string            `json:"receipt,omitempty"`
	Outputs    []Output          `json:"outputs,omitempty"`
	Logs       []Output          `json:"logs,omitempty"`
	Inputs     []InputInfo       `json:"inputs,omitempty"`
	Started    time.Time         `json:"started"`
	Finished   time.Time         `json:"finished,omitzero"`
	WallTime   string            `json:"wallTime,omitempty"`
	PeakMemory int64             `json:"peakMemoryBytes,omitempty"`
	BytesRead  int64             `json:"bytesRead,omitempty"`
	BytesOut   int64             `json:"bytesWritten,omitempty"`
	Charged    float64           `json:"charged,omitempty"`
	Currency   string            `json:"currency,omitempty"`
	Reviewer   string            `json:"reviewer,omitempty"`
}

// jobFiles keeps job records in a folder.
type jobFiles struct{ dir string }

func (j jobFiles) path(name string) string { return filepath.Join(j.dir, name+".json") }

func (j jobFiles) put(r *JobRecord) error {
	return writeJSON(j.path(r.Name), r)
}

func (j jobFiles) get(name string) (*JobRecord, error) {
	var r JobRecord
	found, err := readJSON(j.path(name), &r)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("job %s not found (see 'ipos get jobs')", name)
	}
	return &r, nil
}

// claim names rec AGREEMENT-N, the next free number, and writes its
// first record, creating the file exclusively so that two jobs started
// at once never share a name.
func (j jobFiles) claim(agreement string, rec *JobRecord) error {
	if err := os.MkdirAll(j.dir, 0o755); err != nil {
		return err
	}
	for range 100 {
		name, err := j.nextName(agreement)
		if err != nil {
			return err
		}
		rec.Name = name
		data, err := json.MarshalIndent(rec, "", "  ")
		if err != nil {
			return err
		}
		err = store.WriteSynced(j.path(name), os.O_CREATE|os.O_EXCL, 0o644, append(data, '\n'))
		if !errors.Is(err, fs.ErrExist) {
			return err
		}
	}
	return fmt.Errorf("could not claim a job name for %s in %s", agreement, j.dir)
}

// nextName picks the next free job name for an agreement: AGREEMENT-N.
func (j jobFiles) nextName(agreement string) (string, error) {
	ents, err := os.ReadDir(j.dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	n := 0
	for _, e := range ents {
		var k int
		if rest, ok := strings.CutPrefix(e.Name(), agreement+"-"); ok {
			if _, err := fmt.Sscanf(strings.TrimSuffix(rest, ".json"), "%d", &k); err == nil && k > n {
				n = k
			}
		}
	}
	return fmt.Sprintf("%s-%d", agreement, n+1), nil
}

// checkArguments applies the algorithm's defaults and checks the job's
// arguments against the algorithm and the agreement.
func checkArguments(alg *resource.AlgorithmSpec, ag *resource.AgreementSpec, given map[string]string) (map[string]string, error) {
	out := map[string]string{}
	declared := map[string]resource.AlgorithmArgument{}
	for _, a := range alg.Arguments {
		declared[a.Name] = a
		if a.Default != "" {
			out[a.Name] = a.Default
		}
	}
	allowed := map[string]resource.AllowedArgument{}
	for _, a := range ag.Arguments {
		allowed[a.Name] = a
	}
	var problems []string
	for _, k := range slices.Sorted(maps.Keys(given)) {
		v := given[k]
		if _, ok := declared[k]; !ok {
			problems = append(problems, fmt.Sprintf("the algorithm takes no argument %q", k))
			continue
		}
		al, ok := allowed[k]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("the agreement does not allow argument %q", k))
		case len(al.Values) > 0 && !slices.Contains(al.Values, v):
			problems = append(problems, fmt.Sprintf("argument %s=%q is not allowed; the agreement allows %s", k, v, strings.Join(al.Values, ", ")))
		default:
			out[k] = v
		}
	}
	for _, a := range alg.Arguments {
		if _, given := given[a.Name]; !given && a.Required {
			problems = append(problems, fmt.Sprintf("missing required argument %q", a.Name))
		}
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "; "))
	}
	return out, nil
}

// moduleArgs turns arguments into --name=value flags, sorted.
func moduleArgs(args map[string]string) []string {
	var out []string
	for k, v := range args {
		out = append(out, "--"+k+"="+v)
	}
	slices.Sort(out)
	return out
}
