package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ipos-dev/ipos/internal/odf"
	"github.com/ipos-dev/ipos/internal/policy"
)

type addOptions struct {
	recursive bool
	stdin     bool
}

func newAddCommand(g *globals) *cobra.Command {
	var opts addOptions
	c := &cobra.Command{
		Use:   "add FILE|DIR...",
		Short: "Create datasets from DatasetSnapshot manifests",
		Long: `Create datasets from DatasetSnapshot manifests (kamu's format: kind:
DatasetSnapshot, version: 1, content: {name, kind, metadata}). Each dataset
gets a new identity and a metadata chain: a Seed block followed by one block
per event of the manifest. A folder adds every .yaml, .yml and .json file in
it (with -r, in its subfolders too). Derivative datasets may name inputs
added in the same command; they are created in dependency order.

Every manifest is parsed and checked before anything is written: a bad one
is reported with its file, line and field, and no dataset is created.`,
		Example: `  ipos add examples/regions.yaml examples/covid.cases.yaml
  ipos add sales.yaml sales.daily.yaml
  cat sales.yaml | ipos add --stdin`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 && !opts.stdin {
				return fmt.Errorf("name at least one manifest file or folder, or use --stdin")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAdd(cmd.Context(), g, opts, args)
		},
	}
	c.Flags().BoolVarP(&opts.recursive, "recursive", "r", false, "add manifests in subfolders too")
	c.Flags().BoolVar(&opts.stdin, "stdin", false, "read manifests from standard input")
	return c
}

func runAdd(ctx context.Context, g *globals, opts addOptions, args []string) error {
	w, err := g.openWorkspace()
	if err != nil {
		return err
	}
	var snaps []*odf.DatasetSnapshot
	if opts.stdin {
		data, err := io.ReadAll(g.streams.In)
		if err != nil {
			return err
		}
		s, err := odf.ParseSnapshots("<stdin>", data)
		if err != nil {
			return err
		}
		snaps = append(snaps, s...)
	}
	files, err := manifestFiles(args, opts.recursive)
	if err != nil {
		return err
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		s, err := odf.ParseSnapshots(f, data)
		if err != nil {
			return err
		}
		snaps = append(snaps, s...)
	}
	if len(snaps) == 0 {
		return fmt.Errorf("no DatasetSnapshot manifests found in %s", strings.Join(args, ", "))
	}
	objects := make([]string, len(snaps))
	for i, s := range snaps {
		objects[i] = "Dataset/" + s.Name
	}
	if err := g.authorize(ctx, w, policy.ActionApply, objects...); err != nil {
		return err
	}
	made, err := w.AddDatasets(ctx, snaps, g.now())
	for _, d := range made {
		fmt.Fprintf(g.streams.Out, "Added %s (%s)\n", d.Alias, d.ID)
		err = errors.Join(err, g.audit(ctx, w, "dataset.add", d.Alias, nil, map[string]string{"id": d.ID.String()}))
	}
	if err != nil {
		if len(made) > 0 {
			return fmt.Errorf("%w (the datasets listed above were added)", err)
		}
		return err
	}
	return nil
}

// manifestFiles expands folders into the manifest files in them, sorted.
func manifestFiles(args []string, recursive bool) ([]string, error) {
	var out []string
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			out = append(out, a)
			continue
		}
		var found []string
		err = filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if p != a && !recursive {
					return filepath.SkipDir
				}
				return nil
			}
			switch strings.ToLower(filepath.Ext(p)) {
			case ".yaml", ".yml", ".json":
				found = append(found, p)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		sort.Strings(found)
		out = append(out, found...)
	}
	return out, nil
}
