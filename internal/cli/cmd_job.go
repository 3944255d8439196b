package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ipos-dev/ipos/internal/compute"
	"github.com/ipos-dev/ipos/internal/policy"
	"github.com/ipos-dev/ipos/internal/sandbox"
)

func newJobCommand(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "job",
		Short: "Run an agreement's algorithm next to the data and get its gated outputs",
		Long: `A job runs an active agreement's algorithm over the inputs its consumer may
see (policies applied), in a Wasm sandbox with no network, a fixed clock,
a memory cap, a deadline and a jailed file system: inputs read-only at
/data/inputs/<dataset>/ (data.csv, data.parquet), their metadata at
/data/ddos/<dataset>.json, outputs written to /data/outputs and logs to
/data/logs. The output gate then checks sizes and file types, suppresses
counts below the agreement's k and refuses raw input rows. A released run
gets a signed receipt; the same invocation later is answered from it.
Every step is in the audit log; each run is charged in 'ipos ledger'.
List jobs with 'ipos get jobs'.`,
		Args: cobra.NoArgs,
	}
	c.AddCommand(newJobRunCommand(g), newJobShowCommand(g), newJobOutputCommand(g), newJobReviewCommand(g, true), newJobReviewCommand(g, false))
	return c
}

type jobRunOptions struct {
	args    []string
	noCache bool
	out     string
	output  string
}

func newJobRunCommand(g *globals) *cobra.Command {
	var opts jobRunOptions
	c := &cobra.Command{
		Use:   "run AGREEMENT",
		Short: "Run an agreement's algorithm as its consumer",
		Example: `  ipos --as analyst job run cohort-study --arg group-by=region
  ipos --as analyst job run cohort-study --arg group-by=region --out results/`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runJob(cmd.Context(), g, opts, args[0])
		},
	}
	c.Flags().StringArrayVar(&opts.args, "arg", nil, "an argument NAME=VALUE for the algorithm (repeatable)")
	c.Flags().BoolVar(&opts.noCache, "no-cache", false, "run even when a receipt answers the same invocation")
	c.Flags().StringVar(&opts.out, "out", "", "write the released outputs into this folder")
	addOutputFlag(c, &opts.output, "table", "table", "json", "yaml")
	return c
}

func runJob(ctx context.Context, g *globals, opts jobRunOptions, agreement string) error {
	args := map[string]string{}
	for _, a := range opts.args {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return usagef("--arg %q: want NAME=VALUE", a)
		}
		args[k] = v
	}
	env, err := openCompute(ctx, g)
	if err != nil {
		return err
	}
	defer env.close()
	if err := g.authorize(ctx, env.w, policy.ActionRunJob, "Agreement/"+agreement); err != nil {
		return err
	}
	eng := sandbox.NewEngine()
	defer eng.Close(ctx)
	r := &compute.Runner{
		Service: env.svc, Inputs: jobInputs{g: g, w: env.w}, SQL: sqlAlgorithms{},
		Sandbox: eng, CacheDir: filepath.Join(env.w.Dir(), "cache", "wasm"),
	}
	rec, err := r.Run(ctx, env.actor, compute.RunOptions{Agreement: agreement, Arguments: args, NoCache: opts.noCache})
	if err != nil {
		return err
	}
	if err := printJob(g, opts.output, rec); err != nil {
		return err
	}
	switch rec.Phase {
	case compute.Succeeded:
		if opts.out != "" {
			return writeOutputs(ctx, g, env.svc, rec, opts.out)
		}
		return nil
	case compute.AwaitingReview:
		return nil
	}
	return fmt.Errorf("job %s %s: %s", rec.Name, strings.ToLower(string(rec.Phase)), strings.Join(rec.Reasons, "; "))
}

func printJob(g *globals, output string, rec *compute.JobRecord) error {
	if output != "table" {
		return printStructured(g.streams.Out, output, rec)
	}
	out := g.streams.Out
	state := string(rec.Phase)
	if rec.Cached {
		state += " (answered from its receipt, not run again)"
	}
	fmt.Fprintf(out, "Job/%s: %s\n", rec.Name, state)
	fmt.Fprintf(out, "  agreement: %s, consumer: %s\n", rec.Agreement, rec.Consumer)
	if len(rec.Arguments) > 0 {
		var kv []string
		for k, v := range rec.Arguments {
			kv = append(kv, k+"="+v)
		}
		sort.Strings(kv)
		fmt.Fprintf(out, "  arguments: %s\n", strings.Join(kv, " "))
	}
	for _, in := range rec.Inputs {
		line := fmt.Sprintf("  input %s: %d rows", in.Dataset, in.Rows)
		if len(in.Masked) > 0 {
			line += ", masked: " + strings.Join(in.Masked, ",")
		}
		if in.Filtered {
			line += ", rows filtered"
		}
		fmt.Fprintln(out, line)
	}
	if rec.Invocation != "" {
		fmt.Fprintf(out, "  invocation: %s\n", rec.Invocation)
	}
	if rec.Receipt != "" {
		fmt.Fprintf(out, "  receipt: %s\n", rec.Receipt)
	}
	if rec.WallTime != "" {
		fmt.Fprintf(out, "  resources: %s wall, %d KiB peak memory, %d bytes read, %d written\n", rec.WallTime, rec.PeakMemory>>10, rec.BytesRead, rec.BytesOut)
	}
	if rec.Charged != 0 {
		fmt.Fprintf(out, "  charged: %.2f %s\n", rec.Charged, rec.Currency)
	}
	for _, r := range rec.Reasons {
		fmt.Fprintf(out, "  - %s\n", r)
	}
	for _, o := range rec.Outputs {
		fmt.Fprintf(out, "  output %s (%d bytes) %s\n", o.Name, o.Size, o.Hash)
	}
	return nil
}

func writeOutputs(ctx context.Context, g *globals, svc *compute.Service, rec *compute.JobRecord, dir string) error {
	files, err := svc.Files(ctx, rec)
	if err != nil {
		return err
	}
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if !strings.HasPrefix(p, filepath.Clean(dir)+string(filepath.Separator)) {
			return fmt.Errorf("output %q would land outside %s", name, dir)
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
		if !g.quiet {
			fmt.Fprintf(g.streams.Err, "wrote %s\n", p)
		}
	}
	return nil
}

func newJobShowCommand(g *globals) *cobra.Command {
	var output string
	c := &cobra.Command{
		Use:   "show JOB",
		Short: "Show a job: phase, inputs, receipt, resources, gate notes",
		Args:  cobra.ExactArgs(1),
		RunE: withCompute(g, func(ctx context.Context, env *computeEnv, args []string) error {
			rec, err := env.svc.Job(args[0])
			if err != nil {
				return err
			}
			return printJob(g, output, rec)
		}),
	}
	addOutputFlag(c, &output, "table", "table", "json", "yaml")
	return c
}

func newJobOutputCommand(g *globals) *cobra.Command {
	var out string
	c := &cobra.Command{
		Use:   "output JOB [FILE]",
		Short: "Print a released output (or write them all with --out)",
		Args:  cobra.RangeArgs(1, 2),
		RunE: withCompute(g, func(ctx context.Context, env *computeEnv, args []string) error {
			rec, err := env.svc.Job(args[0])
			if err != nil {
				return err
			}
			if out != "" {
				return writeOutputs(ctx, g, env.svc, rec, out)
			}
			files, err := env.svc.Files(ctx, rec)
			if err != nil {
				return err
			}
			name := ""
			switch {
			case len(args) == 2:
				name = args[1]
			case len(files) == 1:
				for n := range files {
					name = n
				}
			default:
				var names []string
				for n := range files {
					names = append(names, n)
				}
				sort.Strings(names)
				return usagef("job %s released %d files (%s): name one, or use --out DIR", rec.Name, len(files), strings.Join(names, ", "))
			}
			data, ok := files[name]
			if !ok {
				return fmt.Errorf("job %s released no file %q", rec.Name, name)
			}
			_, err = g.streams.Out.Write(data)
			return err
		}),
	}
	c.Flags().StringVar(&out, "out", "", "write every released output into this folder")
	return c
}

func newJobReviewCommand(g *globals, release bool) *cobra.Command {
	use, short := "release JOB", "Release a job's held outputs, as its reviewer"
	if !release {
		use, short = "reject JOB", "Refuse a job's held outputs, as its reviewer"
	}
	var reason string
	c := &cobra.Command{
		Use:   use,
		Short: short,
		Long: short + `. Agreements with output.review hold every release until a second
identity reviews it: the agreement's reviewer, else an owner of an input;
never the consumer. A review is an approve action on the job's agreement
(Agreement/NAME), so the policies decide it too.`,
		Args: cobra.ExactArgs(1),
		RunE: withCompute(g, func(ctx context.Context, env *computeEnv, args []string) error {
			job, err := env.svc.Job(args[0])
			if err != nil {
				return err
			}
			if err := g.authorize(ctx, env.w, policy.ActionApprove, "Agreement/"+job.Agreement); err != nil {
				return err
			}
			rec, err := env.svc.Review(ctx, env.actor, args[0], release, reason)
			if err != nil {
				return err
			}
			return printJob(g, "table", rec)
		}),
	}
	if !release {
		c.Flags().StringVar(&reason, "reason", "", "why, for the consumer and the record")
	}
	return c
}
