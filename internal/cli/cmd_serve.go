package cli

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/ipos-dev/ipos/internal/audit"
	"github.com/ipos-dev/ipos/internal/controller"
	"github.com/ipos-dev/ipos/internal/identity"
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
the log on standard error. Every reconcile that changed something, and the
first failure of a resource, is recorded in the audit log by the owner (the
identity sharing the node key), with details by=serve.`,
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
	// The node reconciles on its own account: its entries are by the
	// owner, the identity that shares the node key.
	owner, err := identities(c.W).Get(ctx, identity.OwnerName)
	if err != nil {
		return err
	}
	audits := auditLog(g, c.W)
	log.Info("serving", "workspace", c.W.Root, "node", c.W.NodeDID(), "resync", opts.resync)
	err = c.Run(ctx, controller.RunOptions{
		Resync: opts.resync,
		Logger: log,
		OnOutcome: func(ctx context.Context, oc controller.Outcome) {
			e := audit.Entry{Actor: audit.ActorOf(owner.Subject), Action: "resource.reconcile", Object: oc.Ref.String(), Outcome: audit.OK,
				Details: map[string]string{"action": noneDash(oc.Action), "ready": fmt.Sprint(oc.Ready), "by": "serve"}}
			if !oc.Ready {
				e.Outcome, e.Reasons = audit.Error, []string{oc.Reason + ": " + oc.Message}
			}
			if _, err := audits.Append(ctx, e); err != nil && ctx.Err() == nil {
				log.Error("recording in the audit log", "resource", oc.Ref.String(), "err", err)
			}
		},
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
