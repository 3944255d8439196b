package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ipos-dev/ipos/internal/compute"
	"github.com/ipos-dev/ipos/internal/controller"
	"github.com/ipos-dev/ipos/internal/policy"
	"github.com/ipos-dev/ipos/internal/resource"
	"github.com/ipos-dev/ipos/internal/resourcestore"
	"github.com/ipos-dev/ipos/internal/resourcestore/sqlite"
	"github.com/ipos-dev/ipos/internal/sealing"
	"github.com/ipos-dev/ipos/internal/workspace"
)

// openController opens the workspace's resource store and controller. The
// caller closes the store.
func openController(ctx context.Context, g *globals) (*controller.Controller, error) {
	w, err := g.openWorkspace()
	if err != nil {
		return nil, err
	}
	return controllerFor(ctx, g, w)
}

func controllerFor(ctx context.Context, g *globals, w *workspace.Workspace) (*controller.Controller, error) {
	st, err := sqlite.Open(ctx, filepath.Join(w.Dir(), "state.db"), sqlite.DefaultOptions())
	if err != nil {
		return nil, err
	}
	key, err := sealing.LoadOrCreateKey(filepath.Join(w.Dir(), "secret.key"))
	if err != nil {
		st.Close()
		return nil, err
	}
	c := &controller.Controller{W: w, Store: st, Reg: resource.DefaultRegistry(), Key: key, Now: g.now}
	// Agreements and Jobs report their standing on every reconcile.
	c.Observers = compute.New(c, identities(w), auditLog(g, w)).Observers()
	return c, nil
}

type applyOptions struct {
	files       []string
	recursive   bool
	dryRun      bool
	noReconcile bool
}

func newApplyCommand(g *globals) *cobra.Command {
	var opts applyOptions
	c := &cobra.Command{
		Use:   "apply -f FILE|DIR|- ...",
		Short: "Declare resources from manifests and reconcile the workspace to them",
		Long: `Record the desired state of resources (apiVersion: ipos.dev/v1alpha1, kind,
metadata, spec; plain DatasetSnapshot manifests count as Datasets) and run one
reconciliation pass, which creates or updates what they declare. Every
manifest is checked first: all problems are reported together, with file,
document, line and field, and nothing is applied. Kinds: ` + strings.Join(resource.DefaultRegistry().Kinds(), ", ") + `.
Secret values are sealed with the workspace key before they are stored.`,
		Example: `  ipos apply -f examples/
  ipos apply -f dataset.yaml --dry-run
  cat depot.yaml | ipos apply -f -`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(opts.files) == 0 {
				return usagef("name manifests with -f FILE|DIR|-")
			}
			return runApply(cmd.Context(), g, opts)
		},
	}
	c.Flags().StringArrayVarP(&opts.files, "filename", "f", nil, "manifest file or folder, or - for standard input (repeatable)")
	c.Flags().BoolVarP(&opts.recursive, "recursive", "R", false, "read folders recursively")
	c.Flags().BoolVar(&opts.dryRun, "dry-run", false, "check and report what would change, change nothing")
	c.Flags().BoolVar(&opts.noReconcile, "no-reconcile", false, "record the desired state only; 'ipos reconcile --once' acts on it")
	return c
}

// readManifests parses every manifest named by paths, collecting all
// problems before reporting them.
func readManifests(g *globals, reg *resource.Registry, paths []string, recursive bool) ([]*resource.Object, error) {
	var objs []*resource.Object
	var problems []string
	for _, p := range paths {
		var files []string
		if p == "-" {
			data, err := io.ReadAll(g.streams.In)
			if err != nil {
				return nil, err
			}
			o, err := reg.Parse("<stdin>", data)
			if err != nil {
				problems = append(problems, err.Error())
			}
			objs = append(objs, o...)
			continue
		}
		files, err := manifestFiles([]string{p}, recursive)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				return nil, err
			}
			o, err := reg.Parse(f, data)
			if err != nil {
				problems = append(problems, err.Error())
			}
			objs = append(objs, o...)
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("nothing was applied:\n%s", strings.Join(problems, "\n"))
	}
	seen := map[resource.Ref]string{}
	for _, o := range objs {
		if prev, dup := seen[o.Ref()]; dup {
			return nil, fmt.Errorf("%s is declared twice (%s and %s:%d); nothing was applied", o.Ref(), prev, o.Origin.Source, o.Origin.Line)
		}
		seen[o.Ref()] = fmt.Sprintf("%s:%d", o.Origin.Source, o.Origin.Line)
	}
	return objs, nil
}

func runApply(ctx context.Context, g *globals, opts applyOptions) error {
	c, err := openController(ctx, g)
	if err != nil {
		return err
	}
	defer c.Store.Close()
	objs, err := readManifests(g, c.Reg, opts.files, opts.recursive)
	if err != nil {
		return err
	}
	refs := make([]string, len(objs))
	for i, o := range objs {
		refs[i] = o.Ref().String()
	}
	if err := g.authorize(ctx, c.W, policy.ActionApply, refs...); err != nil {
		return err
	}
	changes, err := c.Apply(ctx, objs, opts.dryRun)
	for _, ch := range changes {
		suffix := ""
		if opts.dryRun {
			suffix = " (dry run)"
		}
		fmt.Fprintf(g.streams.Out, "%s %s%s\n", strings.ToLower(ch.Ref.String()), ch.Action, suffix)
		if !opts.dryRun {
			err = errors.Join(err, g.audit(ctx, c.W, "resource.apply", ch.Ref.String(), nil, map[string]string{"change": fmt.Sprint(ch.Action)}))
		}
	}
	if err != nil || opts.dryRun || opts.noReconcile {
		return err
	}
	applied := map[resource.Ref]bool{}
	for _, o := range objs {
		applied[o.Ref()] = true
	}
	return reconcileAndReport(ctx, g, c, applied)
}

// reconcileAndReport makes one pass of the controller over every resource
// and reports what is not ready, failing if any is. With only set (apply),
// it fails only for those resources: another resource that was already
// not ready (a failed job, an expired agreement) is the state it settled
// in, not this command's doing, and is reported only if the pass changed it.
func reconcileAndReport(ctx context.Context, g *globals, c *controller.Controller, only map[resource.Ref]bool) error {
	outcomes, err := c.ReconcileOnce(ctx)
	if err != nil {
		return err
	}
	var failed []string
	for _, oc := range outcomes {
		switch {
		case !oc.Ready:
			ours := only == nil || only[oc.Ref]
			if ours || oc.Changed {
				fmt.Fprintf(g.streams.Err, "%s: not ready: %s: %s\n", strings.ToLower(oc.Ref.String()), oc.Reason, oc.Message)
			}
			if ours {
				failed = append(failed, oc.Ref.String())
			}
		case oc.Changed && !g.quiet:
			fmt.Fprintf(g.streams.Err, "%s: %s\n", strings.ToLower(oc.Ref.String()), oc.Action)
		}
		if oc.Changed {
			if err := g.audit(ctx, c.W, "resource.reconcile", oc.Ref.String(), nil, map[string]string{"action": fmt.Sprint(oc.Action), "ready": fmt.Sprint(oc.Ready)}); err != nil {
				return err
			}
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d resource(s) not ready: %s (see 'ipos describe')", len(failed), strings.Join(failed, ", "))
	}
	return nil
}

func newReconcileCommand(g *globals) *cobra.Command {
	var once bool
	c := &cobra.Command{
		Use:   "reconcile --once",
		Short: "Drive the workspace to the declared resources, one pass",
		Long: `Run one level-triggered reconciliation pass over every declared resource:
create or update the datasets they declare, check dependencies, and write
each resource's status and events. A second pass over unchanged resources
changes nothing.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !once {
				return usagef("use --once for one pass; 'ipos serve' reconciles continuously")
			}
			c, err := openController(cmd.Context(), g)
			if err != nil {
				return err
			}
			defer c.Store.Close()
			return reconcileAndReport(cmd.Context(), g, c, nil)
		},
	}
	c.Flags().BoolVar(&once, "once", false, "run one pass and exit")
	return c
}

// openKind opens the controller for a command about one kind, as typed on
// the command line. The caller closes the store.
func openKind(ctx context.Context, g *globals, kindArg string) (*controller.Controller, string, error) {
	c, err := openController(ctx, g)
	if err != nil {
		return nil, "", err
	}
	kind, err := kindName(c.Reg, kindArg)
	if err != nil {
		c.Store.Close()
		return nil, "", err
	}
	return c, kind, nil
}

// kindName resolves a kind as typed on the command line: dataset,
// Datasets, DATASET …
func kindName(reg *resource.Registry, s string) (string, error) {
	for _, k := range reg.Kinds() {
		if strings.EqualFold(k, s) || strings.EqualFold(k+"s", s) {
			return k, nil
		}
	}
	return "", usagef("unknown kind %q; kinds: %s", s, strings.Join(reg.Kinds(), ", "))
}

func newGetCommand(g *globals) *cobra.Command {
	var output string
	c := &cobra.Command{
		Use:   "get KIND [NAME]",
		Short: "List declared resources with their status",
		Example: `  ipos get datasets
  ipos get depot warehouse -o yaml`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runGet(cmd.Context(), g, output, args)
		},
	}
	addOutputFlag(c, &output, "table", "table", "wide", "yaml", "json")
	return c
}

func runGet(ctx context.Context, g *globals, output string, args []string) error {
	c, kind, err := openKind(ctx, g, args[0])
	if err != nil {
		return err
	}
	defer c.Store.Close()
	var recs []resourcestore.Record
	if len(args) == 2 {
		r, err := c.Store.Get(ctx, kind, args[1])
		if err != nil {
			return err
		}
		recs = append(recs, r)
	} else if recs, err = c.Store.List(ctx, kind, nil); err != nil {
		return err
	}
	var objs []*resource.Object
	for _, r := range recs {
		o, err := c.Object(r)
		if err != nil {
			return err
		}
		objs = append(objs, o.Redacted())
	}
	switch output {
	case "yaml":
		for i, o := range objs {
			data, err := resource.MarshalYAML(o)
			if err != nil {
				return err
			}
			if i > 0 {
				io.WriteString(g.streams.Out, "---\n")
			}
			g.streams.Out.Write(data)
		}
		return nil
	case "json":
		var parts []string
		for _, o := range objs {
			data, err := resource.MarshalJSON(o)
			if err != nil {
				return err
			}
			parts = append(parts, strings.TrimSpace(string(data)))
		}
		_, err := fmt.Fprintf(g.streams.Out, "[%s]\n", strings.Join(parts, ",\n"))
		return err
	}
	if len(objs) == 0 {
		if !g.quiet {
			fmt.Fprintf(g.streams.Err, "No %s resources.\n", kind)
		}
		return nil
	}
	header := []string{"NAME", "READY", "REASON", "GENERATION", "AGE"}
	if output == "wide" {
		header = append(header, "MESSAGE")
	}
	t := newTable(g.streams.Out, header...)
	for i, o := range objs {
		ready, reason, message := "Unknown", "-", ""
		if o.Status != nil {
			for _, cond := range o.Status.Conditions {
				if cond.Type == "Ready" {
					ready, reason, message = string(cond.Status), cond.Reason, cond.Message
				}
			}
		}
		cells := []string{o.Metadata.Name, ready, reason, fmt.Sprint(o.Metadata.Generation), age(g.now(), recs[i].CreatedAt)}
		if output == "wide" {
			cells = append(cells, message)
		}
		t.row(cells...)
	}
	return t.flush()
}

func age(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

func newDescribeCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "describe KIND NAME",
		Short: "Show a resource: spec, status, conditions and recent events",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, kind, err := openKind(ctx, g, args[0])
			if err != nil {
				return err
			}
			defer c.Store.Close()
			r, err := c.Store.Get(ctx, kind, args[1])
			if err != nil {
				return err
			}
			o, err := c.Object(r)
			if err != nil {
				return err
			}
			data, err := resource.MarshalYAML(o.Redacted())
			if err != nil {
				return err
			}
			out := g.streams.Out
			fmt.Fprintf(out, "# %s, generation %d, resource version %d, created %s, updated %s\n",
				o.Ref(), r.Generation, r.ResourceVersion, r.CreatedAt.UTC().Format(time.RFC3339), r.UpdatedAt.UTC().Format(time.RFC3339))
			out.Write(data)
			deps, err := c.Dependents(ctx, o.Ref())
			if err != nil {
				return err
			}
			if len(deps) > 0 {
				fmt.Fprintln(out, "\nUsed by:")
				for _, d := range deps {
					fmt.Fprintf(out, "  %s\n", d)
				}
			}
			events, err := c.Store.Events(ctx, kind, args[1], 10)
			if err != nil {
				return err
			}
			fmt.Fprintln(out, "\nEvents:")
			if len(events) == 0 {
				fmt.Fprintln(out, "  <none>")
			}
			t := newTable(out, "  TIME", "TYPE", "REASON", "GENERATION", "MESSAGE")
			for _, e := range events {
				t.row("  "+e.Time.UTC().Format(time.RFC3339), e.Type, e.Reason, fmt.Sprint(e.Generation), e.Message)
			}
			if len(events) > 0 {
				return t.flush()
			}
			return nil
		},
	}
}

type deleteOptions struct {
	cascade bool
	purge   bool
}

func newDeleteCommand(g *globals) *cobra.Command {
	var opts deleteOptions
	c := &cobra.Command{
		Use:   "delete KIND NAME",
		Short: "Delete a declared resource",
		Long: `Delete a declared resource. A resource other resources depend on is not
deleted unless --cascade, which deletes them too. Deleting a Dataset keeps
its data (the ODF dataset stays in the workspace) unless --purge.`,
		Example: `  ipos delete depot warehouse --cascade
  ipos delete dataset scratch --purge`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDelete(cmd.Context(), g, opts, args[0], args[1])
		},
	}
	c.Flags().BoolVar(&opts.cascade, "cascade", false, "also delete the resources that depend on it")
	c.Flags().BoolVar(&opts.purge, "purge", false, "for Datasets: also delete the dataset's data and history")
	return c
}

func runDelete(ctx context.Context, g *globals, opts deleteOptions, kindArg, name string) error {
	c, kind, err := openKind(ctx, g, kindArg)
	if err != nil {
		return err
	}
	defer c.Store.Close()
	ref := resource.Ref{Kind: kind, Name: name}
	if _, err := c.Store.Get(ctx, kind, name); err != nil {
		return err
	}
	// Everything to delete, dependants first.
	var order []resource.Ref
	seen := map[resource.Ref]bool{}
	var collect func(r resource.Ref) error
	collect = func(r resource.Ref) error {
		if seen[r] {
			return nil
		}
		seen[r] = true
		deps, err := c.Dependents(ctx, r)
		if err != nil {
			return err
		}
		if len(deps) > 0 && !opts.cascade {
			names := make([]string, len(deps))
			for i, d := range deps {
				names[i] = d.String()
			}
			return fmt.Errorf("%s is used by %s; delete those first or use --cascade", r, strings.Join(names, ", "))
		}
		for _, d := range deps {
			if err := collect(d); err != nil {
				return err
			}
		}
		order = append(order, r)
		return nil
	}
	if err := collect(ref); err != nil {
		return err
	}
	refs := make([]string, len(order))
	for i, r := range order {
		refs[i] = r.String()
	}
	if err := g.authorize(ctx, c.W, policy.ActionDelete, refs...); err != nil {
		return err
	}
	for _, r := range order {
		if err := c.Store.Delete(ctx, r.Kind, r.Name, 0); err != nil && !errors.Is(err, resourcestore.ErrNotFound) {
			return err
		}
		msg := "deleted"
		if r.Kind == "Dataset" {
			if d, err := c.W.Dataset(ctx, r.Name); err == nil {
				if opts.purge {
					if err := c.W.PurgeDataset(ctx, d); err != nil {
						return err
					}
					msg = "deleted, data purged"
				} else {
					msg = "deleted (its data stays; --purge removes it)"
				}
			}
		}
		fmt.Fprintf(g.streams.Out, "%s %s\n", strings.ToLower(r.String()), msg)
		if err := g.audit(ctx, c.W, "resource.delete", r.String(), nil, map[string]string{"result": msg}); err != nil {
			return err
		}
	}
	return nil
}
