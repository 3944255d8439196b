package controller

import (
	"context"
	"log/slog"
	"sort"
	"time"

	"github.com/ipos-dev/ipos/internal/resource"
	"github.com/ipos-dev/ipos/internal/resourcestore"
)

// RunOptions configure the continuous controller.
type RunOptions struct {
	// Resync is how often every resource is reconciled even when nothing
	// asked for it (level-triggered: the pass finds what drifted).
	Resync time.Duration
	// Tick is how often the loop wakes to check schedules; zero means a
	// second.
	Tick time.Duration
	// Pull brings one dataset up to date (ingest or transform); scheduled
	// Datasets are pulled with it when their cron expression falls due.
	Pull   func(ctx context.Context, name string) error
	Logger *slog.Logger
}

// Run reconciles every Resync and pulls scheduled Datasets when due, until
// ctx is done, then returns nil. A failed pull is logged and recorded as a
// Warning event and retried at the next time its schedule falls due.
func (c *Controller) Run(ctx context.Context, opts RunOptions) error {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tick := opts.Tick
	if tick <= 0 {
		tick = time.Second
	}
	next := map[string]time.Time{} // dataset → next scheduled pull
	var lastSync time.Time
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		now := c.now()
		if lastSync.IsZero() || now.Sub(lastSync) >= opts.Resync {
			outcomes, err := c.ReconcileOnce(ctx)
			if ctx.Err() != nil {
				return nil
			}
			if err != nil {
				log.Error("reconcile", "err", err)
			}
			for _, oc := range outcomes {
				switch {
				case !oc.Ready:
					log.Warn("not ready", "resource", oc.Ref.String(), "reason", oc.Reason, "message", oc.Message)
				case oc.Changed:
					log.Info("reconciled", "resource", oc.Ref.String(), "action", oc.Action)
				}
			}
			lastSync = now
		}
		if opts.Pull != nil {
			c.runSchedules(ctx, now, next, opts.Pull, log)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// runSchedules pulls every scheduled Dataset whose time has come and
// plans its next run.
func (c *Controller) runSchedules(ctx context.Context, now time.Time, next map[string]time.Time, pull func(context.Context, string) error, log *slog.Logger) {
	recs, err := c.Store.List(ctx, "Dataset", nil)
	if err != nil {
		log.Error("listing datasets", "err", err)
		return
	}
	seen := map[string]bool{}
	var due []string
	for _, r := range recs {
		o, err := c.Object(r)
		if err != nil {
			continue
		}
		spec, ok := o.Spec.(*resource.DatasetSpec)
		if !ok || spec.Schedule == "" {
			continue
		}
		cron, err := resource.ParseCron(spec.Schedule)
		if err != nil {
			continue // Validate refused it at apply; nothing to run
		}
		seen[r.Name] = true
		at, planned := next[r.Name]
		if !planned {
			next[r.Name] = cron.Next(now)
			continue
		}
		if !now.Before(at) {
			due = append(due, r.Name)
			next[r.Name] = cron.Next(now)
		}
	}
	for name := range next {
		if !seen[name] {
			delete(next, name) // deleted, or no longer scheduled
		}
	}
	sort.Strings(due)
	for _, name := range due {
		if ctx.Err() != nil {
			return
		}
		ev := resourcestore.Event{Kind: "Dataset", Name: name, Time: now.UTC(), Type: resourcestore.EventNormal, Reason: "ScheduledPull", Message: "pulled on schedule"}
		if err := pull(ctx, name); err != nil {
			if ctx.Err() != nil {
				return
			}
			log.Warn("scheduled pull failed", "dataset", name, "err", err)
			ev.Type, ev.Reason, ev.Message = resourcestore.EventWarning, "ScheduledPullFailed", err.Error()
		} else {
			log.Info("scheduled pull", "dataset", name)
		}
		_ = c.Store.AddEvent(ctx, ev)
	}
}
