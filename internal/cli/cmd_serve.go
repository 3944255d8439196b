package cli

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/ipos-dev/ipos/internal/controller"
)

type serveOptions struct {
	resync time.Duration
}

func newServeCommand(g *globals) *cobra.Command {
	var opts serveOptions
	c := &cobra.Command{
		Use:   "serve",
		Short: "Run the node: keep declared resources true and pull datasets on schedule",
		Long: `Run as a node until interrupted (SIGINT or SIGTERM, which stop it cleanly):
reconcile every declared resource every --resync interval, level-triggered,
and pull each Dataset whose spec has a cron 'schedule' when it falls due.
Failures show in resources' conditions and events ('ipos describe'), and in
the log on standard error.`,
		Example: `  ipos serve
  ipos serve --resync 10s`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runServe(cmd.Context(), g, opts)
		},
	}
	c.Flags().DurationVar(&opts.resync, "resync", 30*time.Second, "how often to reconcile every resource")
	return c
}

func runServe(ctx context.Context, g *globals, opts serveOptions) error {
	if opts.resync <= 0 {
		return usagef("--resync must be positive")
	}
	c, err := openController(ctx, g)
	if err != nil {
		return err
	}
	defer c.Store.Close()
	log := slog.New(slog.NewTextHandler(g.streams.Err, nil))
	log.Info("serving", "workspace", c.W.Root, "node", c.W.NodeDID(), "resync", opts.resync)
	err = c.Run(ctx, controller.RunOptions{
		Resync: opts.resync,
		Logger: log,
		Pull: func(ctx context.Context, name string) error {
			return runPull(ctx, g, pullOptions{}, []string{name})
		},
	})
	log.Info("stopped")
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}
