package compute

import (
	"context"
	"crypto/ed25519"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipos-dev/ipos/internal/odf"
	"github.com/ipos-dev/ipos/internal/resource"
)

func keyOf(seed byte) ed25519.PrivateKey {
	s := make([]byte, ed25519.SeedSize)
	s[0] = seed
	return ed25519.NewKeyFromSeed(s)
}

func party(name string, k ed25519.PrivateKey, roles ...string) Party {
	return Party{Name: name, DID: odf.DIDKeyOf(k.Public().(ed25519.PublicKey)), Roles: roles}
}

// TestAgreementStates walks the state table: which approvals, revocation,
// runs and times give which state.
func TestAgreementStates(t *testing.T) {
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	consumer, owner := keyOf(1), keyOf(2)
	parties := []Party{party("analyst", consumer, RoleConsumer), party("owner", owner, RoleOwner)}
	const name, hash = "study", "aaaa"
	both := []Approval{Sign(name, hash, "analyst", consumer, now), Sign(name, hash, "owner", owner, now)}
	spec := func(edit func(*resource.AgreementSpec)) *resource.AgreementSpec {
		s := &resource.AgreementSpec{Algorithm: resource.AlgorithmRef{Name: "alg", SHA256: strings.Repeat("0", 64)}}
		if edit != nil {
			edit(s)
		}
		return s
	}
	tests := []struct {
		name      string
		spec      *resource.AgreementSpec
		approvals []Approval
		rev       *revocation
		runs      int
		want      State
		reason    string
	}{
		{"consumer only", spec(nil), both[:1], nil, 0, Proposed, "waiting for owner"},
		{"all signed", spec(nil), both, nil, 0, Active, ""},
		{"signed other terms", spec(nil), []Approval{both[0], Sign(name, "bbbb", "owner", owner, now)}, nil, 0, Proposed, "waiting for owner"},
		{"signed another agreement", spec(nil), []Approval{both[0], Sign("other", hash, "owner", owner, now)}, nil, 0, Proposed, "waiting for owner"},
		{"not yet", spec(func(s *resource.AgreementSpec) { s.Limits.NotBefore = now.Add(time.Hour) }), both, nil, 0, Approved, "jobs may run from"},
		{"expired", spec(func(s *resource.AgreementSpec) { s.Limits.Expires = now }), both, nil, 0, Expired, "expired at"},
		{"runs left", spec(func(s *resource.AgreementSpec) { s.Limits.Runs = 2 }), both, nil, 1, Active, ""},
		{"exhausted", spec(func(s *resource.AgreementSpec) { s.Limits.Runs = 2 }), both, nil, 2, Exhausted, "all 2 runs used"},
		{"revoked", spec(nil), both, &revocation{Name: "owner", Reason: "done"}, 0, Revoked, "revoked by owner: done"},
		{"unpinned", spec(func(s *resource.AgreementSpec) { s.Algorithm.SHA256 = "" }), both, nil, 0, Proposed, "not pinned"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := evaluate(name, tt.spec, hash, parties, tt.approvals, tt.rev, tt.runs, now)
			if st.State != tt.want || !strings.Contains(st.Reason, tt.reason) {
				t.Fatalf("state %s (%s), want %s (%s)", st.State, st.Reason, tt.want, tt.reason)
			}
		})
	}
}

func TestApprovalSignatures(t *testing.T) {
	k := keyOf(3)
	a := Sign("study", "aaaa", "owner", k, time.Now())
	if err := a.Verify("study", "aaaa"); err != nil {
		t.Fatal(err)
	}
	forged := a
	forged.Signer = odf.DIDKeyOf(keyOf(4).Public().(ed25519.PublicKey))
	if forged.Verify("study", "aaaa") == nil {
		t.Fatal("an approval verified under another signer")
	}
	bad := a
	bad.Signature = "AAAA" + a.Signature[4:]
	if bad.Verify("study", "aaaa") == nil {
		t.Fatal("a damaged signature verified")
	}
	if a.Verify("study", "bbbb") == nil {
		t.Fatal("an approval of other terms verified")
	}
}

func TestCheckArguments(t *testing.T) {
	alg := &resource.AlgorithmSpec{Arguments: []resource.AlgorithmArgument{
		{Name: "group", Required: true}, {Name: "value", Default: "age"}, {Name: "debug"},
	}}
	ag := &resource.AgreementSpec{Arguments: []resource.AllowedArgument{{Name: "group", Values: []string{"city", "org"}}, {Name: "value"}}}
	tests := []struct {
		given map[string]string
		want  string // joined result, or the error's text
	}{
		{map[string]string{"group": "city"}, "group=city value=age"},
		{map[string]string{"group": "org", "value": "salary"}, "group=org value=salary"},
		{map[string]string{"group": "name"}, `argument group="name" is not allowed; the agreement allows city, org`},
		{map[string]string{}, `missing required argument "group"`},
		{map[string]string{"group": "city", "debug": "1"}, `the agreement does not allow argument "debug"`},
		{map[string]string{"group": "city", "x": "1"}, `the algorithm takes no argument "x"`},
	}
	for _, tt := range tests {
		got, err := checkArguments(alg, ag, tt.given)
		s := ""
		if err != nil {
			s = err.Error()
		} else {
			var kv []string
			for _, k := range slices.Sorted(maps.Keys(got)) {
				kv = append(kv, k+"="+got[k])
			}
			s = strings.Join(kv, " ")
		}
		if s != tt.want {
			t.Errorf("%v: got %q, want %q", tt.given, s, tt.want)
		}
	}
}

func TestSettleBalances(t *testing.T) {
	c := party("analyst", keyOf(1), RoleConsumer)
	owners := []Party{party("a", keyOf(2), RoleOwner), party("b", keyOf(3), RoleOwner), party("c", keyOf(4), RoleOwner)}
	ps := settle("j-1", "study", time.Now(), c, owners, 1, 0.5, "EUR", 1500*time.Millisecond)
	var sum, debit int64
	for _, p := range ps {
		sum += p.Micros
		if p.Micros < 0 {
			debit += p.Micros
		}
	}
	if sum != 0 || debit != -1_750_000 || len(ps) != 4 {
		t.Fatalf("postings %+v", ps)
	}
	if ps[1].Micros != 583_334 || ps[2].Micros != 583_333 {
		t.Fatalf("shares %d %d %d", ps[1].Micros, ps[2].Micros, ps[3].Micros)
	}
	if got := settle("j-2", "free", time.Now(), c, owners, 0, 0, "", time.Second); got != nil {
		t.Fatalf("a free run was charged: %+v", got)
	}
	l := NewLedger(filepath.Join(t.TempDir(), "ledger.jsonl"))
	if err := l.Post(context.Background(), ps[:2]); err == nil {
		t.Fatal("an unbalanced posting was accepted")
	}
	if err := l.Post(context.Background(), ps); err != nil {
		t.Fatal(err)
	}
	all, err := l.Postings()
	if err != nil || len(all) != 4 {
		t.Fatalf("%d postings, %v", len(all), err)
	}
	for _, b := range Balances(all) {
		if b.Name == "analyst" && b.Amount != -1.75 {
			t.Fatalf("analyst balance %v", b.Amount)
		}
	}
}

func TestModulesAreCheckedOnRead(t *testing.T) {
	m := NewModules(t.TempDir())
	wasm := []byte("\x00asm\x01\x00\x00\x00")
	mod, err := m.Add(wasm)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Add([]byte("not wasm")); err == nil {
		t.Fatal("a non-Wasm file was stored")
	}
	if _, _, err := m.Get(mod.SHA256); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(m.path(mod.SHA256), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(m.path(mod.SHA256), []byte("\x00asm\x01\x00\x00\x01"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := m.Get(mod.SHA256); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Fatalf("a changed module was read: %v", err)
	}
}

func TestJobNamesAreClaimedOnce(t *testing.T) {
	jobs := jobFiles{dir: t.TempDir()}
	names := make(chan string, 20)
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := &JobRecord{Agreement: "study", Phase: Running}
			if err := jobs.claim("study", rec); err != nil {
				t.Error(err)
				return
			}
			names <- rec.Name
		}()
	}
	wg.Wait()
	close(names)
	seen := map[string]bool{}
	for n := range names {
		if seen[n] {
			t.Fatalf("job name %s claimed twice", n)
		}
		seen[n] = true
	}
	if len(seen) != 20 || !seen["study-1"] || !seen["study-20"] {
		t.Fatalf("names %v", seen)
	}
}
