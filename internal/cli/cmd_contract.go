package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ipos-dev/ipos/internal/chain"
	"github.com/ipos-dev/ipos/internal/contract"
	"github.com/ipos-dev/ipos/internal/controller"
	"github.com/ipos-dev/ipos/internal/engine"
	"github.com/ipos-dev/ipos/internal/odf"
	"github.com/ipos-dev/ipos/internal/resource"
	"github.com/ipos-dev/ipos/internal/workspace"
)

// contractSamples is how many offending rows a report keeps per rule.
const contractSamples = 5

// quarantineDir is where refused batches go.
func quarantineDir(w *workspace.Workspace) string { return filepath.Join(w.Dir(), "quarantine") }

// contractGate checks every commit to a dataset against the Contracts
// declared for it: a refused batch is quarantined, and every violation is
// recorded as events of the Contract and the Dataset. A workspace with no
// resource store has no contracts, and nothing is opened for it.
func contractGate(g *globals, w *workspace.Workspace) contract.Gate {
	return func(ctx context.Context, b contract.Batch) (*contract.Report, error) {
		if _, err := os.Stat(filepath.Join(w.Dir(), "state.db")); errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		c, err := controllerFor(ctx, g, w)
		if err != nil {
			return nil, err
		}
		defer c.Store.Close()
		objs, err := c.Contracts(ctx, b.Dataset)
		if err != nil || len(objs) == 0 {
			return nil, err
		}
		check := func(ctx context.Context, b contract.Batch) (*contract.Report, error) {
			plans, err := compileContracts(objs, b.System)
			if err != nil {
				return nil, err
			}
			return engine.CheckContract(ctx, contractEngineConfig(w), engine.ContractRequest{
				Plans: plans, Slice: []string{b.Slice}, Prev: b.Prev, Schema: b.Schema, System: b.System,
				Now: g.now(), Samples: contractSamples, Dataset: b.Dataset, Source: b.Source,
			})
		}
		rep, err := contract.Enforce(check, contract.Quarantine{Dir: quarantineDir(w), Now: g.now})(ctx, b)
		if rep != nil {
			if rerr := c.RecordContractReport(ctx, rep); rerr != nil {
				fmt.Fprintf(g.streams.Err, "ipos: %s: recording contract violations: %v\n", b.Dataset, rerr)
			}
		}
		return rep, err
	}
}

func contractEngineConfig(w *workspace.Workspace) engine.Config {
	cfg := engine.DefaultConfig()
	cfg.TempDir = filepath.Join(w.Dir(), "tmp")
	return cfg
}

func compileContracts(objs []*resource.Object, sys contract.SystemColumns) ([]*contract.Plan, error) {
	var plans []*contract.Plan
	for _, o := range objs {
		p, err := contract.Compile(o.Metadata.Name, o.Spec.(*resource.ContractSpec), sys)
		if err != nil {
			return nil, err
		}
		plans = append(plans, p)
	}
	return plans, nil
}

// printContractWarnings prints a committed batch's warnings.
func printContractWarnings(g *globals, rep *contract.Report) {
	if v := rep.Violations(""); len(v) > 0 {
		fmt.Fprintf(g.streams.Err, "%s: committed with %d contract warning(s):\n%s", rep.Dataset, len(v), rep.Summary(""))
	}
}

func newContractCommand(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "contract",
		Short: "Data contracts: test datasets, diff versions, import and export ODCS",
		Long: `A Contract (kind: Contract) binds a dataset to a schema, quality rules and a
freshness SLA. Every ingest and transform commit is checked against it
before the head moves: an error-severity violation commits nothing and keeps
the batch with its report in .ipos/quarantine/<dataset>/; a warning commits
and is recorded in the Contract's and the Dataset's events.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	c.AddCommand(newContractTestCommand(g), newContractDiffCommand(g), newContractImportCommand(g),
		newContractExportCommand(g), newContractQuarantineCommand(g))
	return c
}

func newContractTestCommand(g *globals) *cobra.Command {
	var output string
	c := &cobra.Command{
		Use:   "test NAME",
		Short: "Check a whole dataset against a declared Contract",
		Long: `Check every row of the contract's dataset, and its schema and freshness,
against the Contract NAME. Every rule reads the whole dataset. Exit status 3
when an error-severity rule fails; warnings alone exit 0.`,
		Example: `  ipos contract test weather-daily
  ipos contract test weather-daily -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runContractTest(cmd.Context(), g, output, args[0])
		},
	}
	addOutputFlag(c, &output, "table", "table", "json", "yaml")
	return c
}

// loadContract reads a declared Contract.
func loadContract(ctx context.Context, c *controller.Controller, name string) (*resource.Object, *resource.ContractSpec, error) {
	rec, err := c.Store.Get(ctx, "Contract", name)
	if err != nil {
		return nil, nil, err
	}
	o, err := c.Object(rec)
	if err != nil {
		return nil, nil, err
	}
	return o, o.Spec.(*resource.ContractSpec), nil
}

func runContractTest(ctx context.Context, g *globals, output, name string) error {
	c, err := openController(ctx, g)
	if err != nil {
		return err
	}
	defer c.Store.Close()
	o, spec, err := loadContract(ctx, c, name)
	if err != nil {
		return err
	}
	d, err := c.W.Dataset(ctx, spec.Dataset)
	if err != nil {
		return fmt.Errorf("contract %s: %w", name, err)
	}
	st, err := d.Chain.LoadState(ctx)
	if err != nil && !errors.Is(err, chain.ErrEmpty) {
		return err
	}
	sys := contract.DefaultSystemColumns()
	var schema *odf.DataSchema
	if st != nil {
		sys = contract.SystemColumns(engine.VocabFrom(st.Vocab()))
		if ev, ok := st.Latest["SetDataSchema"].(odf.SetDataSchema); ok {
			schema = ev.Schema
		}
	}
	files, err := d.DataFiles(ctx)
	if err != nil {
		return err
	}
	plans, err := compileContracts([]*resource.Object{o}, sys)
	if err != nil {
		return err
	}
	rep, err := engine.CheckContract(ctx, contractEngineConfig(c.W), engine.ContractRequest{
		Plans: plans, Prev: files, Schema: schema, System: sys, Now: g.now(), Samples: contractSamples, Dataset: d.Alias,
	})
	if err != nil {
		return err
	}
	if output != "table" {
		if err := printStructured(g.streams.Out, output, rep); err != nil {
			return err
		}
	} else if err := printReport(g, rep); err != nil {
		return err
	}
	if rep.Rejected() {
		return faultError{fmt.Errorf("%s does not keep contract %s: %d error violation(s)", d.Alias, name, len(rep.Violations(contract.SeverityError)))}
	}
	return nil
}

// printReport prints a report as a table of rules, then the samples of
// the failed ones.
func printReport(g *globals, rep *contract.Report) error {
	out := g.streams.Out
	fmt.Fprintf(out, "%s: %d rows checked against %s\n", rep.Dataset, rep.DatasetRows, strings.Join(rep.Contracts, ", "))
	t := newTable(out, "RULE", "SEVERITY", "SCOPE", "OBSERVED", "EXPECTED", "RESULT")
	for _, r := range rep.Results {
		obs := "-"
		if r.Observed != nil {
			obs = strings.TrimSuffix(fmt.Sprintf("%.6g %s", *r.Observed, unitSuffix(r.Unit)), " ")
			if r.Unit == "seconds" {
				obs = time.Duration(*r.Observed * float64(time.Second)).Round(time.Second).String()
			}
		}
		res := "ok"
		if !r.Passed {
			res = "FAIL"
			if r.Severity == contract.SeverityWarning {
				res = "WARN"
			}
		}
		if r.Message != "" && !r.Passed {
			res += ": " + r.Message
		}
		t.row(r.Rule, string(r.Severity), string(r.Scope), obs, r.Expected, res)
	}
	if err := t.flush(); err != nil {
		return err
	}
	for _, r := range rep.Results {
		if len(r.Samples) == 0 {
			continue
		}
		fmt.Fprintf(out, "\nSample rows failing %s:\n", r.Rule)
		for _, s := range r.Samples {
			data, err := json.Marshal(s)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "  %s\n", data)
		}
	}
	return nil
}

func unitSuffix(u string) string {
	switch u {
	case "percent":
		return "%"
	case "seconds":
		return "s"
	}
	return ""
}

func newContractDiffCommand(g *globals) *cobra.Command {
	var output string
	c := &cobra.Command{
		Use:   "diff OLD NEW",
		Short: "Classify the changes between two contracts as breaking or not",
		Long: `Compare two versions of a contract, each a manifest file or the name of a
declared Contract, and say of each change whether it is breaking (a column
removed or renamed, a type narrowed, a column made required, allowed values
shrunk, a rule added or tightened …) or compatible. Exit status 3 when a
change is breaking and NEW keeps OLD's major version: what 'ipos apply'
refuses.`,
		Example: `  ipos contract diff weather-daily contracts/weather-daily.yaml`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runContractDiff(cmd.Context(), g, output, args[0], args[1])
		},
	}
	addOutputFlag(c, &output, "text", "text", "json", "yaml")
	return c
}

// contractArg reads a contract named on the command line: a manifest file
// when one exists at that path, else a declared Contract.
func contractArg(ctx context.Context, g *globals, arg string) (string, *resource.ContractSpec, error) {
	if data, err := os.ReadFile(arg); err == nil {
		objs, err := resource.DefaultRegistry().Parse(arg, data)
		if err != nil {
			return "", nil, err
		}
		for _, o := range objs {
			if s, ok := o.Spec.(*resource.ContractSpec); ok {
				return o.Metadata.Name, s, nil
			}
		}
		return "", nil, fmt.Errorf("%s holds no Contract", arg)
	}
	c, err := openController(ctx, g)
	if err != nil {
		return "", nil, err
	}
	defer c.Store.Close()
	o, spec, err := loadContract(ctx, c, arg)
	if err != nil {
		return "", nil, fmt.Errorf("%s is neither a file nor a declared contract: %w", arg, err)
	}
	return o.Metadata.Name, spec, nil
}

func runContractDiff(ctx context.Context, g *globals, output, oldArg, newArg string) error {
	_, oldSpec, err := contractArg(ctx, g, oldArg)
	if err != nil {
		return err
	}
	_, newSpec, err := contractArg(ctx, g, newArg)
	if err != nil {
		return err
	}
	d := contract.Diff(oldSpec, newSpec)
	if output != "text" {
		if err := printStructured(g.streams.Out, output, d); err != nil {
			return err
		}
	} else {
		for _, ch := range d.Changes {
			fmt.Fprintln(g.streams.Out, ch.String())
		}
		switch n := len(d.Breaking()); {
		case len(d.Changes) == 0:
			fmt.Fprintln(g.streams.Out, "no changes")
		case n == 0:
			fmt.Fprintf(g.streams.Out, "verdict: compatible (%s → %s)\n", d.OldVersion, d.NewVersion)
		case d.NeedsMajor(oldSpec, newSpec):
			fmt.Fprintf(g.streams.Out, "verdict: breaking; %s → %s keeps the major version: give it %d.0.0\n", d.OldVersion, d.NewVersion, oldSpec.Major()+1)
		default:
			fmt.Fprintf(g.streams.Out, "verdict: breaking, with a new major version (%s → %s)\n", d.OldVersion, d.NewVersion)
		}
	}
	if d.NeedsMajor(oldSpec, newSpec) {
		return faultError{fmt.Errorf("%d breaking change(s) without a new major version", len(d.Breaking()))}
	}
	return nil
}

func newContractImportCommand(g *globals) *cobra.Command {
	var output string
	c := &cobra.Command{
		Use:   "import FILE",
		Short: "Print an ODCS v3 data contract as an IPOS Contract manifest",
		Long: `Read an Open Data Contract Standard v3 document (one schema object: the
dataset, named by its physicalName) and print the Contract manifest it
becomes, ready for 'ipos apply -f -'. What IPOS cannot check (custom engine
rules, several schema objects) is refused, not dropped.`,
		Example: `  ipos contract import orders.odcs.yaml | ipos apply -f -`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			o, err := contract.ImportODCS(args[0], data)
			if err != nil {
				return err
			}
			var out []byte
			if output == "json" {
				out, err = resource.MarshalJSON(o)
			} else {
				out, err = resource.MarshalYAML(o)
			}
			if err != nil {
				return err
			}
			_, err = g.streams.Out.Write(out)
			return err
		},
	}
	addOutputFlag(c, &output, "yaml", "yaml", "json")
	return c
}

func newContractExportCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "export NAME|FILE",
		Short: "Print a Contract as an ODCS v3 data contract",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, spec, err := contractArg(cmd.Context(), g, args[0])
			if err != nil {
				return err
			}
			data, err := contract.ExportODCS(name, spec)
			if err != nil {
				return err
			}
			_, err = g.streams.Out.Write(data)
			return err
		},
	}
}

func newContractQuarantineCommand(g *globals) *cobra.Command {
	var output string
	c := &cobra.Command{
		Use:   "quarantine [DATASET]",
		Short: "List batches that contracts refused, with their reports",
		Long: `List the batches that contracts refused, oldest first: each folder under
.ipos/quarantine/<dataset>/ holds the refused slice (slice.parquet) and its
report (report.json).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			w, err := g.openWorkspace()
			if err != nil {
				return err
			}
			ds := ""
			if len(args) == 1 {
				ds = args[0]
			}
			entries, err := contract.Quarantine{Dir: quarantineDir(w)}.List(ds)
			if err != nil {
				return err
			}
			if output != "table" {
				var reps []*contract.Report
				for _, e := range entries {
					if e.Report != nil {
						e.Report.Quarantine = e.Dir
					}
					reps = append(reps, e.Report)
				}
				return printStructured(g.streams.Out, output, reps)
			}
			if len(entries) == 0 {
				if !g.quiet {
					fmt.Fprintln(g.streams.Err, "No quarantined batches.")
				}
				return nil
			}
			t := newTable(g.streams.Out, "DATASET", "BATCH", "SOURCE", "ROWS", "VIOLATIONS", "FOLDER")
			for _, e := range entries {
				rel, err := filepath.Rel(w.Root, e.Dir)
				if err != nil {
					rel = e.Dir
				}
				if e.Report == nil {
					t.row(filepath.Base(filepath.Dir(e.Dir)), filepath.Base(e.Dir), "-", "-", "unreadable report.json", rel)
					continue
				}
				var rules []string
				for _, v := range e.Report.Violations(contract.SeverityError) {
					rules = append(rules, v.Rule)
				}
				sort.Strings(rules)
				t.row(e.Report.Dataset, filepath.Base(e.Dir), orDash(e.Report.Source), fmt.Sprint(e.Report.SliceRows), strings.Join(rules, ", "), rel)
			}
			return t.flush()
		},
	}
	addOutputFlag(c, &output, "table", "table", "json", "yaml")
	return c
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
