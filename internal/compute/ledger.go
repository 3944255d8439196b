package compute

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/ipos-dev/ipos/internal/store"
	"github.com/ipos-dev/ipos/internal/workspace"
)

// Posting is one line of the settlement ledger: an amount moved to or
// from an account (an identity's DID) for a job.
type Posting struct {
	Time      time.Time `json:"time"`
	Job       string    `json:"job"`
	Agreement string    `json:"agreement"`
	Account   string    `json:"account"` // did:key
	Name      string    `json:"name"`    // the account's local name
	// Amount is positive for a credit, negative for a debit, in
	// millionths of the currency unit so that sums are exact.
	Micros   int64  `json:"micros"`
	Currency string `json:"currency"`
	Memo     string `json:"memo"`
}

// Amount is the posting's amount in currency units.
func (p Posting) Amount() float64 { return float64(p.Micros) / 1e6 }

// Ledger is the workspace's settlement ledger: an append-only file of
// JSON lines, one posting each; a job's postings are written together and
// always sum to zero.
type Ledger struct {
	path string
}

// NewLedger returns the ledger kept at path.
func NewLedger(path string) *Ledger { return &Ledger{path: path} }

// LedgerOf is a workspace's ledger, .ipos/ledger.jsonl.
func LedgerOf(w *workspace.Workspace) *Ledger {
	return NewLedger(filepath.Join(w.Dir(), "ledger.jsonl"))
}

// Post appends a balanced set of postings at once.
func (l *Ledger) Post(ctx context.Context, ps []Posting) error {
	var sum int64
	var buf []byte
	for _, p := range ps {
		sum += p.Micros
		line, err := json.Marshal(p)
		if err != nil {
			return err
		}
		buf = append(append(buf, line...), '\n')
	}
	if sum != 0 {
		return fmt.Errorf("ledger: postings sum to %d micros, not zero", sum)
	}
	if len(ps) == 0 {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(l.path), 0o755); err != nil {
		return err
	}
	unlock, err := store.LockFile(ctx, l.path+".lock")
	if err != nil {
		return err
	}
	defer unlock()
	return store.WriteSynced(l.path, os.O_APPEND|os.O_CREATE, 0o644, buf)
}

// Postings reads every posting, oldest first.
func (l *Ledger) Postings() ([]Posting, error) {
	f, err := os.Open(l.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Posting
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		var p Posting
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			return nil, fmt.Errorf("%s: line %d: %w", l.path, line, err)
		}
		out = append(out, p)
	}
	return out, sc.Err()
}

// Balance is an account's total in one currency.
type Balance struct {
	Account  string  `json:"account"`
	Name     string  `json:"name"`
	Currency string  `json:"currency"`
	Amount   float64 `json:"amount"`
	Micros   int64   `json:"-"`
}

// Balances sums postings by account and currency, sorted by name.
func Balances(ps []Posting) []Balance {
	type key struct{ account, currency string }
	sums := map[key]*Balance{}
	for _, p := range ps {
		k := key{p.Account, p.Currency}
		b, ok := sums[k]
		if !ok {
			b = &Balance{Account: p.Account, Name: p.Name, Currency: p.Currency}
			sums[k] = b
		}
		b.Micros += p.Micros
	}
	out := make([]Balance, 0, len(sums))
	for _, b := range sums {
		b.Amount = float64(b.Micros) / 1e6
		out = append(out, *b)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Currency < out[j].Currency
	})
	return out
}

// settle prices a run and splits it: the consumer is debited, the owners
// credited in equal shares (the remainder of the split going to the
// first, so the postings balance exactly).
func settle(job, agreement string, at time.Time, consumer Party, owners []Party, perRun, perSecond float64, currency string, wall time.Duration) []Posting {
	total := int64(math.Round(perRun*1e6)) + int64(math.Round(perSecond*wall.Seconds()*1e6))
	if total <= 0 || len(owners) == 0 {
		return nil
	}
	if currency == "" {
		currency = "credits"
	}
	at = at.UTC()
	memo := fmt.Sprintf("run of %s (%.3fs)", agreement, wall.Seconds())
	ps := []Posting{{Time: at, Job: job, Agreement: agreement, Account: consumer.DID, Name: consumer.Name, Micros: -total, Currency: currency, Memo: memo}}
	share := total / int64(len(owners))
	for i, o := range owners {
		amt := share
		if i == 0 {
			amt += total - share*int64(len(owners))
		}
		ps = append(ps, Posting{Time: at, Job: job, Agreement: agreement, Account: o.DID, Name: o.Name, Micros: amt, Currency: currency, Memo: memo})
	}
	return ps
}
