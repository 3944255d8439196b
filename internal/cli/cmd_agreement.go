package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ipos-dev/ipos/internal/compute"
	"github.com/ipos-dev/ipos/internal/identity"
	"github.com/ipos-dev/ipos/internal/policy"
	"github.com/ipos-dev/ipos/internal/resource"
	"github.com/ipos-dev/ipos/internal/workspace"
)

// computeEnv is what the compute commands work with: the workspace, its
// controller (with observers for Agreements and Jobs), the acting
// identity and the compute service.
type computeEnv struct {
	w     *workspace.Workspace
	svc   *compute.Service
	actor *identity.Identity
	close func()
}

func openCompute(ctx context.Context, g *globals) (*computeEnv, error) {
	w, err := g.openWorkspace()
	if err != nil {
		return nil, err
	}
	ctl, err := controllerFor(ctx, g, w)
	if err != nil {
		return nil, err
	}
	actor, err := g.actor(ctx, w)
	if err != nil {
		ctl.Store.Close()
		return nil, err
	}
	svc := compute.New(ctl, identities(w), auditLog(g, w))
	return &computeEnv{w: w, svc: svc, actor: actor, close: func() { ctl.Store.Close() }}, nil
}

// withCompute makes a command's RunE that opens the compute environment,
// runs f and closes it.
func withCompute(g *globals, f func(ctx context.Context, env *computeEnv, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		env, err := openCompute(cmd.Context(), g)
		if err != nil {
			return err
		}
		defer env.close()
		return f(cmd.Context(), env, args)
	}
}

func newAlgorithmCommand(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "algorithm",
		Short: "Add algorithms that run next to the data under agreements",
		Long: `An Algorithm is a WASI preview-1 module, kept in .ipos/algorithms by its
SHA-256 and checked on every run, or a SQL query. Agreements pin an
algorithm by that hash: a module that changes needs a new agreement.
List them with 'ipos get algorithms'.`,
		Args: cobra.NoArgs,
	}
	c.AddCommand(newAlgorithmAddCommand(g))
	return c
}

type algorithmAddOptions struct {
	name, description string
	args              []string
	sql               string
	output            string
}

func newAlgorithmAddCommand(g *globals) *cobra.Command {
	var opts algorithmAddOptions
	c := &cobra.Command{
		Use:   "add FILE.wasm | --sql QUERY",
		Short: "Store a Wasm module (or a SQL query) and declare it as an Algorithm",
		Long: `Store a WASI preview-1 module by content hash and apply an Algorithm
resource naming it, or declare a SQL algorithm with --sql. Arguments are
declared with --arg NAME, NAME=DEFAULT or NAME! (required); jobs pass them
to the module as --NAME=VALUE.`,
		Example: `  ipos algorithm add bin/algorithms/aggregate.wasm --name cohort-stats \
      --description "counts and means per group" --arg group-by! --arg value=age
  ipos algorithm add --name region-counts --sql "SELECT region, count(*) AS n FROM patients GROUP BY region"`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if (len(args) == 1) == (opts.sql != "") {
				return usagef("give a module file or --sql, one of the two")
			}
			if opts.name == "" {
				return usagef("--name is required")
			}
			return runAlgorithmAdd(cmd.Context(), g, opts, args)
		},
	}
	c.Flags().StringVar(&opts.name, "name", "", "the Algorithm's name")
	c.Flags().StringVar(&opts.description, "description", "", "what it computes")
	c.Flags().StringArrayVar(&opts.args, "arg", nil, "an argument it takes: NAME, NAME=DEFAULT or NAME! for a required one (repeatable)")
	c.Flags().StringVar(&opts.sql, "sql", "", "a SQL query over the inputs, each a table named after its dataset")
	addOutputFlag(c, &opts.output, "table", "table", "json", "yaml")
	return c
}

func runAlgorithmAdd(ctx context.Context, g *globals, opts algorithmAddOptions, args []string) error {
	env, err := openCompute(ctx, g)
	if err != nil {
		return err
	}
	defer env.close()
	if err := g.authorize(ctx, env.w, policy.ActionApply, "Algorithm/"+opts.name); err != nil {
		return err
	}
	spec := &resource.AlgorithmSpec{Description: opts.description, Author: env.actor.DID}
	for _, a := range opts.args {
		arg := resource.AlgorithmArgument{Name: a}
		if name, def, ok := strings.Cut(a, "="); ok {
			arg.Name, arg.Default = name, def
		} else if name, ok := strings.CutSuffix(a, "!"); ok {
			arg.Name, arg.Required = name, true
		}
		spec.Arguments = append(spec.Arguments, arg)
	}
	var hash string
	if opts.sql != "" {
		spec.SQL = &resource.SQLAlgorithm{Query: opts.sql}
		hash = compute.SQLHash(opts.sql)
	} else {
		data, err := os.ReadFile(args[0])
		if err != nil {
			return err
		}
		mod, err := env.svc.Modules.Add(data)
		if err != nil {
			return fmt.Errorf("%s: %w", args[0], err)
		}
		spec.Wasm = &resource.WasmModule{SHA256: mod.SHA256, Multihash: mod.Multihash, Size: mod.Size}
		hash = mod.SHA256
	}
	// Checked as a manifest would be: its canonical form, parsed.
	data, err := (&resource.Object{APIVersion: resource.APIVersion, Kind: "Algorithm", Metadata: resource.Metadata{Name: opts.name}, Spec: spec}).Canonical()
	if err != nil {
		return err
	}
	objs, err := env.svc.Ctl.Reg.Parse("algorithm "+opts.name, data)
	if err != nil {
		return err
	}
	changes, err := env.svc.Ctl.Apply(ctx, objs, false)
	if err := errors.Join(err, g.audit(ctx, env.w, "algorithm.add", "Algorithm/"+opts.name, err, map[string]string{"sha256": hash})); err != nil {
		return err
	}
	view := map[string]string{"name": opts.name, "sha256": hash, "action": changes[0].Action}
	if spec.Wasm != nil {
		view["multihash"], view["size"] = spec.Wasm.Multihash, fmt.Sprint(spec.Wasm.Size)
	}
	if opts.output != "table" {
		return printStructured(g.streams.Out, opts.output, view)
	}
	fmt.Fprintf(g.streams.Out, "Algorithm/%s %s\n  sha256: %s\n", opts.name, changes[0].Action, hash)
	if spec.Wasm != nil {
		fmt.Fprintf(g.streams.Out, "  multihash: %s\n  size: %d bytes\n", spec.Wasm.Multihash, spec.Wasm.Size)
	}
	return nil
}

func newAgreementCommand(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "agreement",
		Short: "Propose, approve, revoke and show data-usage agreements",
		Long: `An Agreement lets one consumer run one algorithm (pinned by hash) over some
datasets, within limits, with output rules and a price. The consumer
proposes it; it becomes active when every required party has signed its
exact terms: the consumer, the owner of each input dataset (the Dataset's
metadata.owner, else the workspace owner) and any spec.signers. Any change
to the terms, the algorithm's hash included, voids the approvals given.

States: Proposed → Approved → Active → Exhausted | Expired | Revoked.`,
		Args: cobra.NoArgs,
	}
	c.AddCommand(newAgreementProposeCommand(g), newAgreementApproveCommand(g), newAgreementRevokeCommand(g), newAgreementShowCommand(g))
	return c
}

func newAgreementProposeCommand(g *globals) *cobra.Command {
	var file, output string
	c := &cobra.Command{
		Use:     "propose -f FILE",
		Short:   "Propose an agreement as its consumer, signing its terms",
		Example: `  ipos --as analyst agreement propose -f examples/compute/agreement.yaml`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if file == "" {
				return usagef("-f FILE is required")
			}
			return runAgreementPropose(cmd.Context(), g, file, output)
		},
	}
	c.Flags().StringVarP(&file, "filename", "f", "", "an Agreement manifest (YAML or JSON; - for stdin)")
	addOutputFlag(c, &output, "table", "table", "json", "yaml")
	return c
}

func runAgreementPropose(ctx context.Context, g *globals, file, output string) error {
	env, err := openCompute(ctx, g)
	if err != nil {
		return err
	}
	defer env.close()
	objs, err := readManifests(g, resource.DefaultRegistry(), []string{file}, false)
	if err != nil {
		return err
	}
	if len(objs) != 1 || objs[0].Kind != "Agreement" {
		return fmt.Errorf("%s: want exactly one Agreement", file)
	}
	st, err := env.svc.Propose(ctx, env.actor, objs[0])
	if err != nil {
		return err
	}
	return printStanding(g, output, st)
}

func newAgreementApproveCommand(g *globals) *cobra.Command {
	var output string
	c := &cobra.Command{
		Use:     "approve NAME",
		Short:   "Sign an agreement's current terms as one of its parties",
		Example: `  ipos --as owner agreement approve cohort-study`,
		Args:    cobra.ExactArgs(1),
		RunE: withCompute(g, func(ctx context.Context, env *computeEnv, args []string) error {
			if err := g.authorize(ctx, env.w, policy.ActionApprove, "Agreement/"+args[0]); err != nil {
				return err
			}
			st, err := env.svc.Approve(ctx, env.actor, args[0])
			if err != nil {
				return err
			}
			return printStanding(g, output, st)
		}),
	}
	addOutputFlag(c, &output, "table", "table", "json", "yaml")
	return c
}

func newAgreementRevokeCommand(g *globals) *cobra.Command {
	var reason, output string
	c := &cobra.Command{
		Use:   "revoke NAME",
		Short: "End an agreement for good (any party may)",
		Args:  cobra.ExactArgs(1),
		RunE: withCompute(g, func(ctx context.Context, env *computeEnv, args []string) error {
			st, err := env.svc.Revoke(ctx, env.actor, args[0], reason)
			if err != nil {
				return err
			}
			return printStanding(g, output, st)
		}),
	}
	c.Flags().StringVar(&reason, "reason", "", "why, for the record")
	addOutputFlag(c, &output, "table", "table", "json", "yaml")
	return c
}

func newAgreementShowCommand(g *globals) *cobra.Command {
	var output string
	c := &cobra.Command{
		Use:   "show NAME",
		Short: "Show an agreement's state, parties and signatures",
		Args:  cobra.ExactArgs(1),
		RunE: withCompute(g, func(ctx context.Context, env *computeEnv, args []string) error {
			st, err := env.svc.Standing(ctx, args[0])
			if err != nil {
				return err
			}
			return printStanding(g, output, st)
		}),
	}
	addOutputFlag(c, &output, "table", "table", "json", "yaml")
	return c
}

func printStanding(g *globals, output string, st compute.Standing) error {
	if output != "table" {
		return printStructured(g.streams.Out, output, st)
	}
	out := g.streams.Out
	fmt.Fprintf(out, "Agreement/%s: %s\n", st.Name, st.State)
	if st.Reason != "" {
		fmt.Fprintf(out, "  %s\n", st.Reason)
	}
	fmt.Fprintf(out, "  terms: %s\n", st.SpecHash)
	runs := "unlimited"
	if st.RunsLeft >= 0 {
		runs = fmt.Sprint(st.RunsLeft)
	}
	fmt.Fprintf(out, "  runs used: %d, left: %s\n", st.RunsUsed, runs)
	if !st.Expires.IsZero() {
		fmt.Fprintf(out, "  expires: %s\n", st.Expires.Format(time.RFC3339))
	}
	t := newTable(out, "PARTY", "ROLES", "SIGNED", "DID")
	for _, p := range st.Parties {
		signed := "no"
		if p.Signed {
			signed = p.Time.Format(time.RFC3339)
		}
		t.row(p.Name, strings.Join(p.Roles, ","), signed, p.DID)
	}
	return t.flush()
}

func newLedgerCommand(g *globals) *cobra.Command {
	var output string
	var all bool
	c := &cobra.Command{
		Use:   "ledger",
		Short: "Show the settlement ledger: what consumers paid data owners for jobs",
		Long: `Every job that runs is metered (wall time, memory, bytes) and priced by
its agreement; the consumer is debited and the owners of the inputs
credited in equal shares. The ledger is .ipos/ledger.jsonl.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			w, err := g.openWorkspace()
			if err != nil {
				return err
			}
			ps, err := compute.LedgerOf(w).Postings()
			if err != nil {
				return err
			}
			bal := compute.Balances(ps)
			if output != "table" {
				return printStructured(g.streams.Out, output, map[string]any{"balances": bal, "postings": ps})
			}
			if len(ps) == 0 {
				fmt.Fprintln(g.streams.Out, "The ledger is empty: no job has been charged yet.")
				return nil
			}
			t := newTable(g.streams.Out, "ACCOUNT", "BALANCE", "CURRENCY", "DID")
			for _, b := range bal {
				t.row(b.Name, fmt.Sprintf("%+.2f", b.Amount), b.Currency, b.Account)
			}
			if err := t.flush(); err != nil {
				return err
			}
			if all {
				fmt.Fprintln(g.streams.Out)
				t = newTable(g.streams.Out, "TIME", "JOB", "ACCOUNT", "AMOUNT", "MEMO")
				for _, p := range ps {
					t.row(p.Time.Format(time.RFC3339), p.Job, p.Name, fmt.Sprintf("%+.2f %s", p.Amount(), p.Currency), p.Memo)
				}
				return t.flush()
			}
			return nil
		},
	}
	c.Flags().BoolVar(&all, "postings", false, "list every posting, not only the balances")
	addOutputFlag(c, &output, "table", "table", "json", "yaml")
	return c
}
