package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ipos-dev/ipos/internal/resource"
	"github.com/ipos-dev/ipos/internal/resourcestore"
)

func newDiffCommand(g *globals) *cobra.Command {
	var files []string
	var recursive bool
	c := &cobra.Command{
		Use:   "diff -f FILE|DIR|- ...",
		Short: "Show what apply would change, line by line",
		Long: `Compare manifests with the declared resources and print, for each resource
apply would create or change, a line diff of its manifest (secret values
redacted; a changed secret is reported without showing values). Exits 0
whether or not there are differences; nothing is changed.`,
		Example: `  ipos diff -f examples/`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(files) == 0 {
				return usagef("name manifests with -f FILE|DIR|-")
			}
			return runDiff(cmd.Context(), g, files, recursive)
		},
	}
	c.Flags().StringArrayVarP(&files, "filename", "f", nil, "manifest file or folder, or - for standard input (repeatable)")
	c.Flags().BoolVarP(&recursive, "recursive", "R", false, "read folders recursively")
	return c
}

func runDiff(ctx context.Context, g *globals, files []string, recursive bool) error {
	c, err := openController(ctx, g)
	if err != nil {
		return err
	}
	defer c.Store.Close()
	objs, err := readManifests(g, c.Reg, files, recursive)
	if err != nil {
		return err
	}
	changes, err := c.Apply(ctx, objs, true)
	if err != nil {
		return err
	}
	for i, ch := range changes {
		if ch.Action == "unchanged" {
			continue
		}
		want := objs[i]
		var before []byte
		rec, err := c.Store.Get(ctx, ch.Ref.Kind, ch.Ref.Name)
		switch {
		case errors.Is(err, resourcestore.ErrNotFound):
		case err != nil:
			return err
		default:
			old, err := c.Object(rec)
			if err != nil {
				return err
			}
			old.Status, old.Metadata.Generation = nil, 0
			if before, err = resource.MarshalYAML(old.Redacted()); err != nil {
				return err
			}
		}
		cp := *want
		cp.Status, cp.Metadata.Generation = nil, 0
		after, err := resource.MarshalYAML(cp.Redacted())
		if err != nil {
			return err
		}
		fmt.Fprintf(g.streams.Out, "--- %s (declared)\n+++ %s (%s)\n", ch.Ref, ch.Ref, want.Origin.Source)
		lines := diffLines(splitLines(string(before)), splitLines(string(after)))
		if len(lines) == 0 {
			// Only redacted values (a secret's data) differ.
			lines = []string{"~ secret values changed (not shown)"}
		}
		for _, l := range lines {
			fmt.Fprintln(g.streams.Out, l)
		}
	}
	return nil
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// diffLines is a line diff by longest common subsequence: removed lines
// prefixed "-", added "+", unchanged " ". Manifests are small, so the
// quadratic table is fine. It returns nil when a and b are equal.
func diffLines(a, b []string) []string {
	n, m := len(a), len(b)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out []string
	changed := false
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && a[i] == b[j]:
			out = append(out, " "+a[i])
			i, j = i+1, j+1
		case i < n && (j == m || lcs[i+1][j] >= lcs[i][j+1]):
			// Removals before additions, as diff prints them.
			out = append(out, "-"+a[i])
			i, changed = i+1, true
		default:
			out = append(out, "+"+b[j])
			j, changed = j+1, true
		}
	}
	if !changed {
		return nil
	}
	return out
}
