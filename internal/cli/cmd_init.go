package cli

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/ipos-dev/ipos/internal/workspace"
)

func newInitCommand(g *globals) *cobra.Command {
	var existsOK bool
	c := &cobra.Command{
		Use:   "init",
		Short: "Create a workspace (.ipos/) with a node identity",
		Long: `Create an IPOS workspace in the current folder, or in the folder given by
--workspace: a .ipos/ folder holding the node's ed25519 identity (shown as
did:key:z6Mk…, private key readable only by you), a config file and the
datasets. Every other command finds the workspace by walking up from the
current folder, or from $IPOS_WORKSPACE.`,
		Example: `  ipos init
  ipos init --workspace /srv/ipos`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runInit(cmd.Context(), g, existsOK)
		},
	}
	c.Flags().BoolVar(&existsOK, "exists-ok", false, "succeed without changes if a workspace already exists")
	return c
}

func runInit(ctx context.Context, g *globals, existsOK bool) error {
	root := g.workspace
	if root == "" {
		var err error
		if root, err = os.Getwd(); err != nil {
			return err
		}
	}
	w, err := workspace.Init(ctx, root)
	if errors.Is(err, workspace.ErrExists) && existsOK {
		if !g.quiet {
			fmt.Fprintf(g.streams.Err, "Workspace already exists in %s\n", root)
		}
		return nil
	}
	if err != nil {
		if errors.Is(err, workspace.ErrExists) {
			return fmt.Errorf("%w (use --exists-ok to accept it)", err)
		}
		return err
	}
	if !g.quiet {
		fmt.Fprintf(g.streams.Err, "Initialized an IPOS workspace in %s\n", w.Dir())
	}
	fmt.Fprintf(g.streams.Out, "Node identity: %s\n", w.NodeDID())
	return g.audit(ctx, w, "workspace.init", w.Root, nil, map[string]string{"node": w.NodeDID()})
}
