package receipt

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/ipos-dev/ipos/internal/gate"
	"github.com/ipos-dev/ipos/internal/odf"
)

// ErrInvalid is wrapped by every error for a receipt that does not verify.
var ErrInvalid = errors.New("invalid receipt")

// Input is one input dataset as the job saw it.
type Input struct {
	Dataset string `json:"dataset"` // did:odf:…
	Head    string `json:"head"`    // multihash of its head block, "f1620…"
}

// Limits are the sandbox limits the job ran under.
type Limits struct {
	MemoryBytes   uint64 `json:"memoryBytes"`
	TimeoutMillis int64  `json:"timeoutMillis"`
	OutputBytes   int64  `json:"outputBytes"`
	OutputFiles   int    `json:"outputFiles"`
	LogBytes      int64  `json:"logBytes"`
	LogFiles      int    `json:"logFiles"`
	AllowClock    bool   `json:"allowClock"`
	AllowRandom   bool   `json:"allowRandom"`
	Seed          uint64 `json:"seed"`
}

// Invocation is everything that determines a job's result.
type Invocation struct {
	// Algorithm is the SHA3-256 multihash of the module bytes (see
	// AlgorithmHashes).
	Algorithm string     `json:"algorithm"`
	Inputs    []Input    `json:"inputs"`
	Args      []string   `json:"args"`
	Env       []string   `json:"env"` // "KEY=value"
	Limits    Limits     `json:"limits"`
	Gate      gate.Rules `json:"gate"`
}

// AlgorithmHashes returns a module's two content hashes: SHA-256 in hex
// (what the sandbox checks) and the SHA3-256 multihash (what ODF-style
// records print).
func AlgorithmHashes(module []byte) (sha256Hex, multihash string) {
	sum := sha256.Sum256(module)
	return hex.EncodeToString(sum[:]), odf.SHA3(module).String()
}

// normalized returns a copy in canonical order: inputs sorted by dataset,
// env sorted, nil lists made empty. Args keep their order: it matters.
func (inv Invocation) normalized() Invocation {
	inv.Inputs = append([]Input{}, inv.Inputs...)
	sort.Slice(inv.Inputs, func(i, j int) bool { return inv.Inputs[i].Dataset < inv.Inputs[j].Dataset })
	inv.Args = append([]string{}, inv.Args...)
	inv.Env = append([]string{}, inv.Env...)
	sort.Strings(inv.Env)
	inv.Gate.AllowedTypes = append([]string{}, inv.Gate.AllowedTypes...)
	if len(inv.Gate.CountColumns) == 0 {
		inv.Gate.CountColumns = nil
	}
	return inv
}

// Validate checks the fields that must be hashes or IDs.
func (inv Invocation) Validate() error {
	var errs []error
	if err := checkHash(inv.Algorithm); err != nil {
		errs = append(errs, fmt.Errorf("algorithm: %w", err))
	}
	seen := map[string]bool{}
	for i, in := range inv.Inputs {
		if _, err := odf.ParseDatasetID(in.Dataset); err != nil {
			errs = append(errs, fmt.Errorf("inputs[%d].dataset: %w", i, err))
		}
		if seen[in.Dataset] {
			errs = append(errs, fmt.Errorf("inputs[%d].dataset: %s is listed twice", i, in.Dataset))
		}
		seen[in.Dataset] = true
		if err := checkHash(in.Head); err != nil {
			errs = append(errs, fmt.Errorf("inputs[%d].head: %w", i, err))
		}
	}
	for i, e := range inv.Env {
		if k, _, ok := strings.Cut(e, "="); !ok || k == "" {
			errs = append(errs, fmt.Errorf("env[%d]: %q is not KEY=value", i, e))
		}
	}
	return errors.Join(errs...)
}

func checkHash(s string) error {
	h, err := odf.ParseMultihashString(s)
	if err != nil {
		return err
	}
	if h.Code() != odf.CodeSHA3_256 {
		return fmt.Errorf("%s is not a SHA3-256 multihash", s)
	}
	return nil
}

// Canonical returns the invocation's canonical JSON.
func (inv Invocation) Canonical() []byte {
	return canonicalJSON(inv.normalized())
}

// Hash returns the SHA3-256 multihash of the canonical JSON.
func (inv Invocation) Hash() odf.Multihash {
	return odf.SHA3(inv.Canonical())
}

// canonicalJSON marshals v (a struct of strings, integers, booleans,
// lists and structs) without HTML escaping or trailing newline.
func canonicalJSON(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Only unsupported types fail, and these types have none.
		panic("receipt: canonical JSON: " + err.Error())
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// FileHash is one released file.
type FileHash struct {
	Name string `json:"name"`
	Hash string `json:"hash"` // SHA3-256 multihash of the bytes
	Size int64  `json:"size"`
}

// Resources are what the run used.
type Resources struct {
	WallMillis      int64  `json:"wallMillis"`
	PeakMemoryPages uint32 `json:"peakMemoryPages"`
	BytesRead       int64  `json:"bytesRead"`
	BytesWritten    int64  `json:"bytesWritten"`
	ExitCode        uint32 `json:"exitCode"`
	Stop            string `json:"stop"`
}

// Verdict is the gate's decision as recorded.
type Verdict struct {
	Released bool     `json:"released"`
	Notes    []string `json:"notes"`
	Reasons  []string `json:"reasons"`
}

// Receipt is the signed record of one job run.
type Receipt struct {
	Version        int        `json:"version"`
	Invocation     Invocation `json:"invocation"`
	InvocationHash string     `json:"invocationHash"`
	Outputs        []FileHash `json:"outputs"`
	Logs           []FileHash `json:"logs"`
	// LogsHash is the SHA3-256 multihash of the canonical JSON of Logs.
	LogsHash  string    `json:"logsHash"`
	Resources Resources `json:"resources"`
	Gate      Verdict   `json:"gate"`
	Started   string    `json:"started"`  // RFC 3339, UTC, nanoseconds
	Finished  string    `json:"finished"` // RFC 3339, UTC, nanoseconds
	Node      string    `json:"node"`     // did:key of the signing node
	// Signature is the ed25519 signature, base64url without padding, over
	// the canonical JSON of the receipt with this field empty.
	Signature string `json:"signature"`
}

// Hashes returns the sorted FileHash list of named files.
func Hashes(files map[string][]byte) []FileHash {
	out := make([]FileHash, 0, len(files))
	for name, b := range files {
		out = append(out, FileHash{Name: name, Hash: odf.SHA3(b).String(), Size: int64(len(b))})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// New builds an unsigned receipt.
func New(inv Invocation, outputs, logs map[string][]byte, res Resources, verdict gate.Verdict, started, finished time.Time) *Receipt {
	r := &Receipt{
		Version:        1,
		Invocation:     inv.normalized(),
		InvocationHash: inv.Hash().String(),
		Outputs:        Hashes(outputs),
		Logs:           Hashes(logs),
		Resources:      res,
		Gate:           Verdict{Released: verdict.Released, Notes: verdict.Notes, Reasons: verdict.Reasons},
		Started:        started.UTC().Format(time.RFC3339Nano),
		Finished:       finished.UTC().Format(time.RFC3339Nano),
	}
	r.LogsHash = odf.SHA3(canonicalJSON(r.Logs)).String()
	return r
}

func (r *Receipt) normalized() Receipt {
	c := *r
	c.Invocation = r.Invocation.normalized()
	c.Outputs = append([]FileHash{}, r.Outputs...)
	c.Logs = append([]FileHash{}, r.Logs...)
	c.Gate.Notes = append([]string{}, r.Gate.Notes...)
	c.Gate.Reasons = append([]string{}, r.Gate.Reasons...)
	return c
}

// signedBytes is the canonical JSON with the signature empty.
func (r *Receipt) signedBytes() []byte {
	c := r.normalized()
	c.Signature = ""
	return canonicalJSON(c)
}

// Canonical returns the canonical JSON, signature included: the bytes the
// Store keeps.
func (r *Receipt) Canonical() []byte {
	c := r.normalized()
	return canonicalJSON(c)
}

// Sign sets Node to the key's did:key and Signature to the signature.
func (r *Receipt) Sign(key ed25519.PrivateKey) {
	r.Node = odf.DIDKeyOf(key.Public().(ed25519.PublicKey))
	r.Signature = base64.RawURLEncoding.EncodeToString(ed25519.Sign(key, r.signedBytes()))
}

// Verify checks the invocation hash, the logs hash and the signature.
func (r *Receipt) Verify() error {
	if r.Version != 1 {
		return fmt.Errorf("%w: version %d, want 1", ErrInvalid, r.Version)
	}
	if h := r.Invocation.Hash().String(); h != r.InvocationHash {
		return fmt.Errorf("%w: invocation hashes to %s, the receipt says %s", ErrInvalid, h, r.InvocationHash)
	}
	if h := odf.SHA3(canonicalJSON(append([]FileHash{}, r.Logs...))).String(); h != r.LogsHash {
		return fmt.Errorf("%w: logs hash to %s, the receipt says %s", ErrInvalid, h, r.LogsHash)
	}
	pub, err := odf.ParseDIDKey(r.Node)
	if err != nil {
		return fmt.Errorf("%w: node: %v", ErrInvalid, err)
	}
	sig, err := base64.RawURLEncoding.DecodeString(r.Signature)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return fmt.Errorf("%w: signature is not %d bytes of base64url", ErrInvalid, ed25519.SignatureSize)
	}
	if !ed25519.Verify(pub, r.signedBytes(), sig) {
		return fmt.Errorf("%w: signature does not verify under %s", ErrInvalid, r.Node)
	}
	return nil
}

// Parse decodes a receipt's JSON strictly (unknown fields are errors) and
// verifies it.
func Parse(data []byte) (*Receipt, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var r Receipt
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if err := r.Verify(); err != nil {
		return nil, err
	}
	return &r, nil
}
