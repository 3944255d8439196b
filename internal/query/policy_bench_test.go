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
// p99) and, on a dataset of IPOS_BENCH_ROWS rows (default 10M) built
// once, a masked query filtered by a policy against the same query
// unmasked and filtered in its WHERE (the target is under 1.3), and as
// extra information the masked query with no row filter against the
// unmasked one over every row.
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
	// The query every session runs. The analyst's row filter keeps
	// org3's rows, so its unmasked baseline is the owner running the same
	// query with that filter written in: the same rows, the same work, no
	// masks. Comparing the analyst's query with the unfiltered one would
	// credit the filter with the tenth of the rows it skips.
	const q = `SELECT org, count(*), count(DISTINCT email), max(email), max(amount) FROM people%s GROUP BY org ORDER BY org`
	all, org3 := fmt.Sprintf(q, ""), fmt.Sprintf(q, " WHERE org = 'org3'")
	runs := []struct {
		s   *Session
		sql string
		d   time.Duration
	}{
		{owner, org3, 0},  // 0: unmasked, filtered by the query
		{analyst, all, 0}, // 1: masked, filtered by the policy
		{owner, all, 0},   // 2: unmasked, every row
		{masker, all, 0},  // 3: masked, every row
	}
	for i := range runs {
		runs[i].d = 1 << 62
	}
	b.ResetTimer()
	var pairs []float64 // masked/unmasked of the filtered pair, per round
	for range b.N {
		// Rounds interleave the queries, so a slower moment of a shared
		// machine costs them alike. The filtered pair is cheap, so it gets
		// more rounds, and alternates which of the two goes first: on a
		// shared two-core machine single runs of it vary by half, and
		// the best of each alone can come from different moments. The
		// target is judged on the median of the per-round ratios; the
		// ratio of the best times is printed beside it.
		for round := range 15 {
			var took [4]time.Duration
			order := []int{0, 1, 2, 3}
			if round%2 == 1 {
				order[0], order[1] = 1, 0
			}
			for _, i := range order {
				if i >= 2 && round >= 3 {
					continue
				}
				start := time.Now()
				if _, err := runs[i].s.Query(ctx, runs[i].sql); err != nil {
					b.Fatal(err)
				}
				took[i] = time.Since(start)
				runs[i].d = min(runs[i].d, took[i])
			}
			pairs = append(pairs, float64(took[1])/float64(took[0]))
		}
	}
	b.StopTimer()
	slices.Sort(pairs)
	ratio := pairs[len(pairs)/2]
	bestRatio := float64(runs[1].d) / float64(runs[0].d)
	ratioMaskOnly := float64(runs[3].d) / float64(runs[2].d)
	b.ReportMetric(float64(p50.Nanoseconds()), "decide-p50-ns")
	b.ReportMetric(float64(p99.Nanoseconds()), "decide-p99-ns")
	b.ReportMetric(ratio, "masked+filtered/filtered")
	b.ReportMetric(bestRatio, "best-masked/best-filtered")
	b.ReportMetric(ratioMaskOnly, "masked-only/plain")
	fmt.Printf("policy: decision p50 %s, p99 %s; %d rows: filtered query best %s, the same masked and filtered by policy best %s; ratio %.2f (median of %d rounds, target < 1.3; of the best times %.2f); all rows %s, masked %s (ratio %.2f)\n",
		p50, p99, rows, runs[0].d, runs[1].d, ratio, len(pairs), bestRatio, runs[2].d, runs[3].d, ratioMaskOnly)
}
