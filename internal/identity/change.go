package identity

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// ErrNoChange is returned by Store.Set for a Change that changes nothing.
var ErrNoChange = errors.New("nothing to change")

// Change edits an identity's attributes. Roles and groups are changed in
// this order: cleared (Clear…), then removed (Remove…), then added
// (Add…). Organisation and Purpose are kept when nil, set when not, and
// cleared when set to "". The zero Change changes nothing.
type Change struct {
	AddRoles, RemoveRoles   []string
	ClearRoles              bool
	AddGroups, RemoveGroups []string
	ClearGroups             bool
	Organisation, Purpose   *string
}

// IsZero reports whether c asks for nothing.
func (c Change) IsZero() bool {
	return len(c.AddRoles) == 0 && len(c.RemoveRoles) == 0 && !c.ClearRoles &&
		len(c.AddGroups) == 0 && len(c.RemoveGroups) == 0 && !c.ClearGroups &&
		c.Organisation == nil && c.Purpose == nil
}

// Apply returns a with c applied, normalized. Removing a role or group a
// does not have is an error naming what it has: it is most likely a typo.
func (c Change) Apply(a Attributes) (Attributes, error) {
	edit := func(field string, cur []string, clear bool, remove, add []string) ([]string, error) {
		out := slices.Clone(cur)
		if clear {
			out = nil
		}
		for _, r := range remove {
			i := slices.Index(out, r)
			if i < 0 {
				has := strings.Join(out, ", ")
				if has == "" {
					has = "none"
				}
				return nil, fmt.Errorf("%w: cannot remove %s %q: not one of the identity's %ss (%s)", ErrBadAttr, field, r, field, has)
			}
			out = slices.Delete(out, i, i+1)
		}
		return append(out, add...), nil
	}
	var next Attributes
	var err error
	if next.Roles, err = edit("role", a.Roles, c.ClearRoles, c.RemoveRoles, c.AddRoles); err != nil {
		return Attributes{}, err
	}
	if next.Groups, err = edit("group", a.Groups, c.ClearGroups, c.RemoveGroups, c.AddGroups); err != nil {
		return Attributes{}, err
	}
	next.Organisation, next.Purpose = a.Organisation, a.Purpose
	if c.Organisation != nil {
		next.Organisation = *c.Organisation
	}
	if c.Purpose != nil {
		next.Purpose = *c.Purpose
	}
	return next.Normalize()
}

// Set changes the attributes of the identity named ref (a name or a
// did:key) and returns it as it was before and as it is now. actor must be
// an owner. The change is atomic: the identity's file is replaced whole,
// under the store's lock, or not at all; a refused actor, a bad value or
// a Change that changes nothing writes nothing.
func (s *Store) Set(ctx context.Context, actor Subject, ref string, c Change, now time.Time) (before, after *Identity, err error) {
	if c.IsZero() {
		return nil, nil, fmt.Errorf("identity %s: %w: name roles, groups, an organisation or a purpose", ref, ErrNoChange)
	}
	if !actor.Owner {
		return nil, nil, fmt.Errorf("changing identity %s: %w, and %s is not one", ref, ErrNotOwner, actor.Name)
	}
	unlock, err := s.lock(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer unlock()
	if err := s.ensureOwner(now); err != nil {
		return nil, nil, err
	}
	name := ref
	if strings.HasPrefix(ref, "did:") {
		id, err := s.Get(ctx, ref)
		if err != nil {
			return nil, nil, err
		}
		name = id.Name
	} else if err := ValidName(ref); err != nil {
		return nil, nil, err
	}
	// The key is loaded too: an identity nobody can act as is not one to
	// change.
	f, _, err := s.loadFile(name, true)
	if err != nil {
		return nil, nil, err
	}
	attrs, err := c.Apply(f.Attributes)
	if err != nil {
		return nil, nil, fmt.Errorf("identity %s: %w", name, err)
	}
	if equalAttributes(attrs, f.Attributes) {
		return nil, nil, fmt.Errorf("identity %s: %w: it already has these attributes", name, ErrNoChange)
	}
	before = identityOf(f)
	f.Attributes = attrs
	if err := writeYAML(filepath.Join(s.dir, name+".yaml"), f); err != nil {
		return nil, nil, err
	}
	return before, identityOf(f), nil
}

func equalAttributes(a, b Attributes) bool {
	return slices.Equal(a.Roles, b.Roles) && slices.Equal(a.Groups, b.Groups) &&
		a.Organisation == b.Organisation && a.Purpose == b.Purpose
}
