package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/ipos-dev/ipos/internal/ingest"
	"github.com/ipos-dev/ipos/internal/policy"
)

func newSetWatermarkCommand(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "set-watermark NAME TIME",
		Short: "Advance a root dataset's watermark",
		Long: `Commit an AddData block that only moves a root dataset's watermark: a
promise that no event older than TIME will arrive any more. The watermark
never moves back. TIME is RFC 3339 (2026-11-01T00:00:00Z) or a date
(2026-11-01, taken as midnight UTC).`,
		Example: `  ipos set-watermark covid.cases 2026-11-01`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSetWatermark(cmd.Context(), g, args[0], args[1])
		},
	}
	return c
}

func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, usagef("cannot read %q as a time: use RFC 3339 (2026-11-01T00:00:00Z) or a date (2026-11-01)", s)
}

func runSetWatermark(ctx context.Context, g *globals, name, when string) error {
	wm, err := parseTime(when)
	if err != nil {
		return err
	}
	w, d, err := g.openDataset(ctx, name)
	if err != nil {
		return err
	}
	if err := g.authorize(ctx, w, policy.ActionIngest, d.Alias); err != nil {
		return err
	}
	head, err := ingest.SetWatermark(ctx, d, wm, g.now())
	if err != nil {
		return errors.Join(err, g.audit(ctx, w, "dataset.set-watermark", d.Alias, err, nil))
	}
	fmt.Fprintf(g.streams.Out, "%s: watermark %s; head %s\n", d.Alias, wm.Format(time.RFC3339), head)
	return g.audit(ctx, w, "dataset.set-watermark", d.Alias, nil, map[string]string{"watermark": wm.Format(time.RFC3339), "head": head.String()})
}
