package cli

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ipos-dev/ipos/internal/audit"
	"github.com/ipos-dev/ipos/internal/workspace"
)

// auditLog opens the workspace's audit log, .ipos/audit.
func auditLog(g *globals, w *workspace.Workspace) *audit.Log {
	l := audit.Open(filepath.Join(w.Dir(), "audit"), w.NodeKey())
	l.Now = g.now
	return l
}

// audit records a mutation by the acting identity: outcome ok when cause
// is nil, else error with cause as the reason. Commands return its error
// (joined with their own): a mutation that could not be recorded fails.
func (g *globals) audit(ctx context.Context, w *workspace.Workspace, action, object string, cause error, details map[string]string) error {
	id, err := g.actor(ctx, w)
	if err != nil {
		return err
	}
	e := audit.Entry{Actor: audit.ActorOf(id.Subject), Action: action, Object: object, Outcome: audit.OK, Details: details}
	if cause != nil {
		e.Outcome, e.Reasons = audit.Error, []string{cause.Error()}
	}
	if _, err := auditLog(g, w).Append(ctx, e); err != nil {
		return fmt.Errorf("recording %s of %s in the audit log: %w", action, object, err)
	}
	return nil
}

func newAuditCommand(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "audit",
		Short: "Read and verify the tamper-evident audit log",
		Long: `Every mutation (init, add, apply, delete, pull, ingest, set-watermark,
reconcile, identity changes) and every access decision is recorded in
.ipos/audit/log.jsonl: one JSON line per entry, hash-chained to the entry
before and signed by the node key, with a signed checkpoint (head.json)
so that a shortened log shows. See docs/audit.md.`,
		Args: cobra.NoArgs,
	}
	c.AddCommand(newAuditLogCommand(g), newAuditVerifyCommand(g))
	return c
}

type auditLogOptions struct {
	since  string
	actor  string
	action string
	output string
}

func newAuditLogCommand(g *globals) *cobra.Command {
	var opts auditLogOptions
	c := &cobra.Command{
		Use:   "log",
		Short: "Print audit entries",
		Long: `Print the audit log's entries, oldest first. It reads the entries as they
are; 'ipos audit verify' checks that none was changed.`,
		Example: `  ipos audit log
  ipos audit log --since 1h --actor analyst
  ipos audit log --action dataset.pull -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAuditLog(cmd.Context(), g, opts)
		},
	}
	c.Flags().StringVar(&opts.since, "since", "", "only entries from this long ago (a duration such as 24h) or since this time (RFC 3339 or a date)")
	c.Flags().StringVar(&opts.actor, "actor", "", "only entries by this identity (name or DID)")
	c.Flags().StringVar(&opts.action, "action", "", "only entries with this action (such as dataset.pull), or a prefix ending in '.' (dataset.)")
	addOutputFlag(c, &opts.output, "table", "table", "json")
	return c
}

func runAuditLog(ctx context.Context, g *globals, opts auditLogOptions) error {
	var since time.Time
	if opts.since != "" {
		if d, err := time.ParseDuration(opts.since); err == nil {
			since = g.now().Add(-d)
		} else if since, err = parseTime(opts.since); err != nil {
			return usagef("--since %q: use a duration (24h) or a time (RFC 3339 or 2026-11-01)", opts.since)
		}
	}
	w, err := g.openWorkspace()
	if err != nil {
		return err
	}
	all, err := auditLog(g, w).Entries(ctx, since)
	if err != nil {
		return err
	}
	entries := make([]audit.Entry, 0, len(all))
	for _, e := range all {
		if opts.actor != "" && e.Actor.Name != opts.actor && e.Actor.DID != opts.actor {
			continue
		}
		if opts.action != "" && e.Action != opts.action && !(strings.HasSuffix(opts.action, ".") && strings.HasPrefix(e.Action, opts.action)) {
			continue
		}
		entries = append(entries, e)
	}
	if opts.output == "json" {
		return printStructured(g.streams.Out, "json", entries)
	}
	t := newTable(g.streams.Out, "SEQ", "TIME", "ACTOR", "ACTION", "OBJECT", "OUTCOME", "DETAILS")
	for _, e := range entries {
		actor := e.Actor.Name
		if actor == "" {
			actor = e.Actor.DID
		}
		outcome := string(e.Outcome)
		if e.Policy != "" {
			outcome += " (" + e.Policy + ")"
		}
		var details []string
		for _, k := range slices.Sorted(maps.Keys(e.Details)) {
			details = append(details, k+"="+e.Details[k])
		}
		details = append(details, e.Reasons...)
		t.row(strconv.FormatUint(e.Seq, 10), e.Time.Format(time.RFC3339), actor, e.Action, e.Object, outcome, strings.Join(details, "; "))
	}
	return t.flush()
}

func newAuditVerifyCommand(g *globals) *cobra.Command {
	var output string
	c := &cobra.Command{
		Use:   "verify",
		Short: "Check that no audit entry was edited, deleted, reordered or cut off",
		Long: `Read the whole audit log and its checkpoint and check every entry: its
hash against its content, its signature against the node key, its seq and
prev against the entry before, and the log's end against the signed
checkpoint. Exits 3 naming the first damaged entry (seq and line) when
anything is wrong.

It proves the log is the one this node's key wrote. It cannot prove that
the holder of the node key did not rewrite and re-sign it; keep a copy of
the checkpoint ('ipos audit verify -o json' prints it) somewhere else to
catch that.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAuditVerify(cmd.Context(), g, output)
		},
	}
	addOutputFlag(c, &output, "text", "text", "json")
	return c
}

func runAuditVerify(ctx context.Context, g *globals, output string) error {
	w, err := g.openWorkspace()
	if err != nil {
		return err
	}
	r, err := auditLog(g, w).Verify(ctx)
	if err != nil {
		return err
	}
	if output == "json" {
		if err := printStructured(g.streams.Out, "json", r); err != nil {
			return err
		}
	} else {
		for _, p := range r.Problems {
			fmt.Fprintf(g.streams.Out, "%s\n", p)
		}
		for _, n := range r.Notes {
			fmt.Fprintf(g.streams.Out, "note: %s\n", n)
		}
		if r.OK() {
			head := "no checkpoint yet"
			if r.Head != nil {
				head = fmt.Sprintf("checkpoint at entry %d, %s", r.Head.Seq, noneDash(r.Head.Hash))
			}
			fmt.Fprintf(g.streams.Out, "audit log verified: %d entries, hash chain and signatures intact; %s\n", r.Entries, head)
		}
	}
	if !r.OK() {
		return faultError{fmt.Errorf("audit log damaged: %s (%d problem(s))", r.Problems[0], len(r.Problems))}
	}
	return nil
}

func noneDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
