package gate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/ipos-dev/ipos/internal/store"
)

// ErrBudgetExceeded is returned by Spend when the spend would take a
// (consumer, dataset) pair over its ε budget.
var ErrBudgetExceeded = errors.New("privacy budget exceeded")

// EpsilonLedger accounts the ε each consumer has spent on each dataset,
// under sequential composition (spends add up).
type EpsilonLedger interface {
	// Spend records epsilon against (consumer, dataset) and returns what
	// remains, or fails with ErrBudgetExceeded and records nothing.
	Spend(ctx context.Context, consumer, dataset string, epsilon float64) (remaining float64, err error)
	// Remaining returns the budget left.
	Remaining(ctx context.Context, consumer, dataset string) (float64, error)
}

// FileLedger is an EpsilonLedger kept in one JSON file. Every change takes
// an exclusive lock on path+".lock" (between goroutines and processes),
// reads the file, checks, and replaces it by writing a temporary file,
// fsyncing it and renaming it over, so a spend is all or nothing.
type FileLedger struct {
	path string
	// DefaultBudget is the budget of a pair that has none set.
	DefaultBudget float64
	mu            sync.Mutex
}

var _ EpsilonLedger = (*FileLedger)(nil)

// ledgerFile is the file's content.
type ledgerFile struct {
	Version int           `json:"version"`
	Entries []ledgerEntry `json:"entries"`
}

type ledgerEntry struct {
	Consumer string   `json:"consumer"`
	Dataset  string   `json:"dataset"`
	Budget   *float64 `json:"budget,omitempty"`
	Spent    float64  `json:"spent"`
}

// NewFileLedger returns the ledger kept at path (created on first change).
func NewFileLedger(path string, defaultBudget float64) (*FileLedger, error) {
	if !(defaultBudget >= 0) || math.IsInf(defaultBudget, 0) {
		return nil, fmt.Errorf("epsilon ledger %s: default budget must be a finite number ≥ 0, got %g", path, defaultBudget)
	}
	return &FileLedger{path: path, DefaultBudget: defaultBudget}, nil
}

// SetBudget sets the budget of one pair.
func (l *FileLedger) SetBudget(ctx context.Context, consumer, dataset string, budget float64) error {
	if !(budget >= 0) || math.IsInf(budget, 0) {
		return fmt.Errorf("epsilon ledger %s: budget for %s on %s must be a finite number ≥ 0, got %g", l.path, consumer, dataset, budget)
	}
	return l.update(ctx, func(f *ledgerFile) error {
		e := f.entry(consumer, dataset)
		e.Budget = &budget
		return nil
	})
}

// Spend implements EpsilonLedger.
func (l *FileLedger) Spend(ctx context.Context, consumer, dataset string, epsilon float64) (float64, error) {
	if !(epsilon > 0) || math.IsInf(epsilon, 0) {
		return 0, fmt.Errorf("epsilon ledger: spend for %s on %s must be positive and finite, got %g", consumer, dataset, epsilon)
	}
	var remaining float64
	err := l.update(ctx, func(f *ledgerFile) error {
		e := f.entry(consumer, dataset)
		budget := l.budget(e)
		// A relative tolerance lets budgets be spent exactly in parts
		// (0.1 ten times) despite rounding.
		if e.Spent+epsilon > budget*(1+1e-9) {
			return fmt.Errorf("%w: %s on %s has spent ε=%g of %g, cannot spend %g more", ErrBudgetExceeded, consumer, dataset, e.Spent, budget, epsilon)
		}
		e.Spent += epsilon
		remaining = max(0, budget-e.Spent)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return remaining, nil
}

// Remaining implements EpsilonLedger.
func (l *FileLedger) Remaining(ctx context.Context, consumer, dataset string) (float64, error) {
	f, err := l.read()
	if err != nil {
		return 0, err
	}
	e := f.entry(consumer, dataset)
	return max(0, l.budget(e)-e.Spent), nil
}

func (l *FileLedger) budget(e *ledgerEntry) float64 {
	if e.Budget != nil {
		return *e.Budget
	}
	return l.DefaultBudget
}

// entry finds or adds the pair's entry.
func (f *ledgerFile) entry(consumer, dataset string) *ledgerEntry {
	for i := range f.Entries {
		if f.Entries[i].Consumer == consumer && f.Entries[i].Dataset == dataset {
			return &f.Entries[i]
		}
	}
	f.Entries = append(f.Entries, ledgerEntry{Consumer: consumer, Dataset: dataset})
	return &f.Entries[len(f.Entries)-1]
}

func (l *FileLedger) read() (*ledgerFile, error) {
	b, err := os.ReadFile(l.path)
	if errors.Is(err, os.ErrNotExist) {
		return &ledgerFile{Version: 1}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("epsilon ledger: %w", err)
	}
	var f ledgerFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("epsilon ledger %s: %w", l.path, err)
	}
	if f.Version != 1 {
		return nil, fmt.Errorf("epsilon ledger %s: version %d, want 1", l.path, f.Version)
	}
	for i, e := range f.Entries {
		if !(e.Spent >= 0) || math.IsInf(e.Spent, 0) || e.Budget != nil && (!(*e.Budget >= 0) || math.IsInf(*e.Budget, 0)) {
			return nil, fmt.Errorf("epsilon ledger %s: entries[%d] (%s on %s): budget and spent must be finite numbers ≥ 0", l.path, i, e.Consumer, e.Dataset)
		}
	}
	return &f, nil
}

// update applies change under the lock and writes the result atomically;
// if change fails nothing is written.
func (l *FileLedger) update(ctx context.Context, change func(*ledgerFile) error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	dir := filepath.Dir(l.path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("epsilon ledger: %w", err)
	}
	unlock, err := store.LockFile(ctx, l.path+".lock")
	if err != nil {
		return fmt.Errorf("epsilon ledger: %w", err)
	}
	defer unlock()
	f, err := l.read()
	if err != nil {
		return err
	}
	if err := change(f); err != nil {
		return err
	}
	sort.Slice(f.Entries, func(i, j int) bool {
		a, b := f.Entries[i], f.Entries[j]
		return a.Consumer < b.Consumer || a.Consumer == b.Consumer && a.Dataset < b.Dataset
	})
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("epsilon ledger: %w", err)
	}
	return store.WriteFileAtomic(l.path, append(data, '\n'), 0o644)
}
