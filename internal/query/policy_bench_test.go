package query

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/ipos-dev/ipos/internal/engine"
	"github.com/ipos-dev/ipos/internal/identity"
	"github.com/ipos-dev/ipos/internal/ingest"
	"github.com/ipos-dev/ipos/internal/odf"
	"github.com/ipos-dev/ipos/internal/policy"
	"github.com/ipos-dev/ipos/internal/resource"
	"github.com/ipos-dev/ipos/internal/workspace"
)

const benchManifest = `
kind: DatasetSnapshot
version: 1
content:
  name: people
  kind: Root
  metadata:
    - kind: AddPushSource
      sourceName: default
      read:
        kind: Parquet
      merge:
        kind: Append
`

// BenchmarkPolicy measures the policy engine's decision latency (p50,
// p99) and a masked, filtered query against the same query unmasked, on
// a dataset of IPOS_BENCH_ROWS rows (default 10M) built once. It prints
// the ratio; the target is under 1.3.
func BenchmarkPolicy(b *testing.B) {
	rows := 10_000_000
	if s := os.Getenv("IPOS_BENCH_ROWS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			b.Fatal(err)
		}
		rows = n
	}
	ctx := context.Background()
	f := newPolicyFixture(b)

	// Decision latency, over the fixture's policies.
	sub := testSubjects["analyst"]
	obj := policy.Object{Name: "people", Columns: []policy.Column{{Name: "email", Tags: []string{"pii"}}, {Name: "amount"}}}
	lat := make([]time.Duration, 5000)
	for i := range lat {
		start := time.Now()
		if _, err := f.policies.Decide(ctx, sub, policy.ActionQuery, obj); err != nil {
			b.Fatal(err)
		}
		lat[i] = time.Since(start)
	}
	slices.Sort(lat)
	p50, p99 := lat[len(lat)/2], lat[len(lat)*99/100]

	// The big dataset: one Parquet batch pushed through ingest.
	w, err := workspace.Init(ctx, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	snaps, err := odf.ParseSnapshots("bench.yaml", []byte(benchManifest))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := w.AddDatasets(ctx, snaps, t0); err != nil {
		b.Fatal(err)
	}
	eng, err := engine.Open(ctx, engine.DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	src := filepath.Join(w.Root, "people.parquet")
	if _, err := eng.Query(ctx, fmt.Sprintf(`COPY (SELECT 'n' || i AS name, 'user' || i || '@org' || (i %% 10) || '.example' AS email,
		'org' || (i %% 10) AS org, i %% 1000 AS amount FROM range(%d) t(i)) TO '%s' (FORMAT parquet)`, rows, src)); err != nil {
		b.Fatal(err)
	}
	d, err := w.Dataset(ctx, "people")
	if err != nil {
		b.Fatal(err)
	}
	in := ingest.New(eng, ingest.Options{BaseDir: w.Root, ScratchDir: filepath.Join(w.Dir(), "tmp"), Now: func() time.Time { return t0.Add(time.Minute) }})
	if _, err := in.Push(ctx, d, "", []string{src}, src); err != nil {
		b.Fatal(err)
	}
	d.Close()
	eng.Close()

	open := func(s identity.Subject) *Session {
		sess, err := Open(ctx, w, Options{Access: &Access{Subject: s, Action: policy.ActionQuery, Policies: f.policies,
			Object: func(string) policy.Object { return obj }}})
		if err != nil {
			b.Fatal(err)
		}
		return sess
	}
	owner := open(testSubjects["owner"]) // no masks, no filter
	defer owner.Close()
	analyst := open(identity.Subject{Name: "analyst", Attributes: identity.Attributes{Roles: []string{"analyst"}, Organisation: "org3"}})
	defer analyst.Close()
	// The same masks without a row filter: the cost of masking alone.
	maskOnly, err := policy.New(ctx, []policy.Policy{{Name: "mask-only", Spec: &resource.PolicySpec{
		Access: []resource.AccessRule{{Subjects: []string{"roles:bench"}, Actions: []string{"query"}, Objects: []string{"*"}, Effect: "allow"}},
		Data: []resource.DataRule{{Subjects: []string{"roles:bench"}, Datasets: []string{"*"},
			Masks: []resource.ColumnMask{{Columns: []string{"amount"}, Operator: "bucket_number", Buckets: []resource.Number{resource.NewNumber(0), resource.NewNumber(25)}}}}},
	}}}, policy.Options{})
	if err != nil {
		b.Fatal(err)
	}
	masker, err := Open(ctx, w, Options{Access: &Access{Subject: identity.Subject{Name: "bench", Attributes: identity.Attributes{Roles: []string{"bench"}}},
		Action: policy.ActionQuery, Policies: maskOnly, Object: func(string) policy.Object { return obj }}})
	if err != nil {
		b.Fatal(err)
	}
	defer masker.Close()
	const q = `SELECT org, count(*), count(DISTINCT email), max(email), max(amount) FROM people GROUP BY org ORDER BY org`
	timeQuery := func(s *Session) time.Duration {
		best := time.Duration(1 << 62)
		for range 3 {
			start := time.Now()
			if _, err := s.Query(ctx, q); err != nil {
				b.Fatal(err)
			}
			best = min(best, time.Since(start))
		}
		return best
	}
	b.ResetTimer()
	var plain, masked, maskedOnly time.Duration
	for range b.N {
		plain = timeQuery(owner)
		masked = timeQuery(analyst)
		maskedOnly = timeQuery(masker)
	}
	b.StopTimer()
	ratio := float64(masked) / float64(plain)
	ratioMaskOnly := float64(maskedOnly) / float64(plain)
	b.ReportMetric(float64(p50.Nanoseconds()), "decide-p50-ns")
	b.ReportMetric(float64(p99.Nanoseconds()), "decide-p99-ns")
	b.ReportMetric(ratio, "masked+filtered/plain")
	b.ReportMetric(ratioMaskOnly, "masked-only/plain")
	fmt.Printf("policy: decision p50 %s, p99 %s; %d rows: plain query %s, masked+filtered %s (ratio %.2f, target < 1.3), masked with no filter %s (ratio %.2f)\n",
		p50, p99, rows, plain, masked, ratio, maskedOnly, ratioMaskOnly)
}
