package cli

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ipos-dev/ipos/internal/audit"
	"github.com/ipos-dev/ipos/internal/policy"
	"github.com/ipos-dev/ipos/internal/query"
	"github.com/ipos-dev/ipos/internal/resource"
	"github.com/ipos-dev/ipos/internal/resourcestore/sqlite"
	"github.com/ipos-dev/ipos/internal/workspace"
)

// governance is what the applied resources say about access: the policy
// engine, and the tags of datasets (their labels) and of their columns
// (their Contracts' classifications).
type governance struct {
	policies   []policy.Policy
	engine     *policy.Engine
	dataTags   map[string][]string
	columnTags map[string][]policy.Column
}

// loadGovernance reads the applied Policy, Contract and Dataset resources
// of w and builds the policy engine from them. A stored policy that does
// not compile is an error: access is then refused, not granted.
func loadGovernance(ctx context.Context, w *workspace.Workspace) (*governance, error) {
	st, err := sqlite.Open(ctx, filepath.Join(w.Dir(), "state.db"), sqlite.DefaultOptions())
	if err != nil {
		return nil, err
	}
	defer st.Close()
	reg := resource.DefaultRegistry()
	gov := &governance{dataTags: map[string][]string{}, columnTags: map[string][]policy.Column{}}
	for _, kind := range []string{"Policy", "Contract", "Dataset"} {
		recs, err := st.List(ctx, kind, nil)
		if err != nil {
			return nil, err
		}
		for _, rec := range recs {
			objs, err := reg.Parse(rec.Ref(), rec.Object)
			if err != nil {
				return nil, fmt.Errorf("stored %s: %w", rec.Ref(), err)
			}
			for _, o := range objs {
				switch spec := o.Spec.(type) {
				case *resource.PolicySpec:
					gov.policies = append(gov.policies, policy.Policy{Name: o.Metadata.Name, Spec: spec})
				case *resource.ContractSpec:
					for _, c := range spec.Columns {
						if c.Classification != "" {
							gov.columnTags[spec.Dataset] = append(gov.columnTags[spec.Dataset], policy.Column{Name: c.Name, Tags: []string{c.Classification}})
						}
					}
				case *resource.DatasetSpec:
					for k, v := range o.Metadata.Labels {
						tags := []string{k + "=" + v}
						if v == "" || v == "true" {
							tags = append(tags, k)
						}
						gov.dataTags[o.Metadata.Name] = append(gov.dataTags[o.Metadata.Name], tags...)
					}
					slices.Sort(gov.dataTags[o.Metadata.Name])
				}
			}
		}
	}
	if gov.engine, err = policy.New(ctx, gov.policies, policy.Options{}); err != nil {
		return nil, fmt.Errorf("applied policies: %w", err)
	}
	return gov, nil
}

// object describes a dataset (or any other object name) to the policies.
func (gov *governance) object(name string) policy.Object {
	return policy.Object{Name: name, Tags: gov.dataTags[name], Columns: gov.columnTags[name]}
}

// access is the query.Access of the acting identity for action.
func (g *globals) access(ctx context.Context, w *workspace.Workspace, action string) (*query.Access, error) {
	id, err := g.actor(ctx, w)
	if err != nil {
		return nil, err
	}
	gov, err := loadGovernance(ctx, w)
	if err != nil {
		return nil, err
	}
	return &query.Access{Subject: id.Subject, Action: action, Policies: gov.engine, Object: gov.object, Audit: auditLog(g, w)}, nil
}

// authorize decides, with the applied policies, whether the acting
// identity may do action to every object: a dataset name (ingest), or
// Kind/name (apply, delete, and Agreement/NAME for run-job and approve).
// Every decision, allow and deny, is recorded in the audit log as
// access.ACTION with the deciding policy. It returns nil only when every
// object is allowed and every decision is recorded; otherwise an error
// wrapping query.ErrDenied that names the identity, the action, the
// refused objects and the policy that refused each. Mutating commands
// call it before they change anything, so a refusal changes nothing.
func (g *globals) authorize(ctx context.Context, w *workspace.Workspace, action string, objects ...string) error {
	id, err := g.actor(ctx, w)
	if err != nil {
		return err
	}
	gov, err := loadGovernance(ctx, w)
	if err != nil {
		return err
	}
	log := auditLog(g, w)
	var refused []string
	for _, name := range objects {
		obj := gov.object(name)
		if ds, ok := strings.CutPrefix(name, "Dataset/"); ok {
			obj.Tags = gov.dataTags[ds] // a dataset's labels, for tag: rules
		}
		// On an error Decide denies and its reasons say why.
		d, _ := gov.engine.Decide(ctx, id.Subject, action, obj)
		e := audit.Entry{Actor: audit.ActorOf(id.Subject), Action: "access." + action, Object: name,
			Outcome: audit.Allow, Policy: d.Policy, Reasons: d.Reasons}
		if !d.Allow {
			e.Outcome = audit.Deny
			refused = append(refused, fmt.Sprintf("%s (%s: %s)", name, d.Policy, strings.Join(d.Reasons, "; ")))
		}
		if _, err := log.Append(ctx, e); err != nil {
			return fmt.Errorf("%w: the decision on %s %s could not be recorded in the audit log: %v", query.ErrDenied, action, name, err)
		}
	}
	if len(refused) > 0 {
		return fmt.Errorf("%w: %s may not %s %s; nothing was changed", query.ErrDenied, id.Name, action, strings.Join(refused, ", "))
	}
	return nil
}

func newPolicyCommand(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "policy",
		Short: "Evaluate and list the access and data policies",
		Long: `Policies (kind: Policy, applied with 'ipos apply') decide who may read, query,
ingest, apply, delete, run jobs on and approve what, and what a reader sees of
a dataset: masked columns and filtered rows. Without a policy that allows it,
only owners may do anything. Columns a Contract classifies as pii are hashed
for everyone but owners unless a policy says otherwise.`,
		Args: cobra.NoArgs,
	}
	c.AddCommand(newPolicyEvalCommand(g), newPolicyListCommand(g))
	return c
}

type policyEvalOptions struct {
	output string
}

func newPolicyEvalCommand(g *globals) *cobra.Command {
	var opts policyEvalOptions
	c := &cobra.Command{
		Use:   "eval ACTION OBJECT",
		Short: "Print the decision for the acting identity (--as) doing ACTION to OBJECT",
		Long: `Print the decision the applied policies give for the acting identity (--as
NAME|DID) doing ACTION (` + strings.Join(resource.PolicyActions, ", ") + `) to OBJECT (a dataset
name, or Kind/name): allow, the deciding policy, the reasons, and for read and
query the row filters and column masks, in the JSON shape of Trino's OPA
integration. Nothing is read or changed.`,
		Example: `  ipos policy eval --as analyst query covid.cases
  ipos policy eval --as analyst read covid.cases -o yaml`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPolicyEval(cmd.Context(), g, opts, args[0], args[1])
		},
	}
	addOutputFlag(c, &opts.output, "json", "json", "yaml")
	return c
}

func runPolicyEval(ctx context.Context, g *globals, opts policyEvalOptions, action, object string) error {
	if !slices.Contains(resource.PolicyActions, action) {
		return usagef("unknown action %q; use one of %s", action, strings.Join(resource.PolicyActions, ", "))
	}
	w, err := g.openWorkspace()
	if err != nil {
		return err
	}
	id, err := g.actor(ctx, w)
	if err != nil {
		return err
	}
	gov, err := loadGovernance(ctx, w)
	if err != nil {
		return err
	}
	d, err := gov.engine.Decide(ctx, id.Subject, action, gov.object(object))
	if perr := printStructured(g.streams.Out, opts.output, d); perr != nil {
		return perr
	}
	return err
}

func newPolicyListCommand(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "list",
		Short: "List the applied policies in decision order",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPolicyList(cmd.Context(), g)
		},
	}
	return c
}

func runPolicyList(ctx context.Context, g *globals) error {
	w, err := g.openWorkspace()
	if err != nil {
		return err
	}
	gov, err := loadGovernance(ctx, w)
	if err != nil {
		return err
	}
	byName := map[string]*resource.PolicySpec{}
	for _, p := range gov.policies {
		byName["Policy/"+p.Name] = p.Spec
	}
	t := newTable(g.streams.Out, "NAME", "PRIORITY", "ACCESS", "DATA", "REGO", "DESCRIPTION")
	for _, ref := range gov.engine.Policies() {
		s := byName[ref]
		rego := "no"
		if s.Rego != "" {
			rego = "yes"
		}
		t.row(strings.TrimPrefix(ref, "Policy/"), fmt.Sprint(s.EffectivePriority()), fmt.Sprint(len(s.Access)), fmt.Sprint(len(s.Data)), rego, s.Description)
	}
	return t.flush()
}
