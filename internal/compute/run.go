package compute

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ipos-dev/ipos/internal/audit"
	"github.com/ipos-dev/ipos/internal/gate"
	"github.com/ipos-dev/ipos/internal/identity"
	"github.com/ipos-dev/ipos/internal/receipt"
	"github.com/ipos-dev/ipos/internal/resource"
	"github.com/ipos-dev/ipos/internal/sandbox"
)

// RunOptions are a job's request.
type RunOptions struct {
	Agreement string
	Arguments map[string]string
	// NoCache runs the algorithm even when a receipt answers the same
	// invocation.
	NoCache bool
}

// Runner holds what a job needs beyond the service: how to materialise
// inputs, how to run SQL algorithms, the Wasm engine.
type Runner struct {
	*Service
	Inputs  Materializer
	SQL     SQLRunner
	Sandbox *sandbox.Engine
	// CacheDir keeps compiled modules between processes; empty means none.
	CacheDir string
	// Noise draws differential-privacy noise; the zero value uses
	// crypto/rand.
	Noise gate.Noise
}

// job is one run in progress.
type job struct {
	rec      *JobRecord
	actor    *identity.Identity
	agreeObj *resource.Object
	ag       *resource.AgreementSpec
	alg      *resource.AlgorithmSpec
	standing Standing
	scratch  string
}

// Run checks everything, runs the agreement's algorithm next to the data
// and gates what comes out. The returned record says how it went; an
// error means the job could not even be recorded.
func (r *Runner) Run(ctx context.Context, actor *identity.Identity, opts RunOptions) (*JobRecord, error) {
	jobs := r.jobs()
	rec := &JobRecord{Agreement: opts.Agreement, Consumer: actor.Name, Phase: Running, Started: r.now().UTC()}
	if err := jobs.claim(opts.Agreement, rec); err != nil {
		return nil, err
	}
	name := rec.Name
	j := &job{actor: actor, rec: rec}
	if err := r.createJobResource(ctx, name, opts); err != nil {
		rec.Phase, rec.Reasons, rec.Finished = Failed, []string{"declaring the job: " + err.Error()}, r.now().UTC()
		return nil, errors.Join(err, jobs.put(rec))
	}
	runErr := r.run(ctx, j, opts)
	if runErr != nil {
		j.rec.Phase = Failed
		j.rec.Reasons = append(j.rec.Reasons, runErr.Error())
	}
	if j.scratch != "" {
		if err := os.RemoveAll(j.scratch); err != nil {
			j.rec.Reasons = append(j.rec.Reasons, "removing the job's scratch space: "+err.Error())
		}
	}
	j.rec.Finished = r.now().UTC()
	if err := jobs.put(j.rec); err != nil {
		return j.rec, err
	}
	outcome := audit.OK
	if j.rec.Phase == Failed || j.rec.Phase == Withheld {
		outcome = audit.Error
	}
	details := map[string]string{"phase": string(j.rec.Phase), "agreement": opts.Agreement}
	if j.rec.Receipt != "" {
		details["receipt"] = j.rec.Receipt
	}
	if j.rec.Cached {
		details["cached"] = "true"
	}
	if err := r.record(ctx, actor.Subject, "job.finish", "Job/"+name, outcome, details, j.rec.Reasons...); err != nil {
		return j.rec, err
	}
	if r.Ctl != nil { // refresh the Job's and Agreement's status
		_, _ = r.Ctl.ReconcileOnly(ctx, resource.Ref{Kind: "Job", Name: name}, resource.Ref{Kind: "Agreement", Name: opts.Agreement})
	}
	return j.rec, nil
}

func (r *Runner) jobs() jobFiles { return jobFiles{dir: r.jobsDir()} }

// createJobResource declares the Job, so that 'ipos get jobs' lists it.
func (r *Runner) createJobResource(ctx context.Context, name string, opts RunOptions) error {
	o := &resource.Object{
		APIVersion: resource.APIVersion, Kind: "Job",
		Metadata: resource.Metadata{Name: name},
		Spec:     &resource.JobSpec{Agreement: opts.Agreement, Arguments: opts.Arguments, NoCache: opts.NoCache},
	}
	_, err := r.Ctl.Apply(ctx, []*resource.Object{o}, false)
	return err
}

func (r *Runner) run(ctx context.Context, j *job, opts RunOptions) error {
	fail := func(action, reason string) error {
		_ = r.record(ctx, j.actor.Subject, action, "Agreement/"+opts.Agreement, audit.Deny, map[string]string{"job": j.rec.Name}, reason)
		return errors.New(reason)
	}
	// 1. The agreement: active, and ours.
	o, ag, hash, err := r.agreement(ctx, opts.Agreement)
	if err != nil {
		return err
	}
	j.agreeObj, j.ag = o, ag
	consumer, err := r.Identities.Get(ctx, ag.Consumer)
	if err != nil {
		return fmt.Errorf("agreement consumer: %w", err)
	}
	if consumer.DID != j.actor.DID {
		return fail("job.check", fmt.Sprintf("agreement %s is for %s, not %s", opts.Agreement, consumer.Name, j.actor.Name))
	}
	st, err := r.standing(ctx, opts.Agreement, ag, hash)
	if err != nil {
		return err
	}
	if st.State != Active {
		return fail("job.check", fmt.Sprintf("agreement %s is %s: %s", opts.Agreement, st.State, st.Reason))
	}
	j.standing = st
	// 2. The algorithm: the one approved, byte for byte.
	algObj, err := r.object(ctx, "Algorithm", ag.Algorithm.Name)
	if err != nil {
		return err
	}
	j.alg = algObj.Spec.(*resource.AlgorithmSpec)
	var module []byte
	switch {
	case j.alg.Wasm != nil:
		if j.alg.Wasm.SHA256 != ag.Algorithm.SHA256 {
			return fail("job.check", fmt.Sprintf("algorithm %s is now module %s, but the agreement approved %s; propose the agreement again", ag.Algorithm.Name, short(j.alg.Wasm.SHA256), short(ag.Algorithm.SHA256)))
		}
		var mod Module
		if module, mod, err = r.Modules.Get(ag.Algorithm.SHA256); err != nil {
			return fail("job.check", err.Error())
		}
		if mod.Multihash != j.alg.Wasm.Multihash {
			return fail("job.check", fmt.Sprintf("module %s: its SHA3-256 is %s, the algorithm says %s", short(mod.SHA256), mod.Multihash, j.alg.Wasm.Multihash))
		}
	case j.alg.SQL != nil:
		if got := SQLHash(j.alg.SQL.Query); got != ag.Algorithm.SHA256 {
			return fail("job.check", fmt.Sprintf("algorithm %s's query hashes to %s, but the agreement approved %s", ag.Algorithm.Name, short(got), short(ag.Algorithm.SHA256)))
		}
	}
	if j.alg.Wasm != nil && ag.Output.Epsilon > 0 {
		// Noise is added to the counts of SQL results; a module's outputs
		// would go out without it, which the epsilon promises they won't.
		return fail("job.check", fmt.Sprintf("agreement %s sets output.epsilon, but differential privacy applies to SQL algorithms and %s is a Wasm module", opts.Agreement, ag.Algorithm.Name))
	}
	args, err := checkArguments(j.alg, ag, opts.Arguments)
	if err != nil {
		return fail("job.check", err.Error())
	}
	j.rec.Arguments = args
	// 3. The inputs, as the consumer may see them.
	if j.scratch, err = os.MkdirTemp(filepath.Join(r.W.Dir(), "tmp"), "job-"+j.rec.Name+"-"); err != nil {
		return err
	}
	inputs, ddos, rows, err := r.materialize(ctx, j)
	if err != nil {
		return err
	}
	// 4. The invocation, and its receipt if it ran before.
	cfg := r.sandboxConfig(j, args)
	inv, err := r.invocation(j, module, cfg, inputs)
	if err != nil {
		return err
	}
	j.rec.Invocation = inv.Hash().String()
	if !opts.NoCache {
		rc, h, ok, err := r.lookupReceipt(ctx, j.rec.Invocation)
		if err != nil {
			return err
		}
		if ok {
			j.rec.Cached, j.rec.Phase, j.rec.Receipt = true, Succeeded, h
			j.rec.Outputs, j.rec.Logs = rc.Outputs, rc.Logs
			if ag.Output.Review {
				j.rec.Phase = AwaitingReview
			}
			return nil
		}
	}
	// 5. A run of the agreement's allowance.
	if err := r.reserveRun(ctx, opts.Agreement, ag, hash); err != nil {
		return fail("job.check", err.Error())
	}
	if err := r.record(ctx, j.actor.Subject, "job.start", "Job/"+j.rec.Name, audit.OK, map[string]string{"agreement": opts.Agreement, "invocation": j.rec.Invocation}); err != nil {
		return err
	}
	// 6. The run.
	started := r.now()
	var outputs, logs map[string][]byte
	var res receipt.Resources
	switch {
	case j.alg.Wasm != nil:
		cfg.Env = envOf(inv.Env)
		if cfg.Inputs, err = hostTree(inputs); err != nil {
			return err
		}
		if cfg.DDOs, err = hostTree(ddos); err != nil {
			return err
		}
		out, err := r.runWasm(ctx, module, cfg)
		if err != nil {
			return err
		}
		res = receipt.Resources{WallMillis: out.WallTime.Milliseconds(), PeakMemoryPages: out.PeakMemoryPages,
			BytesRead: out.BytesRead, BytesWritten: out.BytesWritten, ExitCode: out.ExitCode, Stop: string(out.Stop)}
		j.rec.WallTime = out.WallTime.Round(time.Millisecond).String()
		j.rec.PeakMemory = int64(out.PeakMemoryPages) * sandbox.PageSize
		j.rec.BytesRead, j.rec.BytesOut = out.BytesRead, out.BytesWritten
		if err := out.Err(); err != nil {
			_ = r.settle(ctx, j, out.WallTime) // the run is paid for even when it fails
			return fmt.Errorf("%w%s", err, logTail(out.Logs))
		}
		outputs, logs = out.Outputs, out.Logs
	default:
		start := time.Now()
		paths := map[string]string{}
		for _, in := range j.rec.Inputs {
			paths[in.Dataset] = filepath.Join(inputs, in.Dataset, "data.parquet")
		}
		csv, err := r.SQL.RunSQL(ctx, j.alg.SQL.Query, paths)
		if err != nil {
			return fmt.Errorf("SQL algorithm: %w", err)
		}
		if ag.Output.Epsilon > 0 {
			if csv, err = r.addNoise(ctx, j, csv); err != nil {
				return err
			}
		}
		wall := time.Since(start)
		res = receipt.Resources{WallMillis: wall.Milliseconds(), Stop: "exited"}
		j.rec.WallTime = wall.Round(time.Millisecond).String()
		outputs, logs = map[string][]byte{"result.csv": csv}, map[string][]byte{}
	}
	// 7. The gate.
	v := gate.Check(outputs, logs, rows, inv.Gate)
	j.rec.Reasons = append(j.rec.Reasons, v.Notes...)
	gateAudit := audit.Entry{Actor: audit.ActorOf(j.actor.Subject), Action: "job.gate", Object: "Job/" + j.rec.Name, Outcome: audit.Allow, Reasons: v.Notes}
	if !v.Released {
		j.rec.Phase = Withheld
		j.rec.Reasons = append(j.rec.Reasons, v.Reasons...)
		gateAudit.Outcome, gateAudit.Reasons = audit.Deny, v.Reasons
	}
	if r.Audit != nil {
		if _, err := r.Audit.Append(ctx, gateAudit); err != nil {
			return fmt.Errorf("audit log: %w", err)
		}
	}
	// 8. Settlement: the run is paid for whatever the gate said.
	if err := r.settle(ctx, j, time.Duration(res.WallMillis)*time.Millisecond); err != nil {
		return err
	}
	if !v.Released {
		return nil
	}
	// 9. The receipt, and the release (or the wait for review).
	rc, h, err := r.issueReceipt(ctx, inv, v, res, started, r.now())
	if err != nil {
		return err
	}
	j.rec.Receipt, j.rec.Outputs, j.rec.Logs = h, rc.Outputs, rc.Logs
	j.rec.Phase = Succeeded
	if ag.Output.Review {
		j.rec.Phase = AwaitingReview
	}
	return nil
}

// reserveRun counts one run against the agreement, checking under its
// lock that one is left.
func (r *Runner) reserveRun(ctx context.Context, name string, ag *resource.AgreementSpec, hash string) error {
	unlock, err := r.files.lock(ctx, name)
	if err != nil {
		return err
	}
	defer unlock()
	st, err := r.standing(ctx, name, ag, hash)
	if err != nil {
		return err
	}
	if st.State != Active {
		return fmt.Errorf("agreement %s is %s: %s", name, st.State, st.Reason)
	}
	return r.files.setRuns(name, st.RunsUsed+1)
}

// materialize writes every input the consumer may see into the scratch
// space, and collects its rows for the gate's raw-row check.
func (r *Runner) materialize(ctx context.Context, j *job) (inputs, ddos string, rows *gate.RowSet, err error) {
	inputs, ddos = filepath.Join(j.scratch, "inputs"), filepath.Join(j.scratch, "ddos")
	if err := os.MkdirAll(ddos, 0o700); err != nil {
		return "", "", nil, err
	}
	rows = gate.NewRowSet()
	for _, in := range j.ag.Inputs {
		dir := filepath.Join(inputs, in.Dataset)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return "", "", nil, err
		}
		info, err := r.Inputs.Materialize(ctx, j.actor.Subject, in.Dataset, dir)
		if err != nil {
			return "", "", nil, fmt.Errorf("input %s: %w", in.Dataset, err)
		}
		j.rec.Inputs = append(j.rec.Inputs, info)
		meta, err := json.MarshalIndent(info, "", "  ")
		if err != nil {
			return "", "", nil, err
		}
		if err := os.WriteFile(filepath.Join(ddos, in.Dataset+".json"), append(meta, '\n'), 0o600); err != nil {
			return "", "", nil, err
		}
		f, err := os.Open(filepath.Join(dir, "data.csv"))
		if err != nil {
			return "", "", nil, err
		}
		err = rows.AddCSV(in.Dataset+"/data.csv", f, true)
		f.Close()
		if err != nil {
			return "", "", nil, err
		}
	}
	return inputs, ddos, rows, nil
}

// sandboxConfig is the sandbox's configuration for the agreement's
// limits; inputs, outputs and environment are added by the caller.
func (r *Runner) sandboxConfig(j *job, args map[string]string) sandbox.Config {
	l, o := j.ag.Limits, j.ag.Output
	cfg := sandbox.DefaultConfig()
	cfg.Args = moduleArgs(args)
	cfg.MemoryLimit = uint64(l.MemoryOrDefault()) << 20
	cfg.Timeout = l.WallTimeOrDefault()
	cfg.CompilationCacheDir = r.CacheDir
	cfg.AllowClock, cfg.AllowRandom = l.AllowClock, l.AllowRandom
	if o.MaxBytes > 0 {
		cfg.Outputs.MaxBytes = o.MaxBytes
	}
	if o.MaxFiles > 0 {
		cfg.Outputs.MaxFiles = o.MaxFiles
	}
	if o.MaxLogs > 0 {
		cfg.Logs.MaxBytes = o.MaxLogs
	}
	return cfg
}

func (r *Runner) runWasm(ctx context.Context, module []byte, cfg sandbox.Config) (*sandbox.Result, error) {
	eng := r.Sandbox
	if eng == nil {
		eng = sandbox.NewEngine()
		defer eng.Close(ctx)
	}
	return eng.Run(ctx, module, cfg)
}

// envOf turns KEY=value entries into a map.
func envOf(entries []string) map[string]string {
	m := map[string]string{}
	for _, e := range entries {
		if k, v, ok := strings.Cut(e, "="); ok {
			m[k] = v
		}
	}
	return m
}

// hostTree maps every file under dir to its path relative to dir, for a
// read-only mount.
func hostTree(dir string) (*sandbox.Files, error) {
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		files[filepath.ToSlash(rel)] = p
		return nil
	})
	if err != nil {
		return nil, err
	}
	return sandbox.HostFiles(files)
}

// gateRules turns an agreement's output rules into the gate's.
func gateRules(o resource.OutputRules) gate.Rules {
	r := gate.DefaultRules()
	if o.MaxBytes > 0 {
		r.MaxTotalBytes = o.MaxBytes
	}
	if o.MaxFiles > 0 {
		r.MaxFiles = o.MaxFiles
	}
	if len(o.FileTypes) > 0 {
		r.AllowedTypes = nil
		for _, t := range o.FileTypes {
			r.AllowedTypes = append(r.AllowedTypes, "."+t)
		}
	}
	r.K = o.MinCount
	if o.SmallCounts == "refuse" {
		r.SmallCounts = gate.Refuse
	}
	r.CountColumns = o.CountColumns
	r.RawRowsAllowed = o.RawRows
	if o.MaxLogs > 0 {
		r.LogsMaxBytes = o.MaxLogs
	}
	return r
}

// logTail is the end of the run's stderr, for a failed job's reason.
func logTail(logs map[string][]byte) string {
	s := bytes.TrimSpace(logs["stderr"])
	if len(s) == 0 {
		return ""
	}
	if len(s) > 400 {
		s = s[len(s)-400:]
	}
	return "; stderr ends: " + strings.ReplaceAll(string(s), "\n", " | ")
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
