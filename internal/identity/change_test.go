package identity

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func ptr(s string) *string { return &s }

// TestChangeApply: clear, then remove, then add; nil keeps a value and ""
// clears it; the result is normalized.
func TestChangeApply(t *testing.T) {
	base := Attributes{Roles: []string{"analyst", "reader"}, Groups: []string{"epi"}, Organisation: "acme", Purpose: "research"}
	for _, tc := range []struct {
		name string
		c    Change
		want Attributes
		err  error
	}{
		{"add sorts and dedups", Change{AddRoles: []string{"steward", "analyst"}},
			Attributes{Roles: []string{"analyst", "reader", "steward"}, Groups: []string{"epi"}, Organisation: "acme", Purpose: "research"}, nil},
		{"remove", Change{RemoveRoles: []string{"reader"}, RemoveGroups: []string{"epi"}},
			Attributes{Roles: []string{"analyst"}, Organisation: "acme", Purpose: "research"}, nil},
		{"clear then add replaces", Change{ClearRoles: true, AddRoles: []string{"auditor"}, ClearGroups: true},
			Attributes{Roles: []string{"auditor"}, Organisation: "acme", Purpose: "research"}, nil},
		{"set and clear scalars", Change{Organisation: ptr("globex"), Purpose: ptr("")},
			Attributes{Roles: []string{"analyst", "reader"}, Groups: []string{"epi"}, Organisation: "globex"}, nil},
		{"removing what is not there", Change{RemoveRoles: []string{"admin"}}, Attributes{}, ErrBadAttr},
		{"a bad value", Change{AddGroups: []string{"two words"}}, Attributes{}, ErrBadAttr},
		{"a bad organisation", Change{Organisation: ptr("-x")}, Attributes{}, ErrBadAttr},
	} {
		got, err := tc.c.Apply(base)
		if !errors.Is(err, tc.err) || (tc.err == nil && !reflect.DeepEqual(got, tc.want)) {
			t.Errorf("%s: got %+v, %v; want %+v, %v", tc.name, got, err, tc.want, tc.err)
		}
	}
	if _, err := (Change{RemoveRoles: []string{"admin"}}).Apply(base); err == nil || !bytes.Contains([]byte(err.Error()), []byte("(analyst, reader)")) {
		t.Errorf("the error should list the roles there are: %v", err)
	}
	if base.Roles[0] != "analyst" || len(base.Roles) != 2 {
		t.Errorf("Apply changed its input: %+v", base)
	}
}

// TestSet: an owner changes an analyst's attributes in place; the key
// and everything else stay; refusals write nothing.
func TestSet(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	a, err := s.Create(ctx, owner(t, s), CreateOptions{Name: "analyst", Attributes: Attributes{Roles: []string{"analyst"}, Organisation: "acme"}}, now)
	if err != nil {
		t.Fatal(err)
	}
	yamlPath := filepath.Join(s.Dir(), "analyst.yaml")
	before, err := os.ReadFile(yamlPath)
	if err != nil {
		t.Fatal(err)
	}
	refuse := func(actor Subject, ref string, c Change, want error) {
		t.Helper()
		if _, _, err := s.Set(ctx, actor, ref, c, now); !errors.Is(err, want) {
			t.Errorf("Set(%s as %s, %+v): %v, want %v", ref, actor.Name, c, err, want)
		}
		if got, _ := os.ReadFile(yamlPath); !bytes.Equal(got, before) {
			t.Fatalf("a refused Set changed the file:\n%s", got)
		}
	}
	refuse(a.Subject, "analyst", Change{AddRoles: []string{"admin"}}, ErrNotOwner)
	refuse(owner(t, s), "analyst", Change{}, ErrNoChange)
	refuse(owner(t, s), "analyst", Change{AddRoles: []string{"analyst"}}, ErrNoChange)
	refuse(owner(t, s), "analyst", Change{AddRoles: []string{"has space"}}, ErrBadAttr)
	refuse(owner(t, s), "nobody", Change{AddRoles: []string{"x"}}, ErrNotFound)
	refuse(owner(t, s), "Bad/Name", Change{AddRoles: []string{"x"}}, ErrBadName)

	old, now2, err := s.Set(ctx, owner(t, s), a.DID, Change{AddRoles: []string{"steward"}, Organisation: ptr("globex"), AddGroups: []string{"epi"}}, now)
	if err != nil {
		t.Fatal(err)
	}
	if old.Attributes.Organisation != "acme" || now2.Attributes.Organisation != "globex" || !now2.HasRole("steward") || !now2.InGroup("epi") {
		t.Fatalf("before %+v, after %+v", old.Subject, now2.Subject)
	}
	got, err := s.Get(ctx, "analyst")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Subject, now2.Subject) || got.DID != a.DID || !got.Key().Equal(a.Key()) || !got.Created.Equal(a.Created) {
		t.Fatalf("stored %+v, want %+v with the same key", got.Subject, now2.Subject)
	}

	// The owner's attributes can change too, and it keeps the node key.
	if _, _, err := s.Set(ctx, owner(t, s), OwnerName, Change{AddRoles: []string{"steward"}}, now); err != nil {
		t.Fatal(err)
	}
	o, err := s.Get(ctx, OwnerName)
	if err != nil || !o.HasRole("steward") || !o.Owner || !o.Key().Equal(nodeKey()) {
		t.Fatalf("owner after Set: %+v, %v", o, err)
	}
}

// TestSetLazyOwner: changing the owner of a workspace made before
// identities writes its file first.
func TestSetLazyOwner(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "identities")
	s := Open(dir, nodeKey())
	o, err := s.Get(ctx, OwnerName)
	if err != nil {
		t.Fatal(err)
	}
	if _, after, err := s.Set(ctx, o.Subject, OwnerName, Change{Purpose: ptr("operations")}, now); err != nil || after.Attributes.Purpose != "operations" {
		t.Fatalf("Set: %+v, %v", after, err)
	}
	if o, err = s.Get(ctx, OwnerName); err != nil || o.Attributes.Purpose != "operations" {
		t.Fatalf("Get: %+v, %v", o, err)
	}
}
