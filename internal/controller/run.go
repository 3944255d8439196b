package controller

import (
	"context"
	"log/slog"
	"maps"
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
	Pull func(ctx context.Context, name string) error
	// Backoff spaces the retries of a resource that failed to reconcile
	// and of a scheduled pull that failed; the zero value means
	// DefaultBackoff.
	Backoff Backoff
	Logger  *slog.Logger
	// OnOutcome, when set, is called with every outcome that changed
	// something and with the first failure of a resource (not its
	// retries, which its Warning events show, so that a resource that
	// stays broken does not fill the caller's log), after it is logged.
	// ipos serve records them in the audit log. It is called from Run's
	// goroutine and must not block for long.
	OnOutcome func(ctx context.Context, oc Outcome)
}

// Backoff is an exponential retry delay: Base after the first failure,
// doubling with each further one, never more than Max.
type Backoff struct {
	Base, Max time.Duration
}

// DefaultBackoff retries after 1s, 2s, 4s … up to 5 minutes.
func DefaultBackoff() Backoff { return Backoff{Base: time.Second, Max: 5 * time.Minute} }

// Delay is the wait after the given number of consecutive failures (1 for
// the first).
func (b Backoff) Delay(failures int) time.Duration {
	if b.Base <= 0 {
		b = DefaultBackoff()
	}
	d := b.Base
	for i := 1; i < failures && d < b.Max; i++ {
		d *= 2
	}
	if b.Max > 0 && d > b.Max {
		d = b.Max
	}
	return d
}

// retry is when a failing resource or scheduled pull is tried again.
type retry struct {
	failures int
	at       time.Time
}

// Run reconciles every Resync and pulls scheduled Datasets when due, until
// ctx is done, then returns nil. A resource that fails to reconcile is
// tried again with exponential backoff between resyncs. A failed pull is
// logged and recorded as a Warning event and retried with backoff, but
// never later than the next time its schedule falls due.
func (c *Controller) Run(ctx context.Context, opts RunOptions) error {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tick := opts.Tick
	if tick <= 0 {
		tick = time.Second
	}
	s := &schedules{next: map[string]time.Time{}, failed: map[string]int{}, backoff: opts.Backoff}
	failing := map[resource.Ref]retry{} // resources waiting for a retry
	var lastSync time.Time
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		now := c.now()
		// Between resyncs, a pass takes what was applied since the last
		// one and the failures whose retry is due.
		only := func(rec resourcestore.Record) bool {
			if !observed(rec) {
				return true
			}
			f, ok := failing[resource.Ref{Kind: rec.Kind, Name: rec.Name}]
			return ok && !now.Before(f.at)
		}
		if lastSync.IsZero() || now.Sub(lastSync) >= opts.Resync {
			only, lastSync = nil, now
		}
		outcomes, err := c.reconcileWhere(ctx, only)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			log.Error("reconcile", "err", err)
		}
		if only == nil && err == nil {
			// A full pass sees every resource: forget the deleted ones.
			seen := map[resource.Ref]bool{}
			for _, oc := range outcomes {
				seen[oc.Ref] = true
			}
			maps.DeleteFunc(failing, func(r resource.Ref, _ retry) bool { return !seen[r] })
		}
		for _, oc := range outcomes {
			if oc.Ready {
				delete(failing, oc.Ref)
				if oc.Changed {
					log.Info("reconciled", "resource", oc.Ref.String(), "action", oc.Action)
					if opts.OnOutcome != nil {
						opts.OnOutcome(ctx, oc)
					}
				}
				continue
			}
			f := failing[oc.Ref]
			f.failures++
			f.at = now.Add(opts.Backoff.Delay(f.failures))
			failing[oc.Ref] = f
			log.Warn("not ready", "resource", oc.Ref.String(), "reason", oc.Reason, "message", oc.Message, "failures", f.failures, "retry_at", f.at)
			if opts.OnOutcome != nil && (f.failures == 1 || oc.Changed) {
				opts.OnOutcome(ctx, oc)
			}
		}
		if opts.Pull != nil {
			s.run(ctx, c, now, opts.Pull, log)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// schedules tracks the scheduled pulls of Run.
type schedules struct {
	next    map[string]time.Time // dataset → next pull
	failed  map[string]int       // dataset → consecutive failed pulls
	backoff Backoff
}

// run pulls every scheduled Dataset whose time has come and plans its
// next run: the next cron time, or sooner after a failure.
func (s *schedules) run(ctx context.Context, c *Controller, now time.Time, pull func(context.Context, string) error, log *slog.Logger) {
	next := s.next
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
			delete(s.failed, name)
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
			s.failed[name]++
			if retryAt := now.Add(s.backoff.Delay(s.failed[name])); retryAt.Before(next[name]) {
				next[name] = retryAt
			}
			log.Warn("scheduled pull failed", "dataset", name, "err", err, "failures", s.failed[name], "retry_at", next[name])
			ev.Type, ev.Reason, ev.Message = resourcestore.EventWarning, "ScheduledPullFailed", err.Error()
		} else {
			delete(s.failed, name)
			log.Info("scheduled pull", "dataset", name)
		}
		_ = c.Store.AddEvent(ctx, ev)
	}
}
