package ingest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipos-dev/ipos/internal/engine/enginetest"
)

// Manifests written after kamu's real examples (the Bank of Canada
// exchange rates: Url + Csv + Ledger with an event-time column; the
// leaderboard's push source; NDJSON appends) ingest as they are.

func TestURLCsvLedgerLikeKamu(t *testing.T) {
	var mu sync.Mutex
	page := "date,FXUSDCAD,FXEURCAD\n2017-01-03,1.3435,1.4025\n2017-01-04,1.3315,1.3930\n"
	modified := "Wed, 04 Jan 2017 18:00:00 GMT"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("Last-Modified", modified)
		w.Write([]byte(page))
	}))
	defer srv.Close()
	e := newEnv(t, Options{})
	d := e.add(`
kind: DatasetSnapshot
version: 1
content:
  name: ca.bankofcanada.exchange-rates.daily
  kind: Root
  metadata:
    - kind: SetPollingSource
      fetch:
        kind: Url
        url: ` + srv.URL + `/valet/observations/group/FX_RATES_DAILY/csv
      read:
        kind: Csv
        header: true
        schema:
          fields:
            - { name: date, type: timestamp }
            - { name: FXUSDCAD, type: float64 }
            - { name: FXEURCAD, type: float64 }
      merge:
        kind: Ledger
        primaryKey: [date]
    - kind: SetVocab
      eventTimeColumn: date
`)
	res, err := e.in.Pull(e.ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0].Rows != 2 || !res[0].Watermark.Equal(time.Date(2017, 1, 4, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("pull: %+v", res)
	}
	// The page grows; the server ignores conditional requests; the
	// ledger keeps only the new day.
	mu.Lock()
	page += "2017-01-05,1.3244,1.3942\n"
	modified = "Thu, 05 Jan 2017 18:00:00 GMT"
	mu.Unlock()
	res, err = e.in.Pull(e.ctx, d)
	if err != nil || len(res) != 1 || res[0].Rows != 1 {
		t.Fatalf("second pull: %+v %v", res, err)
	}
	enginetest.EqualLines(t, e.rows(d, "FXUSDCAD"), []string{
		"0 +A FXUSDCAD=1.3435", "1 +A FXUSDCAD=1.3315", "2 +A FXUSDCAD=1.3244",
	})
	e.verify(d)
}

func TestPushNdJSONAppendLikeKamu(t *testing.T) {
	e := newEnv(t, Options{})
	d := e.add(`
kind: DatasetSnapshot
version: 1
content:
  name: player-scores
  kind: Root
  metadata:
    - kind: AddPushSource
      sourceName: default
      read:
        kind: NdJson
        schema:
          fields:
            - { name: match_time, type: { kind: Timestamp, unit: Millisecond, timezone: UTC } }
            - { name: match_id, type: Int64 }
            - { name: player_id, type: String }
            - { name: score, type: Int64 }
      merge:
        kind: Append
    - kind: SetVocab
      eventTimeColumn: match_time
`)
	f := e.file("1.ndjson", `{"match_time":"2000-01-01T00:00:00Z","match_id":1,"player_id":"Alice","score":100}
{"match_time":"2000-01-01T00:00:00Z","match_id":1,"player_id":"Bob","score":80}
`)
	for i := 0; i < 2; i++ {
		r, err := e.in.Push(e.ctx, d, "", []string{f}, "1.ndjson")
		if err != nil {
			t.Fatal(err)
		}
		if r.Rows != 2 {
			t.Fatalf("push %d: %+v", i, r)
		}
	}
	// Append keeps duplicates: the same batch twice is four records.
	got := e.rows(d, "player_id", "score")
	if len(got) != 4 || !strings.HasPrefix(got[3], "3 +A player_id=Bob") {
		t.Fatalf("records %v", got)
	}
	e.verify(d)
}

func TestPushSourceChoice(t *testing.T) {
	e := newEnv(t, Options{})
	d := e.add(`
kind: DatasetSnapshot
version: 1
content:
  name: two-sources
  kind: Root
  metadata:
    - kind: AddPushSource
      sourceName: a
      read: { kind: NdJson, schema: { fields: [ { name: x, type: Int64 } ] } }
      merge: { kind: Append }
    - kind: AddPushSource
      sourceName: b
      read: { kind: Csv, header: true, schema: { fields: [ { name: x, type: Int64 } ] } }
      merge: { kind: Append }
`)
	f := e.file("x.csv", "x\n1\n2\n")
	if _, err := e.in.Push(e.ctx, d, "", []string{f}, "x.csv"); err == nil || !strings.Contains(err.Error(), "--source-name") {
		t.Fatalf("ambiguous source: %v", err)
	}
	if _, err := e.in.Push(e.ctx, d, "c", []string{f}, "x.csv"); err == nil || !strings.Contains(err.Error(), `"c"`) {
		t.Fatalf("unknown source: %v", err)
	}
	r, err := e.in.Push(e.ctx, d, "b", []string{f}, "x.csv")
	if err != nil || r.Rows != 2 {
		t.Fatalf("push to b: %+v %v", r, err)
	}
}
