package controller

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipos-dev/ipos/internal/resource"
	"github.com/ipos-dev/ipos/internal/resourcestore"
	"github.com/ipos-dev/ipos/internal/resourcestore/sqlite"
	"github.com/ipos-dev/ipos/internal/sealing"
	"github.com/ipos-dev/ipos/internal/workspace"
)

func newController(t *testing.T) *Controller {
	t.Helper()
	ctx := context.Background()
	w, err := workspace.Init(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(ctx, filepath.Join(w.Dir(), "state.db"), sqlite.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	key, err := sealing.LoadOrCreateKey(filepath.Join(w.Dir(), "secret.key"))
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	return &Controller{W: w, Store: st, Reg: resource.DefaultRegistry(), Key: key, Now: func() time.Time { clock = clock.Add(time.Second); return clock }}
}

func (c *Controller) applyYAML(t *testing.T, src string) []Change {
	t.Helper()
	objs, err := c.Reg.Parse("test.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	ch, err := c.Apply(context.Background(), objs, false)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

const derived = `
apiVersion: ipos.dev/v1alpha1
kind: Dataset
metadata: {name: b}
spec:
  kind: Derivative
  metadata:
    - kind: SetTransform
      inputs: [ {datasetRef: a} ]
      transform: {kind: Sql, engine: duckdb, query: "SELECT * FROM a"}
`

const root = `
apiVersion: ipos.dev/v1alpha1
kind: Dataset
metadata: {name: a}
spec:
  kind: Root
  metadata:
    - kind: SetInfo
      description: first
`

func TestReconcileIsLevelTriggeredAndIdempotent(t *testing.T) {
	ctx := context.Background()
	c := newController(t)
	// The derivative alone waits for its input, and says so.
	c.applyYAML(t, derived)
	out, err := c.ReconcileOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || out[0].Ready || out[0].Reason != "MissingDependency" || !strings.Contains(out[0].Message, "Dataset/a") {
		t.Fatalf("outcome %+v", out)
	}
	events, _ := c.Store.Events(ctx, "Dataset", "b", 10)
	if len(events) != 1 || events[0].Type != "Warning" {
		t.Fatalf("events %+v", events)
	}
	// With its input declared, one pass creates both, input first.
	c.applyYAML(t, root)
	out, err = c.ReconcileOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, oc := range out {
		if !oc.Ready || !oc.Changed {
			t.Fatalf("outcome %+v", oc)
		}
	}
	if _, err := c.W.Dataset(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	before, _ := c.Store.List(ctx, "", nil)
	// A second pass over an unchanged store changes nothing at all.
	out, err = c.ReconcileOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, oc := range out {
		if !oc.Ready || oc.Changed {
			t.Fatalf("second pass: %+v", oc)
		}
	}
	after, _ := c.Store.List(ctx, "", nil)
	for i := range before {
		if before[i].ResourceVersion != after[i].ResourceVersion {
			t.Fatalf("%s/%s: the second pass wrote (version %d → %d)", before[i].Kind, before[i].Name, before[i].ResourceVersion, after[i].ResourceVersion)
		}
	}
	// A changed spec: new generation, one event appended to the chain.
	ch := c.applyYAML(t, strings.Replace(root, "first", "second", 1))
	if ch[0].Action != "configured" {
		t.Fatalf("apply: %+v", ch)
	}
	out, err = c.ReconcileOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := c.W.Dataset(ctx, "a")
	st, _ := d.Chain.LoadState(ctx)
	if st.HeadSequence != 2 {
		t.Fatalf("chain has %d blocks", st.HeadSequence+1)
	}
	rec, _ := c.Store.Get(ctx, "Dataset", "a")
	o, err := c.Object(rec)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Generation != 2 || o.Status.ObservedGeneration != 2 {
		t.Fatalf("generation %d, observed %d", rec.Generation, o.Status.ObservedGeneration)
	}
}

func TestSecretsAreSealedAndKeyedHashed(t *testing.T) {
	ctx := context.Background()
	c := newController(t)
	src := `
apiVersion: ipos.dev/v1alpha1
kind: Secret
metadata: {name: db}
spec:
  data: {password: hunter2}
`
	c.applyYAML(t, src)
	rec, err := c.Store.Get(ctx, "Secret", "db")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(rec.Object), "hunter2") || strings.Contains(rec.SpecHash, "hunter2") || !strings.HasPrefix(rec.SpecHash, "keyed:") {
		t.Fatalf("stored %s, hash %s", rec.Object, rec.SpecHash)
	}
	if !strings.Contains(string(rec.Object), "sealed:v1:") {
		t.Fatalf("value not sealed: %s", rec.Object)
	}
	o, err := c.Object(rec)
	if err != nil {
		t.Fatal(err)
	}
	sealed := o.Spec.(*resource.SecretSpec).Data["password"]
	plain, err := c.Key.Open(sealed)
	if err != nil || string(plain) != "hunter2" {
		t.Fatalf("open: %q %v", plain, err)
	}
	if ch := c.applyYAML(t, src); ch[0].Action != "unchanged" {
		t.Fatalf("re-apply: %+v", ch)
	}
	if ch := c.applyYAML(t, strings.Replace(src, "hunter2", "hunter3", 1)); ch[0].Action != "configured" {
		t.Fatalf("changed value: %+v", ch)
	}
	// A change to the metadata alone is a change too, and the value that
	// did not change keeps its sealed bytes.
	rec, err = c.Store.Get(ctx, "Secret", "db")
	if err != nil {
		t.Fatal(err)
	}
	annotated := strings.Replace(strings.Replace(src, "hunter2", "hunter3", 1), "{name: db}", "{name: db, annotations: {rotated: yes}}", 1)
	if ch := c.applyYAML(t, annotated); ch[0].Action != "configured" {
		t.Fatalf("annotation only: %+v", ch)
	}
	after, err := c.Store.Get(ctx, "Secret", "db")
	if err != nil {
		t.Fatal(err)
	}
	sealedOf := func(r resourcestore.Record) string {
		o, err := c.Object(r)
		if err != nil {
			t.Fatal(err)
		}
		return o.Spec.(*resource.SecretSpec).Data["password"]
	}
	if sealedOf(rec) != sealedOf(after) {
		t.Fatal("an unchanged value was sealed again")
	}
	if ch := c.applyYAML(t, annotated); ch[0].Action != "unchanged" {
		t.Fatalf("re-apply annotated: %+v", ch)
	}
}

func TestDepotResolution(t *testing.T) {
	ctx := context.Background()
	c := newController(t)
	c.applyYAML(t, `
apiVersion: ipos.dev/v1alpha1
kind: Secret
metadata: {name: api}
spec:
  data: {token: t0k}
---
apiVersion: ipos.dev/v1alpha1
kind: Depot
metadata: {name: remote}
spec:
  http:
    baseUrl: https://example.invalid/v1/
    headers:
      - name: Authorization
        valueFrom: {secretRef: {name: api, key: token}}
      - name: X-Team
        value: climate
---
apiVersion: ipos.dev/v1alpha1
kind: Depot
metadata: {name: drop}
spec:
  local: {path: inbox}
`)
	d, err := c.Depot(ctx, "remote")
	if err != nil {
		t.Fatal(err)
	}
	if d.HTTPBase != "https://example.invalid/v1/" || len(d.Headers) != 2 || d.Headers[0].Value != "t0k" || d.Headers[1].Value != "climate" {
		t.Fatalf("remote: %+v", d)
	}
	d, err = c.Depot(ctx, "drop")
	if err != nil || d.Local != filepath.Join(c.W.Root, "inbox") {
		t.Fatalf("drop: %+v %v", d, err)
	}
	if _, err := c.Depot(ctx, "nope"); err == nil {
		t.Fatal("an undeclared depot resolved")
	}
}

func TestRunReconcilesAndPullsOnSchedule(t *testing.T) {
	c := newController(t)
	// The clock runs a minute for every reading, so a "* * * * *" schedule
	// falls due on almost every tick.
	clock := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	c.Now = func() time.Time { clock = clock.Add(time.Minute); return clock }
	c.applyYAML(t, `
apiVersion: ipos.dev/v1alpha1
kind: Dataset
metadata: {name: polled}
spec:
  kind: Root
  schedule: "* * * * *"
  metadata:
    - kind: SetPollingSource
      fetch: {kind: FilesGlob, path: "in/*.csv"}
      read: {kind: Csv, header: true}
      merge: {kind: Append}
`)
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	pulls := 0
	err := c.Run(ctx, RunOptions{Resync: time.Hour, Tick: 10 * time.Millisecond, Pull: func(ctx context.Context, name string) error {
		if name != "polled" {
			t.Errorf("pulled %s", name)
		}
		pulls++
		if pulls == 2 {
			return context.DeadlineExceeded // a failing pull is recorded, not fatal
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.W.Dataset(context.Background(), "polled"); err != nil {
		t.Fatalf("the first pass did not create the dataset: %v", err)
	}
	if pulls < 3 {
		t.Fatalf("%d scheduled pulls", pulls)
	}
	events, _ := c.Store.Events(context.Background(), "Dataset", "polled", 0)
	var ok, failed int
	for _, e := range events {
		switch e.Reason {
		case "ScheduledPull":
			ok++
		case "ScheduledPullFailed":
			failed++
		}
	}
	if failed != 1 || ok < 2 {
		t.Fatalf("events: %d pulled, %d failed", ok, failed)
	}
}

func TestBackoffDelays(t *testing.T) {
	b := Backoff{Base: time.Second, Max: 10 * time.Second}
	var got []time.Duration
	for n := 1; n <= 6; n++ {
		got = append(got, b.Delay(n))
	}
	want := []time.Duration{1 * time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second}
	if !slices.Equal(got, want) {
		t.Fatalf("delays %v, want %v", got, want)
	}
	if d := (Backoff{}).Delay(1); d != DefaultBackoff().Base {
		t.Fatalf("zero Backoff: %v", d)
	}
}

// A resource that fails to reconcile is retried with growing delays
// between resyncs, and recovers at a retry once the cause is gone.
func TestRunRetriesFailuresWithBackoff(t *testing.T) {
	c := newController(t)
	var mu sync.Mutex
	clock := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	c.Now = func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		clock = clock.Add(time.Second)
		return clock
	}
	c.applyYAML(t, derived) // its input, a, is missing
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- c.Run(ctx, RunOptions{Resync: 1000 * time.Hour, Tick: time.Millisecond, Backoff: Backoff{Base: 10 * time.Second, Max: 40 * time.Second}})
	}()
	warnings := func() []resourcestore.Event {
		evs, err := c.Store.Events(context.Background(), "Dataset", "b", 0)
		if err != nil {
			t.Fatal(err)
		}
		var out []resourcestore.Event
		for _, e := range evs {
			if e.Type == resourcestore.EventWarning {
				out = append(out, e)
			}
		}
		slices.SortFunc(out, func(a, b resourcestore.Event) int { return a.Time.Compare(b.Time) })
		return out
	}
	deadline := time.Now().Add(20 * time.Second)
	for len(warnings()) < 5 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d attempts", len(warnings()))
		}
		time.Sleep(5 * time.Millisecond)
	}
	ws := warnings()
	for i := 1; i < 5; i++ {
		gap := ws[i].Time.Sub(ws[i-1].Time)
		want := (Backoff{Base: 10 * time.Second, Max: 40 * time.Second}).Delay(i)
		if gap < want || gap > want+5*time.Second {
			t.Errorf("retry %d came %v after the last, want about %v", i, gap, want)
		}
	}
	// Once its input is declared, the next retry (not the next resync,
	// a thousand hours away) makes it ready.
	c.applyYAML(t, root)
	for {
		rec, err := c.Store.Get(context.Background(), "Dataset", "b")
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(rec.Status), `"status":"True"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never became ready: %s", rec.Status)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// RunOptions.OnOutcome hears of every change and of the first failure of
// a resource, not of its retries.
func TestRunOnOutcome(t *testing.T) {
	c := newController(t)
	var mu sync.Mutex
	clock := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	c.Now = func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		clock = clock.Add(time.Second)
		return clock
	}
	var got []Outcome
	outcomes := func() []Outcome {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(got)
	}
	c.applyYAML(t, derived) // its input, a, is missing
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- c.Run(ctx, RunOptions{Resync: 1000 * time.Hour, Tick: time.Millisecond, Backoff: Backoff{Base: 2 * time.Second, Max: 2 * time.Second},
			OnOutcome: func(ctx context.Context, oc Outcome) {
				mu.Lock()
				defer mu.Unlock()
				got = append(got, oc)
			}})
	}()
	wait := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s; outcomes %+v", what, outcomes())
			}
		}
	}
	wait("three attempts at b", func() bool {
		evs, err := c.Store.Events(context.Background(), "Dataset", "b", 0)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range evs {
			if e.Type == resourcestore.EventWarning {
				n++
			}
		}
		return n >= 3
	})
	c.applyYAML(t, root)
	readyB := func(oc Outcome) bool { return oc.Ref.Name == "b" && oc.Ready }
	wait("b ready", func() bool { return slices.ContainsFunc(outcomes(), readyB) })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var failedB, changedA int
	for _, oc := range outcomes() {
		switch {
		case !oc.Ready && oc.Ref.Name == "b":
			failedB++
		case oc.Ready && !oc.Changed:
			t.Errorf("an outcome that changed nothing: %+v", oc)
		case oc.Ref.Name == "a":
			changedA++
		}
	}
	if failedB != 1 || changedA != 1 {
		t.Errorf("b failed %d times and a changed %d times, want 1 and 1: %+v", failedB, changedA, outcomes())
	}
}

func TestReconcileOnlyTouchesTheNamed(t *testing.T) {
	ctx := context.Background()
	c := newController(t)
	c.applyYAML(t, root)
	c.applyYAML(t, strings.Replace(root, "name: a", "name: other", 1))
	out, err := c.ReconcileOnly(ctx, resource.Ref{Kind: "Dataset", Name: "a"})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || out[0].Ref.Name != "a" || !out[0].Ready {
		t.Fatalf("outcomes %+v", out)
	}
	if _, err := c.W.Dataset(ctx, "other"); err == nil {
		t.Fatal("a resource that was not named was reconciled")
	}
}
