package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ipos-dev/ipos/internal/audit"
	"github.com/ipos-dev/ipos/internal/identity"
	"github.com/ipos-dev/ipos/internal/workspace"
)

// identities opens the workspace's identity store, .ipos/identities.
func identities(w *workspace.Workspace) *identity.Store {
	return identity.Open(filepath.Join(w.Dir(), "identities"), w.NodeKey())
}

// actor is the identity the command acts as: --as, then $IPOS_IDENTITY,
// then the one 'ipos identity use' chose, then the owner. It is resolved
// once per command.
func (g *globals) actor(ctx context.Context, w *workspace.Workspace) (*identity.Identity, error) {
	if g.acting != nil && g.acting.root == w.Root {
		return g.acting.id, nil
	}
	id, _, err := identities(w).Resolve(ctx, g.as, os.Getenv(identity.EnvVar))
	if err != nil {
		return nil, err
	}
	g.acting = &actingIdentity{root: w.Root, id: id}
	return id, nil
}

// actingIdentity caches the resolved identity of a workspace.
type actingIdentity struct {
	root string
	id   *identity.Identity
}

func newIdentityCommand(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "identity",
		Short: "Create, list and choose the identities that act on the workspace",
		Long: `An identity is an ed25519 key shown as did:key:z6Mk…, with attributes that
policies match on: roles, groups, organisation and purpose. The identity
made with the workspace, "owner", shares the node key and may create
others. Every command acts as one identity: --as NAME|DID, else
$IPOS_IDENTITY, else the one chosen with 'ipos identity use', else the
owner. Identities live in .ipos/identities (NAME.yaml, and NAME.key
readable only by you).`,
		Args: cobra.NoArgs,
	}
	c.AddCommand(newIdentityCreateCommand(g), newIdentitySetCommand(g), newIdentityListCommand(g), newIdentityShowCommand(g), newIdentityUseCommand(g))
	return c
}

type identityCreateOptions struct {
	roles, groups []string
	org, purpose  string
	owner         bool
}

func newIdentityCreateCommand(g *globals) *cobra.Command {
	var opts identityCreateOptions
	c := &cobra.Command{
		Use:   "create NAME",
		Short: "Create an identity with a new key (owners only)",
		Long: `Create an identity with a new ed25519 key and the given attributes. Only an
owner identity may do this; it is recorded in the audit log. NAME is a
lower-case letter followed by lower-case letters, digits, '-' or '_'.`,
		Example: `  ipos identity create analyst --role analyst --group epi --org acme --purpose research
  ipos identity create alice --owner`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runIdentityCreate(cmd.Context(), g, opts, args[0])
		},
	}
	c.Flags().StringArrayVar(&opts.roles, "role", nil, "a role (repeatable)")
	c.Flags().StringArrayVar(&opts.groups, "group", nil, "a group (repeatable)")
	c.Flags().StringVar(&opts.org, "org", "", "organisation the identity acts for")
	c.Flags().StringVar(&opts.purpose, "purpose", "", "purpose the identity declares for its use of data")
	c.Flags().BoolVar(&opts.owner, "owner", false, "make it an owner, allowed to create identities")
	return c
}

func runIdentityCreate(ctx context.Context, g *globals, opts identityCreateOptions, name string) error {
	w, err := g.openWorkspace()
	if err != nil {
		return err
	}
	if err := identity.ValidName(name); err != nil {
		return usageError{err}
	}
	actor, err := g.actor(ctx, w)
	if err != nil {
		return err
	}
	attrs := identity.Attributes{Roles: opts.roles, Groups: opts.groups, Organisation: opts.org, Purpose: opts.purpose}
	if _, err := attrs.Normalize(); err != nil {
		return usageError{err}
	}
	id, err := identities(w).Create(ctx, actor.Subject, identity.CreateOptions{Name: name, Attributes: attrs, Owner: opts.owner}, g.now())
	if errors.Is(err, identity.ErrNotOwner) {
		// A refused change is an access decision: record it.
		_, aerr := auditLog(g, w).Append(ctx, audit.Entry{
			Actor: audit.ActorOf(actor.Subject), Action: "identity.create", Object: name,
			Outcome: audit.Deny, Policy: "owner-only", Reasons: []string{err.Error()},
		})
		return errors.Join(err, aerr)
	}
	if err != nil {
		return err
	}
	details := attributeDetails(id.Attributes)
	details["did"], details["owner"] = id.DID, fmt.Sprint(id.Owner)
	if err := g.audit(ctx, w, "identity.create", name, nil, details); err != nil {
		return err
	}
	fmt.Fprintf(g.streams.Out, "Created identity %s (%s)\n", id.Name, id.DID)
	return nil
}

type identitySetOptions struct {
	roles, groups             []string
	removeRoles, removeGroups []string
	clearRoles, clearGroups   bool
	org, purpose              string
}

func newIdentitySetCommand(g *globals) *cobra.Command {
	var opts identitySetOptions
	c := &cobra.Command{
		Use:   "set NAME|DID",
		Short: "Change an identity's roles, groups, organisation or purpose (owners only)",
		Long: `Change the attributes policies match on. --role and --group add, --remove-role
and --remove-group remove (naming one the identity does not have is an
error), --clear-roles and --clear-groups remove all before any are added, so
--clear-roles --role R replaces them. --org and --purpose set the value; an
empty value ('') clears it. Only an owner identity may do this. The file is
replaced whole or not at all, and the change, or its refusal, is recorded
in the audit log with the attributes before and after. The name, key and
owner flag never change.`,
		Example: `  ipos identity set analyst --role steward --org globex
  ipos identity set analyst --clear-roles --role reader --purpose ''
  ipos identity set analyst --remove-group epi`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ch := identity.Change{
				AddRoles: opts.roles, RemoveRoles: opts.removeRoles, ClearRoles: opts.clearRoles,
				AddGroups: opts.groups, RemoveGroups: opts.removeGroups, ClearGroups: opts.clearGroups,
			}
			if cmd.Flags().Changed("org") {
				ch.Organisation = &opts.org
			}
			if cmd.Flags().Changed("purpose") {
				ch.Purpose = &opts.purpose
			}
			if ch.IsZero() {
				return usagef("nothing to change: use --role, --group, --remove-role, --remove-group, --clear-roles, --clear-groups, --org or --purpose")
			}
			return runIdentitySet(cmd.Context(), g, args[0], ch)
		},
	}
	c.Flags().StringArrayVar(&opts.roles, "role", nil, "add a role (repeatable)")
	c.Flags().StringArrayVar(&opts.groups, "group", nil, "add a group (repeatable)")
	c.Flags().StringArrayVar(&opts.removeRoles, "remove-role", nil, "remove a role (repeatable)")
	c.Flags().StringArrayVar(&opts.removeGroups, "remove-group", nil, "remove a group (repeatable)")
	c.Flags().BoolVar(&opts.clearRoles, "clear-roles", false, "remove every role first")
	c.Flags().BoolVar(&opts.clearGroups, "clear-groups", false, "remove every group first")
	c.Flags().StringVar(&opts.org, "org", "", "set the organisation ('' clears it)")
	c.Flags().StringVar(&opts.purpose, "purpose", "", "set the purpose ('' clears it)")
	return c
}

func runIdentitySet(ctx context.Context, g *globals, ref string, ch identity.Change) error {
	w, err := g.openWorkspace()
	if err != nil {
		return err
	}
	actor, err := g.actor(ctx, w)
	if err != nil {
		return err
	}
	before, after, err := identities(w).Set(ctx, actor.Subject, ref, ch, g.now())
	if errors.Is(err, identity.ErrNotOwner) {
		_, aerr := auditLog(g, w).Append(ctx, audit.Entry{
			Actor: audit.ActorOf(actor.Subject), Action: "identity.set", Object: ref,
			Outcome: audit.Deny, Policy: "owner-only", Reasons: []string{err.Error()},
		})
		return errors.Join(err, aerr)
	}
	if errors.Is(err, identity.ErrBadAttr) || errors.Is(err, identity.ErrBadName) || errors.Is(err, identity.ErrNoChange) {
		return usageError{err}
	}
	if err != nil {
		return err
	}
	details := map[string]string{"did": after.DID}
	for k, v := range attributeDetails(before.Attributes) {
		details["before."+k] = v
	}
	for k, v := range attributeDetails(after.Attributes) {
		details["after."+k] = v
	}
	if err := g.audit(ctx, w, "identity.set", after.Name, nil, details); err != nil {
		return err
	}
	a := after.Attributes
	fmt.Fprintf(g.streams.Out, "Changed identity %s: roles %s, groups %s, organisation %s, purpose %s\n", after.Name,
		noneDash(strings.Join(a.Roles, ",")), noneDash(strings.Join(a.Groups, ",")), noneDash(a.Organisation), noneDash(a.Purpose))
	return nil
}

// attributeDetails are an identity's attributes as audit details; empty
// ones are left out.
func attributeDetails(a identity.Attributes) map[string]string {
	out := map[string]string{}
	for k, v := range map[string]string{
		"roles": strings.Join(a.Roles, ","), "groups": strings.Join(a.Groups, ","),
		"organisation": a.Organisation, "purpose": a.Purpose,
	} {
		if v != "" {
			out[k] = v
		}
	}
	return out
}

func newIdentityListCommand(g *globals) *cobra.Command {
	var output string
	c := &cobra.Command{
		Use:   "list",
		Short: "List identities; * marks the one commands act as",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runIdentityList(cmd.Context(), g, output)
		},
	}
	addOutputFlag(c, &output, "table", "table", "json", "yaml")
	return c
}

// identityView is how an identity prints as JSON or YAML.
type identityView struct {
	identity.Subject `yaml:",inline"`
	Created          string `json:"created,omitempty" yaml:"created,omitempty"`
	CreatedBy        string `json:"createdBy,omitempty" yaml:"createdBy,omitempty"`
	Current          bool   `json:"current" yaml:"current"`
}

func viewOf(id *identity.Identity, current bool) identityView {
	v := identityView{Subject: id.Subject, CreatedBy: id.CreatedBy, Current: current}
	if !id.Created.IsZero() {
		v.Created = id.Created.UTC().Format("2006-01-02T15:04:05Z")
	}
	return v
}

func runIdentityList(ctx context.Context, g *globals, output string) error {
	w, err := g.openWorkspace()
	if err != nil {
		return err
	}
	st := identities(w)
	all, err := st.List(ctx)
	if err != nil {
		return err
	}
	cur, err := g.actor(ctx, w)
	if err != nil {
		return err
	}
	if output != "table" {
		views := make([]identityView, len(all))
		for i, id := range all {
			views[i] = viewOf(id, id.Name == cur.Name)
		}
		return printStructured(g.streams.Out, output, views)
	}
	t := newTable(g.streams.Out, "", "NAME", "DID", "OWNER", "ROLES", "GROUPS", "ORGANISATION", "PURPOSE")
	for _, id := range all {
		mark := ""
		if id.Name == cur.Name {
			mark = "*"
		}
		owner := ""
		if id.Owner {
			owner = "yes"
		}
		a := id.Attributes
		t.row(mark, id.Name, id.DID, owner, noneDash(strings.Join(a.Roles, ",")), noneDash(strings.Join(a.Groups, ",")), noneDash(a.Organisation), noneDash(a.Purpose))
	}
	return t.flush()
}

func newIdentityShowCommand(g *globals) *cobra.Command {
	var output string
	c := &cobra.Command{
		Use:   "show [NAME|DID]",
		Short: "Show one identity (default: the one commands act as)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref := ""
			if len(args) == 1 {
				ref = args[0]
			}
			return runIdentityShow(cmd.Context(), g, output, ref)
		},
	}
	addOutputFlag(c, &output, "yaml", "yaml", "json")
	return c
}

func runIdentityShow(ctx context.Context, g *globals, output, ref string) error {
	w, err := g.openWorkspace()
	if err != nil {
		return err
	}
	cur, err := g.actor(ctx, w)
	if err != nil {
		return err
	}
	id := cur
	if ref != "" {
		if id, err = identities(w).Get(ctx, ref); err != nil {
			return err
		}
	}
	return printStructured(g.streams.Out, output, viewOf(id, id.Name == cur.Name))
}

func newIdentityUseCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "use NAME|DID",
		Short: "Choose the identity later commands act as",
		Long: `Make NAME the identity commands in this workspace act as when neither --as
nor $IPOS_IDENTITY says otherwise. It is recorded in the audit log.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runIdentityUse(cmd.Context(), g, args[0])
		},
	}
}

func runIdentityUse(ctx context.Context, g *globals, ref string) error {
	w, err := g.openWorkspace()
	if err != nil {
		return err
	}
	// The entry is by the identity acting before the switch; if that
	// cannot be resolved (a current identity since removed), by the new
	// one.
	_, berr := g.actor(ctx, w)
	id, err := identities(w).Use(ctx, ref, g.now())
	if err != nil {
		return err
	}
	if berr != nil {
		g.acting = &actingIdentity{root: w.Root, id: id}
	}
	if err := g.audit(ctx, w, "identity.use", id.Name, nil, map[string]string{"did": id.DID}); err != nil {
		return err
	}
	fmt.Fprintf(g.streams.Out, "Now acting as %s (%s)\n", id.Name, id.DID)
	if g.as != "" || os.Getenv(identity.EnvVar) != "" {
		fmt.Fprintf(g.streams.Err, "note: --as or $%s still takes precedence in this shell\n", identity.EnvVar)
	}
	return nil
}
