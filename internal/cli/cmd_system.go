package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/ipos-dev/ipos/internal/dataset"
	"github.com/ipos-dev/ipos/internal/odf"
	"github.com/ipos-dev/ipos/internal/store"
)

func newSystemCommand(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "system",
		Short: "Low-level tools: decode blocks",
	}
	c.AddCommand(newDecodeCommand(g))
	return c
}

type decodeOptions struct {
	dataset string
	output  string
}

func newDecodeCommand(g *globals) *cobra.Command {
	var opts decodeOptions
	c := &cobra.Command{
		Use:   "decode FILE|HASH",
		Short: "Print a stored metadata block as YAML",
		Long: `Decode a metadata block (a Manifest-wrapped FlatBuffer, manifest version 2
or 3) and print it. The argument is a block file, or a block hash looked up
in the workspace's datasets (or only in --dataset).`,
		Example: `  ipos system decode .ipos/datasets/fed01…/blocks/f1620…
  ipos system decode f1620… --dataset sales -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDecode(cmd.Context(), g, opts, args[0])
		},
	}
	c.Flags().StringVarP(&opts.dataset, "dataset", "d", "", "look the hash up in this dataset only")
	addOutputFlag(c, &opts.output, "yaml", "yaml", "json")
	return c
}

func runDecode(ctx context.Context, g *globals, opts decodeOptions, arg string) error {
	data, source, err := readBlockArg(ctx, g, opts, arg)
	if err != nil {
		return err
	}
	b, version, err := odf.DecodeBlock(data)
	if err != nil {
		return fmt.Errorf("%s: %w", source, err)
	}
	hash := odf.SHA3(data)
	if name := filepath.Base(source); name != hash.String() && len(name) == len(hash.String()) && name[0] == 'f' {
		fmt.Fprintf(g.streams.Err, "warning: %s holds bytes whose hash is %s, not its name\n", source, hash)
	}
	if opts.output == "json" {
		out, err := odf.MarshalBlockJSON(b)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(g.streams.Out, "%s\n", out)
		return err
	}
	out, err := odf.MarshalBlockYAML(b)
	if err != nil {
		return err
	}
	fmt.Fprintf(g.streams.Out, "# block %s (manifest version %d, %d bytes)\n", hash, version, len(data))
	_, err = g.streams.Out.Write(out)
	return err
}

func readBlockArg(ctx context.Context, g *globals, opts decodeOptions, arg string) ([]byte, string, error) {
	if st, err := os.Stat(arg); err == nil && !st.IsDir() {
		data, err := os.ReadFile(arg)
		return data, arg, err
	}
	h, err := odf.ParseMultihashString(arg)
	if err != nil {
		return nil, "", fmt.Errorf("%q is neither a file nor a block hash: %w", arg, err)
	}
	w, err := g.openWorkspace()
	if err != nil {
		return nil, "", err
	}
	var sets []*dataset.Dataset
	if opts.dataset != "" {
		d, err := w.Dataset(ctx, opts.dataset)
		if err != nil {
			return nil, "", err
		}
		sets = append(sets, d)
	} else if sets, err = w.Datasets(ctx); err != nil {
		return nil, "", err
	}
	for _, d := range sets {
		data, err := d.Store.Blocks.Get(ctx, h)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, "", err
		}
		return data, d.BlockPath(h), nil
	}
	return nil, "", fmt.Errorf("block %s not found in %d dataset(s)", h, len(sets))
}
