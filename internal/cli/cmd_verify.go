package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ipos-dev/ipos/internal/dataset"
)

type verifyOptions struct {
	integrity bool
	all       bool
	output    string
}

func newVerifyCommand(g *globals) *cobra.Command {
	var opts verifyOptions
	c := &cobra.Command{
		Use:   "verify NAME... | --all",
		Short: "Check that datasets are what their metadata chains say",
		Long: `Check datasets byte for byte. With --integrity (the only mode so far) verify
walks each chain from refs/head to the Seed: it checks every block's hash,
previous link and sequence number, replays the chain's append rules, and
hashes every data file and checkpoint against the hash its block recorded.
The first fault is reported with the object (block, data file, checkpoint or
refs/head) and what is wrong, and the command exits with status 3.`,
		Example: `  ipos verify --integrity sales
  ipos verify --integrity --all`,
		Args: namesOrAll(&opts.all),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runVerify(cmd.Context(), g, opts, args)
		},
	}
	c.Flags().BoolVar(&opts.integrity, "integrity", false, "check hashes and links only (replaying transforms comes with derivative datasets)")
	c.Flags().BoolVarP(&opts.all, "all", "a", false, "verify every dataset of the workspace")
	addOutputFlag(c, &opts.output, "text", "text", "json", "yaml")
	return c
}

type verifyResult struct {
	Dataset     string `json:"dataset" yaml:"dataset"`
	OK          bool   `json:"ok" yaml:"ok"`
	Head        string `json:"head,omitempty" yaml:"head,omitempty"`
	Blocks      int    `json:"blocks" yaml:"blocks"`
	DataFiles   int    `json:"dataFiles" yaml:"dataFiles"`
	Checkpoints int    `json:"checkpoints" yaml:"checkpoints"`
	DataBytes   int64  `json:"dataBytes" yaml:"dataBytes"`
	Object      string `json:"object,omitempty" yaml:"object,omitempty"`
	Problem     string `json:"problem,omitempty" yaml:"problem,omitempty"`
}

func runVerify(ctx context.Context, g *globals, opts verifyOptions, names []string) error {
	if !opts.integrity {
		return usagef("only --integrity verification exists so far; replaying transforms (--reproduce) comes with derivative datasets")
	}
	w, err := g.openWorkspace()
	if err != nil {
		return err
	}
	var sets []*dataset.Dataset
	if opts.all {
		if sets, err = w.Datasets(ctx); err != nil {
			return err
		}
	} else {
		for _, n := range names {
			d, err := w.Dataset(ctx, n)
			if err != nil {
				return err
			}
			sets = append(sets, d)
		}
	}
	var results []verifyResult
	faults := 0
	for _, d := range sets {
		prog := newProgress(g, "verifying "+d.Alias, "blocks")
		rep, err := d.VerifyIntegrity(ctx, prog.update)
		prog.done()
		r := verifyResult{Dataset: d.Alias}
		var ie *dataset.IntegrityError
		switch {
		case err == nil:
			r.OK, r.Head, r.Blocks, r.DataFiles, r.Checkpoints, r.DataBytes = true, rep.Head.String(), rep.Blocks, rep.DataFiles, rep.Checkpoints, rep.DataBytes
		case errors.As(err, &ie):
			r.Object, r.Problem = ie.Object, ie.Error()
			faults++
		default:
			return err
		}
		results = append(results, r)
		if opts.output == "text" {
			if r.OK {
				fmt.Fprintf(g.streams.Out, "%s: ok (%d blocks, %d data files, %d checkpoints, %d bytes of data; head %s)\n",
					r.Dataset, r.Blocks, r.DataFiles, r.Checkpoints, r.DataBytes, r.Head)
			} else {
				fmt.Fprintf(g.streams.Out, "%s: FAILED: %s\n", r.Dataset, r.Problem)
			}
		}
	}
	if opts.output != "text" {
		if err := printStructured(g.streams.Out, opts.output, results); err != nil {
			return err
		}
	}
	if faults > 0 {
		return faultError{fmt.Errorf("verification failed: %d of %d datasets have a fault (see above)", faults, len(sets))}
	}
	return nil
}
