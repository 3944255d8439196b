package audit

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ipos-dev/ipos/internal/identity"
	"github.com/ipos-dev/ipos/internal/odf"
)

// Outcome is how an action ended.
type Outcome string

// Outcomes. Mutations end OK or Error; access decisions Allow or Deny.
const (
	OK    Outcome = "ok"
	Error Outcome = "error"
	Allow Outcome = "allow"
	Deny  Outcome = "deny"
)

func (o Outcome) valid() bool { return o == OK || o == Error || o == Allow || o == Deny }

// Actor is who acted: an identity's DID and local name.
type Actor struct {
	DID  string `json:"did"`
	Name string `json:"name,omitempty"`
}

// ActorOf is the actor of an identity subject.
func ActorOf(s identity.Subject) Actor { return Actor{DID: s.DID, Name: s.Name} }

// Entry is one line of the audit log. Callers fill Actor, Action, Object,
// Outcome and, for access decisions, Policy and Reasons; Append fills
// Seq, Time (when zero), Prev, Hash and Sig.
//
// The JSON field order below is the byte order of the log; see
// docs/audit.md.
type Entry struct {
	// Seq numbers entries from 1 without gaps.
	Seq uint64 `json:"seq"`
	// Time is when the entry was made, UTC.
	Time time.Time `json:"time"`
	// Actor is the identity that acted.
	Actor Actor `json:"actor"`
	// Action names what was done, noun.verb: "dataset.pull",
	// "resource.apply", "identity.create", "query.read".
	Action string `json:"action"`
	// Object is what it was done to: a dataset alias, "Kind/name", an
	// identity name.
	Object string `json:"object,omitempty"`
	// Outcome is ok|error for mutations, allow|deny for access decisions.
	Outcome Outcome `json:"outcome"`
	// Policy names the policy that decided an access (allow or deny).
	Policy string `json:"policy,omitempty"`
	// Reasons explain a decision or an error, one sentence each.
	Reasons []string `json:"reasons,omitempty"`
	// Details hold anything else worth keeping (a new head, row counts).
	Details map[string]string `json:"details,omitempty"`
	// Prev is the Hash of the entry before, empty for the first.
	Prev string `json:"prev,omitempty"`
	// Hash is the SHA3-256 multihash (multibase f…) of the entry's body:
	// the entry's JSON without hash and sig.
	Hash string `json:"hash,omitempty"`
	// Sig is the node key's ed25519 signature of "ipos-audit-entry-v1:"
	// followed by Hash, multibase base64url (u…).
	Sig string `json:"sig,omitempty"`
}

// Signature domains: what the node key signs, so an audit signature can
// never be mistaken for another of the node's signatures.
const (
	entryDomain = "ipos-audit-entry-v1:"
	headDomain  = "ipos-audit-head-v1:"
)

var sigEncoding = base64.RawURLEncoding.Strict()

// ErrMalformed marks a line that is not a canonical entry.
var ErrMalformed = errors.New("malformed audit entry")

// marshal encodes v as compact JSON without HTML escaping and without the
// trailing newline.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// body is the canonical JSON of e without Hash and Sig: the bytes hashed.
func (e Entry) body() ([]byte, error) {
	e.Hash, e.Sig = "", ""
	return marshal(e)
}

// withSeal appends ,"hash":…,"sig":… to a body, giving the line without
// its newline.
func withSeal(body []byte, hash, sig string) []byte {
	line := append([]byte(nil), body[:len(body)-1]...)
	line = append(line, `,"hash":"`...)
	line = append(line, hash...)
	line = append(line, `","sig":"`...)
	line = append(line, sig...)
	return append(line, `"}`...)
}

// seal computes e's hash and signature with key and returns the entry and
// its log line (with the newline).
func seal(e Entry, key ed25519.PrivateKey) (Entry, []byte, error) {
	body, err := e.body()
	if err != nil {
		return Entry{}, nil, err
	}
	e.Hash = odf.SHA3(body).String()
	e.Sig = "u" + sigEncoding.EncodeToString(ed25519.Sign(key, []byte(entryDomain+e.Hash)))
	return e, append(withSeal(body, e.Hash, e.Sig), '\n'), nil
}

// DecodeLine parses one log line (without its newline). It accepts only
// the exact bytes Append writes: strict JSON with the known fields in
// their order, hash and sig last. It does not check the hash, the
// signature or the chain; see Check and Verify.
func DecodeLine(line []byte) (Entry, error) {
	var e Entry
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return Entry{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if dec.More() || dec.InputOffset() != int64(len(line)) {
		return Entry{}, fmt.Errorf("%w: text after the entry", ErrMalformed)
	}
	if e.Hash == "" || e.Sig == "" {
		return Entry{}, fmt.Errorf("%w: hash or sig missing", ErrMalformed)
	}
	body, err := e.body()
	if err != nil {
		return Entry{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if !bytes.Equal(withSeal(body, e.Hash, e.Sig), line) {
		return Entry{}, fmt.Errorf("%w: not in canonical form (fields out of order, extra spaces or escapes, or a changed byte)", ErrMalformed)
	}
	return e, nil
}

// Check recomputes e's hash from its content and checks the signature
// against the node's public key. It reports what is wrong as a Kind.
func Check(e Entry, pub ed25519.PublicKey) (Kind, error) {
	body, err := e.body()
	if err != nil {
		return KindMalformed, err
	}
	if got := odf.SHA3(body).String(); got != e.Hash {
		return KindEdited, fmt.Errorf("content hashes to %s but the entry says %s", got, e.Hash)
	}
	if !e.Outcome.valid() {
		return KindMalformed, fmt.Errorf("outcome %q is not ok, error, allow or deny", e.Outcome)
	}
	if err := checkSig(pub, entryDomain+e.Hash, e.Sig); err != nil {
		return KindSignature, err
	}
	return "", nil
}

func checkSig(pub ed25519.PublicKey, msg, sig string) error {
	if len(sig) < 1 || sig[0] != 'u' {
		return fmt.Errorf("signature %q is not multibase base64url", sig)
	}
	raw, err := sigEncoding.DecodeString(sig[1:])
	if err != nil {
		return fmt.Errorf("signature: %v", err)
	}
	if !ed25519.Verify(pub, []byte(msg), raw) {
		return errors.New("signature does not verify with the node key")
	}
	return nil
}

// Head is the signed checkpoint kept in head.json: the last entry's seq
// and hash, and the log's length through it. A log shorter than its
// checkpoint has lost entries.
type Head struct {
	Seq  uint64    `json:"seq"`
	Hash string    `json:"hash,omitempty"`
	Size int64     `json:"size"`
	Time time.Time `json:"time"`
	// Node is the did:key of the node key that signs the log.
	Node string `json:"node"`
	// Sig signs "ipos-audit-head-v1:" followed by the head's JSON without
	// sig.
	Sig string `json:"sig,omitempty"`
}

func (h Head) body() ([]byte, error) {
	h.Sig = ""
	return marshal(h)
}

func sealHead(h Head, key ed25519.PrivateKey) (Head, []byte, error) {
	body, err := h.body()
	if err != nil {
		return Head{}, nil, err
	}
	h.Sig = "u" + sigEncoding.EncodeToString(ed25519.Sign(key, append([]byte(headDomain), body...)))
	line, err := marshal(h)
	if err != nil {
		return Head{}, nil, err
	}
	return h, append(line, '\n'), nil
}

// decodeHead parses and checks head.json.
func decodeHead(data []byte, pub ed25519.PublicKey) (Head, error) {
	var h Head
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil {
		return Head{}, fmt.Errorf("not a checkpoint: %v", err)
	}
	line, err := marshal(h)
	if err != nil || !bytes.Equal(append(line, '\n'), data) {
		return Head{}, errors.New("not in canonical form")
	}
	body, err := h.body()
	if err != nil {
		return Head{}, err
	}
	if err := checkSig(pub, headDomain+string(body), h.Sig); err != nil {
		return Head{}, err
	}
	if h.Node != odf.DIDKeyOf(pub) {
		return Head{}, fmt.Errorf("signed for node %s, this node is %s", h.Node, odf.DIDKeyOf(pub))
	}
	return h, nil
}
