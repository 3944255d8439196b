package identity

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ipos-dev/ipos/internal/odf"
)

var now = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func nodeKey() ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
}

// newStore returns a store as a new workspace has it: the owner written
// at init.
func newStore(t *testing.T) *Store {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "identities")
	if err := InitOwner(dir, nodeKey(), now); err != nil {
		t.Fatal(err)
	}
	return Open(dir, nodeKey())
}

func owner(t *testing.T, s *Store) Subject {
	t.Helper()
	id, err := s.Get(context.Background(), OwnerName)
	if err != nil {
		t.Fatal(err)
	}
	return id.Subject
}

func TestOwnerSharesNodeKey(t *testing.T) {
	s := newStore(t)
	o, err := s.Get(context.Background(), OwnerName)
	if err != nil {
		t.Fatal(err)
	}
	if !o.Owner || o.DID != odf.DIDKeyOf(nodeKey().Public().(ed25519.PublicKey)) || !o.Key().Equal(nodeKey()) {
		t.Fatalf("owner %+v does not share the node key", o.Subject)
	}
	if err := InitOwner(s.Dir(), nodeKey(), now); !errors.Is(err, ErrExists) {
		t.Fatalf("second InitOwner: %v", err)
	}
}

func TestCreateListResolve(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	a, err := s.Create(ctx, owner(t, s), CreateOptions{Name: "analyst", Attributes: Attributes{
		Roles: []string{"reader", "analyst", "reader"}, Groups: []string{"epi"}, Organisation: "acme", Purpose: "research",
	}}, now)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.Attributes.Roles, []string{"analyst", "reader"}) || !a.HasRole("analyst") || !a.InGroup("epi") || a.Owner {
		t.Fatalf("created %+v", a.Subject)
	}
	st, err := os.Stat(filepath.Join(s.Dir(), "analyst.key"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("analyst.key: %v, mode %v", err, st.Mode())
	}
	all, err := s.List(ctx)
	if err != nil || len(all) != 2 || all[0].Name != "analyst" || all[1].Name != OwnerName {
		t.Fatalf("List: %v, %v", all, err)
	}

	// Resolution order: --as, then $IPOS_IDENTITY, then current, then owner.
	resolve := func(flag, env string) (string, Source) {
		t.Helper()
		id, src, err := s.Resolve(ctx, flag, env)
		if err != nil {
			t.Fatal(err)
		}
		return id.Name, src
	}
	if n, src := resolve("", ""); n != OwnerName || src != FromOwner {
		t.Fatalf("default: %s from %s", n, src)
	}
	if _, err := s.Use(ctx, "analyst", now); err != nil {
		t.Fatal(err)
	}
	if n, src := resolve("", ""); n != "analyst" || src != FromCurrent {
		t.Fatalf("after use: %s from %s", n, src)
	}
	if n, src := resolve("", OwnerName); n != OwnerName || src != FromEnv {
		t.Fatalf("env: %s from %s", n, src)
	}
	if n, src := resolve(a.DID, OwnerName); n != "analyst" || src != FromFlag {
		t.Fatalf("flag by DID: %s from %s", n, src)
	}
	_, _, err = s.Resolve(ctx, "nobody", "")
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "known identities: analyst, owner") {
		t.Fatalf("unknown: %v", err)
	}
}

func TestCreateRefusals(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	a, err := s.Create(ctx, owner(t, s), CreateOptions{Name: "analyst"}, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		actor Subject
		opts  CreateOptions
		want  error
	}{
		{owner(t, s), CreateOptions{Name: "Bad"}, ErrBadName},
		{owner(t, s), CreateOptions{Name: "a/b"}, ErrBadName},
		{owner(t, s), CreateOptions{Name: "current"}, ErrBadName},
		{owner(t, s), CreateOptions{Name: ""}, ErrBadName},
		{owner(t, s), CreateOptions{Name: "x", Attributes: Attributes{Roles: []string{"two words"}}}, ErrBadAttr},
		{owner(t, s), CreateOptions{Name: "x", Attributes: Attributes{Purpose: "-lead"}}, ErrBadAttr},
		{owner(t, s), CreateOptions{Name: "analyst"}, ErrExists},
		{owner(t, s), CreateOptions{Name: OwnerName}, ErrExists},
		{a.Subject, CreateOptions{Name: "mallory", Owner: true}, ErrNotOwner},
	} {
		if _, err := s.Create(ctx, tc.actor, tc.opts, now); !errors.Is(err, tc.want) {
			t.Errorf("Create(%q as %s): %v, want %v", tc.opts.Name, tc.actor.Name, err, tc.want)
		}
	}
	ents, _ := os.ReadDir(s.Dir())
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if want := []string{".lock", "analyst.key", "analyst.yaml", "owner.yaml"}; !slices.Equal(names, want) {
		t.Fatalf("refusals left files: %v, want %v", names, want)
	}
	// A new owner may create identities in turn.
	alice, err := s.Create(ctx, owner(t, s), CreateOptions{Name: "alice", Owner: true}, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, alice.Subject, CreateOptions{Name: "bob"}, now); err != nil {
		t.Fatal(err)
	}
}

// TestLazyOwner: a workspace made before identities has no folder; the
// owner comes from the node key, and reading writes nothing.
func TestLazyOwner(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "identities")
	s := Open(dir, nodeKey())
	id, src, err := s.Resolve(ctx, "", "")
	if err != nil || id.Name != OwnerName || !id.Owner || src != FromOwner {
		t.Fatalf("Resolve: %+v %s %v", id, src, err)
	}
	if all, err := s.List(ctx); err != nil || len(all) != 1 {
		t.Fatalf("List: %v %v", all, err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("reading made the folder: %v", err)
	}
	// The first change writes the owner.
	if _, err := s.Create(ctx, id.Subject, CreateOptions{Name: "analyst"}, now); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "owner.yaml")); err != nil {
		t.Fatal(err)
	}
}

func TestDamagedFiles(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	if _, err := s.Create(ctx, owner(t, s), CreateOptions{Name: "analyst"}, now); err != nil {
		t.Fatal(err)
	}
	yamlPath := filepath.Join(s.Dir(), "analyst.yaml")
	orig, _ := os.ReadFile(yamlPath)
	for name, edit := range map[string]func([]byte) []byte{
		"unknown field": func(b []byte) []byte { return append(b, "extra: 1\n"...) },
		"other did": func(b []byte) []byte {
			i := bytes.Index(b, []byte("did: did:key:"))
			j := i + bytes.IndexByte(b[i:], '\n')
			return slices.Concat(b[:i], []byte("did: "+odf.DIDKeyOf(ed25519.NewKeyFromSeed(make([]byte, 32)).Public().(ed25519.PublicKey))), b[j:])
		},
		"unsorted roles": func(b []byte) []byte {
			return bytes.Replace(b, []byte("attributes: {}"), []byte("attributes: {roles: [b, a]}"), 1)
		},
		"wrong name": func(b []byte) []byte { return bytes.Replace(b, []byte("name: analyst"), []byte("name: other"), 1) },
	} {
		if err := os.WriteFile(yamlPath, edit(bytes.Clone(orig)), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, "analyst"); err == nil || !strings.Contains(err.Error(), "analyst.yaml") {
			t.Errorf("%s: Get = %v, want an error naming the file", name, err)
		}
	}
	// A key that does not belong to the DID.
	if err := os.WriteFile(yamlPath, orig, 0o644); err != nil {
		t.Fatal(err)
	}
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize))
	if err := WriteKey(filepath.Join(s.Dir(), "analyst.key"), other); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "analyst"); err == nil || !strings.Contains(err.Error(), "belongs to") {
		t.Fatalf("mismatched key: %v", err)
	}
	// A missing key: the identity cannot be acted as.
	os.Remove(filepath.Join(s.Dir(), "analyst.key"))
	if _, _, err := s.Resolve(ctx, "analyst", ""); err == nil || !strings.Contains(err.Error(), "cannot act as analyst") {
		t.Fatalf("missing key: %v", err)
	}
	// A bad current file is reported with its path.
	os.WriteFile(filepath.Join(s.Dir(), "current"), []byte("No Such\n"), 0o644)
	if _, _, err := s.Resolve(ctx, "", ""); err == nil || !strings.Contains(err.Error(), "current") {
		t.Fatalf("bad current: %v", err)
	}
}
