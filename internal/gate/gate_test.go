package gate

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

const inputCSV = "name,region,cases\r\nalice,north,10\r\n\"bob\",south,3\r\ncarol, east ,7\r\n"

func inputRows(t *testing.T) *RowSet {
	t.Helper()
	rs := NewRowSet()
	if err := rs.AddCSV("ds/rows.csv", strings.NewReader(inputCSV), true); err != nil {
		t.Fatal(err)
	}
	return rs
}

func TestCheck(t *testing.T) {
	rules := DefaultRules()
	refuseMode := rules
	refuseMode.SmallCounts = Refuse
	rawOK := rules
	rawOK.RawRowsAllowed = true
	rawOK.K = 0
	parquetRules := rules
	parquetRules.AllowedTypes = append(parquetRules.AllowedTypes, ".parquet")
	custom := rules
	custom.CountColumns = []string{"Patients"}
	tests := []struct {
		name     string
		outputs  map[string][]byte
		logs     map[string][]byte
		rules    Rules
		released bool
		want     string // a substring of the reasons, or of the released result.csv
		notes    int
	}{
		{"big counts pass", map[string][]byte{"result.csv": []byte("region,count,mean\nnorth,12,15.5\n")}, nil, rules, true, "north,12,15.5", 0},
		{"small count suppressed with its mean", map[string][]byte{"result.csv": []byte("region,count,mean\nnorth,12,15.5\nsouth,3,3.0\n")}, nil, rules, true, "north,12,15.5\nsouth,,\n", 1},
		{"small count refused", map[string][]byte{"result.csv": []byte("region,count,mean\nsouth,3,3.0\n")}, nil, refuseMode, false, `result.csv:2: column "count" holds 3, below k=5`, 0},
		{"zero is not small", map[string][]byte{"result.csv": []byte("region,n\nsouth,0\n")}, nil, refuseMode, true, "south,0", 0},
		{"_count suffix", map[string][]byte{"result.csv": []byte("region,case_count\nsouth,1\n")}, nil, refuseMode, false, `column "case_count"`, 0},
		{"named count column", map[string][]byte{"r.csv": []byte("region,patients\nsouth,2\n")}, nil, func() Rules { r := custom; r.SmallCounts = Refuse; return r }(), false, `column "patients"`, 0},
		{"raw row refused", map[string][]byte{"copy.csv": []byte("name,region,cases\nalice,north,10\n")}, nil, rules, false, "copy.csv:2: row is identical to an input row", 0},
		{"raw row quoted and padded", map[string][]byte{"copy.csv": []byte("a,b,c\r\n\"carol\",east,  7\r\n")}, nil, rules, false, "copy.csv:2: row is identical", 0},
		{"raw row allowed", map[string][]byte{"copy.csv": []byte("name,region,cases\nalice,north,10\n")}, nil, rawOK, true, "alice,north,10", 0},
		{"raw row in logs", map[string][]byte{"result.csv": []byte("region,count\nnorth,12\n")}, map[string][]byte{"stdout": []byte("starting\nbob,south,3\n")}, rules, false, "logs/stdout:2: line is identical to an input row", 0},
		{"raw row in text output", map[string][]byte{"notes.txt": []byte("hello\ncarol,east,7\n")}, nil, rules, false, "notes.txt:2: line is identical", 0},
		{"header is not a row", map[string][]byte{"r.csv": []byte("name,region,cases\n")}, nil, rules, true, "name,region,cases", 0},
		{"type not allowed", map[string][]byte{"x.exe": []byte("MZ")}, nil, rules, false, `x.exe: file type ".exe" is not allowed`, 0},
		{"binary csv", map[string][]byte{"x.csv": []byte("a,b\n\x00\x01")}, nil, rules, false, "x.csv: NUL byte at offset 4", 0},
		{"bad json", map[string][]byte{"x.json": []byte("{")}, nil, rules, false, "x.json: not valid JSON", 0},
		{"bad csv", map[string][]byte{"x.csv": []byte("a,\"b\n")}, nil, rules, false, "x.csv: not valid CSV", 0},
		{"parquet cannot be checked", map[string][]byte{"x.parquet": []byte("PAR1........PAR1")}, nil, parquetRules, false, "x.parquet: Parquet outputs cannot be checked", 0},
		{"too many bytes", map[string][]byte{"x.txt": []byte(strings.Repeat("a", 17<<20))}, nil, rules, false, "more than the 16777216 allowed", 0},
		{"too many logs", map[string][]byte{}, map[string][]byte{"stderr": []byte(strings.Repeat("a\n", 40<<10))}, rules, false, "logs: 81920 bytes", 0},
		{"bad rules", map[string][]byte{}, nil, Rules{K: 3, SmallCounts: "maybe"}, false, `smallCounts: must be "suppress" or "refuse"`, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := map[string]string{}
			for k, v := range tc.outputs {
				before[k] = string(v)
			}
			v := Check(tc.outputs, tc.logs, inputRows(t), tc.rules)
			if v.Released != tc.released {
				t.Fatalf("released = %v, reasons %q", v.Released, v.Reasons)
			}
			if tc.released {
				var all string
				for _, f := range v.Files {
					all += string(f.Data)
				}
				if !strings.Contains(all, tc.want) || len(v.Notes) != tc.notes || v.Err() != nil {
					t.Errorf("released %q, notes %q; want %q and %d notes", all, v.Notes, tc.want, tc.notes)
				}
			} else {
				if !strings.Contains(strings.Join(v.Reasons, "\n"), tc.want) {
					t.Errorf("reasons %q, want %q", v.Reasons, tc.want)
				}
				if len(v.Files) != 0 || len(v.Logs) != 0 || v.Err() == nil {
					t.Errorf("a refusal released %d files", len(v.Files))
				}
			}
			for k, v := range tc.outputs {
				if string(v) != before[k] {
					t.Errorf("Check changed its input %s", k)
				}
			}
		})
	}
}

func TestSuppressionNote(t *testing.T) {
	v := Check(map[string][]byte{"result.csv": []byte("region,count,mean\r\nsouth,3,3.0\r\n")}, nil, nil, DefaultRules())
	if !v.Released || len(v.Notes) != 1 || v.Notes[0] != "result.csv:2: count below k=5, suppressed count, mean" {
		t.Fatalf("%+v", v)
	}
	if got := string(v.Files[0].Data); got != "region,count,mean\r\nsouth,,\r\n" {
		t.Errorf("CRLF lost: %q", got)
	}
}

// seeded is a deterministic random source for the statistical tests.
func seeded(seed uint64) *rand.ChaCha8 {
	var s [32]byte
	s[0] = byte(seed)
	return rand.NewChaCha8(s)
}

func moments(t *testing.T, n int, sample func() (float64, error)) (mean, variance float64) {
	t.Helper()
	var sum, sq float64
	for i := 0; i < n; i++ {
		x, err := sample()
		if err != nil {
			t.Fatal(err)
		}
		sum += x
		sq += x * x
	}
	mean = sum / float64(n)
	return mean, sq/float64(n) - mean*mean
}

func TestLaplaceMoments(t *testing.T) {
	for _, tc := range []struct{ value, sens, eps float64 }{{100, 1, 0.5}, {-3, 2, 1}, {1e6, 10, 0.1}} {
		noise := Noise{Rand: seeded(1)}
		const n = 40000
		mean, variance := moments(t, n, func() (float64, error) { return noise.Laplace(tc.value, tc.sens, tc.eps) })
		b := tc.sens / tc.eps
		g := Grid(b)
		// Laplace variance 2b², plus about g²/12 from rounding to the grid.
		wantVar := 2*b*b + g*g/12
		if math.Abs(mean-tc.value) > 4*math.Sqrt(wantVar/n) {
			t.Errorf("%+v: mean %g, want %g", tc, mean, tc.value)
		}
		if math.Abs(variance/wantVar-1) > 0.05 {
			t.Errorf("%+v: variance %g, want %g", tc, variance, wantVar)
		}
	}
}

func TestGaussianMoments(t *testing.T) {
	noise := Noise{Rand: seeded(2)}
	const n = 40000
	value, sens, eps, delta := 50.0, 1.0, 0.5, 1e-6
	mean, variance := moments(t, n, func() (float64, error) { return noise.Gaussian(value, sens, eps, delta) })
	sigma := GaussianSigma(sens, eps, delta)
	g := Grid(sigma)
	wantVar := sigma*sigma + g*g/12
	if math.Abs(mean-value) > 4*math.Sqrt(wantVar/n) {
		t.Errorf("mean %g, want %g", mean, value)
	}
	if math.Abs(variance/wantVar-1) > 0.05 {
		t.Errorf("variance %g, want %g", variance, wantVar)
	}
}

func TestNoiseIsSnappedAndBounded(t *testing.T) {
	noise := Noise{Rand: seeded(3), Bound: 20}
	for i := 0; i < 1000; i++ {
		x, err := noise.Laplace(1000, 1, 0.3) // clamped to 20 first
		if err != nil {
			t.Fatal(err)
		}
		g := Grid(1 / 0.3)
		if x < -20 || x > 20 || (math.Abs(x) != 20 && math.Mod(x, g) != 0) {
			t.Fatalf("%g is not on the grid %g within ±20", x, g)
		}
	}
}

func TestNoiseParams(t *testing.T) {
	n := Noise{Rand: seeded(4)}
	for _, err := range []error{
		func() error { _, err := n.Laplace(1, 0, 1); return err }(),
		func() error { _, err := n.Laplace(1, 1, -1); return err }(),
		func() error { _, err := n.Laplace(1, 1, math.Inf(1)); return err }(),
		func() error { _, err := n.Gaussian(1, 1, 1.5, 1e-5); return err }(),
		func() error { _, err := n.Gaussian(1, 1, 0.5, 0); return err }(),
	} {
		if !errors.Is(err, ErrNoiseParams) {
			t.Errorf("got %v, want ErrNoiseParams", err)
		}
	}
	// crypto/rand when no source is given.
	if _, err := (Noise{}).Laplace(1, 1, 1); err != nil {
		t.Error(err)
	}
}

func TestFileLedger(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "eps.json")
	l, err := NewFileLedger(path, 1.0)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		if _, err := l.Spend(ctx, "did:key:zC", "covid", 0.1); err != nil {
			t.Fatalf("spend %d: %v", i, err)
		}
	}
	before, _ := os.ReadFile(path)
	if _, err := l.Spend(ctx, "did:key:zC", "covid", 0.01); !errors.Is(err, ErrBudgetExceeded) {
		t.Fatalf("over budget: %v", err)
	}
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Error("a refused spend changed the file")
	}
	// Another pair has its own budget; a set budget overrides the default.
	if err := l.SetBudget(ctx, "did:key:zD", "covid", 3); err != nil {
		t.Fatal(err)
	}
	if rem, err := l.Spend(ctx, "did:key:zD", "covid", 2); err != nil || math.Abs(rem-1) > 1e-12 {
		t.Fatalf("remaining %g, %v", rem, err)
	}
	// A second ledger on the same file sees the same state.
	l2, _ := NewFileLedger(path, 1.0)
	if rem, err := l2.Remaining(ctx, "did:key:zD", "covid"); err != nil || math.Abs(rem-1) > 1e-12 {
		t.Fatalf("remaining %g, %v", rem, err)
	}
	if _, err := l.Spend(ctx, "x", "y", -1); err == nil {
		t.Error("negative spend accepted")
	}
}

func TestFileLedgerConcurrentSpends(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "eps.json")
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, _ := NewFileLedger(path, 1.0) // separate values: only the file lock serialises them
			for j := 0; j < 5; j++ {
				if _, err := l.Spend(ctx, "c", "d", 0.1); err == nil {
					mu.Lock()
					ok++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if ok != 10 {
		t.Errorf("%d spends of 0.1 succeeded against a budget of 1, want 10", ok)
	}
}

func TestFileLedgerRejectsCorruptFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "eps.json")
	os.WriteFile(path, []byte(`{"version":1,"entries":[{"consumer":"c","dataset":"d","spent":-5}]}`), 0o644)
	l, _ := NewFileLedger(path, 1)
	if _, err := l.Spend(context.Background(), "c", "d", 0.1); err == nil || !strings.Contains(err.Error(), "entries[0]") {
		t.Errorf("corrupt ledger: %v", err)
	}
}
