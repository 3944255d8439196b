package receipt

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ipos-dev/ipos/internal/gate"
	"github.com/ipos-dev/ipos/internal/odf"
	"github.com/ipos-dev/ipos/internal/store"
)

// The invocation of docs/receipts.md's example.
func exampleInvocation() Invocation {
	key := ed25519.NewKeyFromSeed(make([]byte, 32))
	id, _ := odf.DatasetIDFromPublicKey(key.Public().(ed25519.PublicKey))
	return Invocation{
		Algorithm: odf.SHA3([]byte("module")).String(),
		Inputs:    []Input{{Dataset: id.String(), Head: odf.SHA3([]byte("head")).String()}},
		Args:      []string{"-group", "region"},
		Env:       []string{"DATASET=covid"},
		Limits:    Limits{MemoryBytes: 268435456, TimeoutMillis: 60000, OutputBytes: 67108864, OutputFiles: 100, LogBytes: 1048576, LogFiles: 10},
		Gate:      gate.DefaultRules(),
	}
}

// goldenInvocation is the canonical JSON of exampleInvocation, byte for
// byte; docs/receipts.md shows the same bytes.
const goldenInvocation = `{"algorithm":"f1620938c084cc1e01fd7b9cd6732f09a5f7500e9bb9fc46d308bd00351ed3b7d6b00","inputs":[{"dataset":"did:odf:fed013b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29","head":"f1620a0a65c5733a6fe998b2163843cb38e750b79fdb01319d87b61e49d3990fc5740"}],"args":["-group","region"],"env":["DATASET=covid"],"limits":{"memoryBytes":268435456,"timeoutMillis":60000,"outputBytes":67108864,"outputFiles":100,"logBytes":1048576,"logFiles":10,"allowClock":false,"allowRandom":false,"seed":0},"gate":{"maxTotalBytes":16777216,"maxFiles":20,"allowedTypes":[".csv",".json",".txt"],"k":5,"smallCounts":"suppress","rawRowsAllowed":false,"logsMaxBytes":65536}}`

const goldenInvocationHash = "f1620eda1062c49fe79abc8475fffaf6f9ed84b8b912ece92c77625eddc356430f5ec"

func TestInvocationGolden(t *testing.T) {
	inv := exampleInvocation()
	got := string(inv.Canonical())
	want := goldenInvocation
	if got != want {
		t.Fatalf("canonical invocation\n got %s\nwant %s", got, want)
	}
	if err := inv.Validate(); err != nil {
		t.Fatal(err)
	}
	if h := inv.Hash().String(); h != goldenInvocationHash {
		t.Errorf("hash %s, want %s", h, goldenInvocationHash)
	}
}

func TestInvocationHashIsOrderFree(t *testing.T) {
	a := exampleInvocation()
	b := exampleInvocation()
	a.Inputs = append(a.Inputs, Input{Dataset: "did:odf:fed01" + strings.Repeat("11", 32), Head: a.Inputs[0].Head})
	b.Inputs = []Input{a.Inputs[1], a.Inputs[0]}
	a.Env = []string{"A=1", "B=2"}
	b.Env = []string{"B=2", "A=1"}
	if !a.Hash().Equal(b.Hash()) {
		t.Error("input and env order changed the hash")
	}
	b.Args = []string{"region", "-group"}
	if a.Hash().Equal(b.Hash()) {
		t.Error("argument order did not change the hash")
	}
	c := exampleInvocation()
	c.Gate.K = 10
	if c.Hash().Equal(exampleInvocation().Hash()) {
		t.Error("gate rules are not in the hash")
	}
	var nilArgs Invocation = exampleInvocation()
	nilArgs.Args = nil
	empty := exampleInvocation()
	empty.Args = []string{}
	if !nilArgs.Hash().Equal(empty.Hash()) || !strings.Contains(string(nilArgs.Canonical()), `"args":[]`) {
		t.Error("nil and empty args differ")
	}
}

func TestInvocationValidate(t *testing.T) {
	inv := exampleInvocation()
	inv.Algorithm = "sha256:abc"
	inv.Inputs = append(inv.Inputs, inv.Inputs[0], Input{Dataset: "covid", Head: "f00"})
	inv.Env = []string{"noequals"}
	err := inv.Validate()
	for _, want := range []string{"algorithm:", "inputs[1].dataset: did:odf:", "listed twice", "inputs[2].dataset:", "inputs[2].head:", `env[0]: "noequals"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want %q", err, want)
		}
	}
}

func newReceipt(t *testing.T, key ed25519.PrivateKey) (*Receipt, map[string][]byte, map[string][]byte) {
	t.Helper()
	outputs := map[string][]byte{"result.csv": []byte("region,count\nnorth,12\n")}
	logs := map[string][]byte{"stdout": []byte("done\n"), "stderr": nil}
	v := gate.Check(outputs, logs, nil, gate.DefaultRules())
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	r := New(exampleInvocation(), outputs, logs, Resources{WallMillis: 120, PeakMemoryPages: 300, BytesRead: 100, BytesWritten: 27, Stop: "exited"}, v, start, start.Add(120*time.Millisecond))
	r.Sign(key)
	return r, outputs, logs
}

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	key := ed25519.NewKeyFromSeed(make([]byte, 32))
	r, outputs, logs := newReceipt(t, key)
	if err := r.Verify(); err != nil {
		t.Fatal(err)
	}
	s, err := OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Lookup(ctx, r.InvocationHash); !errors.Is(err, ErrNotFound) {
		t.Fatalf("lookup before put: %v", err)
	}
	stored, h, err := s.Put(ctx, r, outputs, logs)
	if err != nil {
		t.Fatal(err)
	}
	if !h.Equal(odf.SHA3(r.Canonical())) || stored != r {
		t.Errorf("Put returned %s", h)
	}
	got, err := s.Lookup(ctx, r.InvocationHash)
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Canonical()) != string(r.Canonical()) {
		t.Errorf("round trip changed the receipt:\n%s\n%s", got.Canonical(), r.Canonical())
	}
	files, err := s.Files(ctx, got.Outputs)
	if err != nil || string(files["result.csv"]) != string(outputs["result.csv"]) {
		t.Errorf("outputs: %v %q", err, files)
	}
	// The same invocation again: the first receipt stays.
	later, _, _ := newReceipt(t, key)
	later.Finished = "2030-01-01T00:00:00Z"
	later.Sign(key)
	kept, kh, err := s.Put(ctx, later, outputs, logs)
	if err != nil || !kh.Equal(h) || kept.Finished != r.Finished {
		t.Errorf("second put: %v, %s, finished %s", err, kh, kept.Finished)
	}
}

func TestTamperDetection(t *testing.T) {
	ctx := context.Background()
	key := ed25519.NewKeyFromSeed(make([]byte, 32))
	r, outputs, logs := newReceipt(t, key)

	tampered := *r
	tampered.Outputs = []FileHash{{Name: "result.csv", Hash: odf.SHA3([]byte("other")).String(), Size: 5}}
	if err := tampered.Verify(); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "signature does not verify") {
		t.Errorf("changed outputs: %v", err)
	}
	tampered = *r
	tampered.Invocation.Args = []string{"-group", "age"}
	if err := tampered.Verify(); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "invocation hashes to") {
		t.Errorf("changed invocation: %v", err)
	}
	tampered = *r
	other := ed25519.NewKeyFromSeed(append(make([]byte, 31), 1))
	tampered.Node = odf.DIDKeyOf(other.Public().(ed25519.PublicKey))
	if err := tampered.Verify(); !errors.Is(err, ErrInvalid) {
		t.Errorf("other node: %v", err)
	}
	tampered = *r
	tampered.Logs = nil
	if err := tampered.Verify(); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "logs hash") {
		t.Errorf("dropped logs: %v", err)
	}

	// Damage on disk is caught on read.
	dir := t.TempDir()
	s, _ := OpenStore(dir)
	_, h, err := s.Put(ctx, r, outputs, logs)
	if err != nil {
		t.Fatal(err)
	}
	local, _ := store.NewLocal(dir + "/objects")
	if err := local.Corrupt(h); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Lookup(ctx, r.InvocationHash); !errors.Is(err, store.ErrCorrupt) {
		t.Errorf("corrupt receipt: %v", err)
	}

	// Files that do not match the receipt are refused.
	s2, _ := OpenStore(t.TempDir())
	if _, _, err := s2.Put(ctx, r, map[string][]byte{"result.csv": []byte("forged")}, logs); err == nil {
		t.Error("forged output accepted")
	}
	// Unknown fields are refused.
	var m map[string]any
	json.Unmarshal(r.Canonical(), &m)
	m["extra"] = 1
	b, _ := json.Marshal(m)
	if _, err := Parse(b); !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown field: %v", err)
	}
}
