package compute

import (
	"context"
	"crypto/sha3"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/ipos-dev/ipos/internal/gate"
	"github.com/ipos-dev/ipos/internal/odf"
	"github.com/ipos-dev/ipos/internal/receipt"
	"github.com/ipos-dev/ipos/internal/sandbox"
)

// Output is a file a job released (or holds for review), by content hash.
type Output = receipt.FileHash

// receipts opens the workspace's receipt store, .ipos/receipts.
func (s *Service) receipts() (*receipt.Store, error) {
	return receipt.OpenStore(filepath.Join(s.W.Dir(), "receipts"))
}

// invocation is everything that determines a job's result: the
// algorithm's bytes (or query), the inputs' head blocks, the arguments,
// the limits and the gate's rules, and, because policies make what a
// consumer sees depend on who they are, the consumer and a hash of the
// inputs exactly as materialised for them. The last two are also the
// module's environment, so the invocation says what the module got.
func (r *Runner) invocation(j *job, module []byte, cfg sandbox.Config, inputs string) (receipt.Invocation, error) {
	inv := receipt.Invocation{Args: cfg.Args, Gate: gateRules(j.ag.Output)}
	if module != nil {
		inv.Algorithm = odf.SHA3(module).String()
	} else {
		inv.Algorithm = odf.SHA3([]byte(j.alg.SQL.Query)).String()
	}
	for _, in := range j.rec.Inputs {
		inv.Inputs = append(inv.Inputs, receipt.Input{Dataset: in.ID, Head: in.Head})
	}
	seen, err := treeHash(inputs)
	if err != nil {
		return inv, err
	}
	inv.Env = []string{"IPOS_CONSUMER=" + j.actor.DID, "IPOS_INPUTS_SHA3=" + seen}
	inv.Limits = receipt.Limits{
		MemoryBytes: cfg.MemoryLimit, TimeoutMillis: cfg.Timeout.Milliseconds(),
		OutputBytes: cfg.Outputs.MaxBytes, OutputFiles: cfg.Outputs.MaxFiles,
		LogBytes: cfg.Logs.MaxBytes, LogFiles: cfg.Logs.MaxFiles,
		AllowClock: cfg.AllowClock, AllowRandom: cfg.AllowRandom, Seed: cfg.Seed,
	}
	return inv, inv.Validate()
}

// treeHash is a SHA3-256 multihash over every file under dir: each
// file's slash path, length and bytes, in path order.
func treeHash(dir string) (string, error) {
	var paths []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			paths = append(paths, p)
		}
		return err
	})
	if err != nil {
		return "", err
	}
	sort.Strings(paths)
	h := sha3.New256()
	for _, p := range paths {
		rel, _ := filepath.Rel(dir, p)
		f, err := os.Open(p)
		if err != nil {
			return "", err
		}
		st, err := f.Stat()
		if err == nil {
			fmt.Fprintf(h, "%s\n%d\n", filepath.ToSlash(rel), st.Size())
			_, err = io.Copy(h, f)
		}
		f.Close()
		if err != nil {
			return "", err
		}
	}
	return odf.NewMultihash(odf.CodeSHA3_256, h.Sum(nil)).String(), nil
}

// lookupReceipt finds the receipt of an earlier run of the same
// invocation, with the hash it is stored under.
func (r *Runner) lookupReceipt(ctx context.Context, invocation string) (*receipt.Receipt, string, bool, error) {
	st, err := r.receipts()
	if err != nil {
		return nil, "", false, err
	}
	rc, err := st.Lookup(ctx, invocation)
	if errors.Is(err, receipt.ErrNotFound) {
		return nil, "", false, nil
	}
	if err != nil {
		return nil, "", false, err
	}
	return rc, odf.SHA3(rc.Canonical()).String(), true, nil
}

// issueReceipt signs the run's receipt with the node key and stores it
// with the released files.
func (r *Runner) issueReceipt(ctx context.Context, inv receipt.Invocation, v gate.Verdict, res receipt.Resources, started, finished time.Time) (*receipt.Receipt, string, error) {
	outputs, logs := map[string][]byte{}, map[string][]byte{}
	for _, f := range v.Files {
		outputs[f.Name] = f.Data
	}
	for _, f := range v.Logs {
		logs[f.Name] = f.Data
	}
	rc := receipt.New(inv, outputs, logs, res, v, started, finished)
	rc.Sign(r.W.NodeKey())
	st, err := r.receipts()
	if err != nil {
		return nil, "", err
	}
	stored, h, err := st.Put(ctx, rc, outputs, logs)
	if err != nil {
		return nil, "", fmt.Errorf("storing the receipt: %w", err)
	}
	return stored, h.String(), nil
}

// Files returns the released files of a job, checked against its receipt.
func (s *Service) Files(ctx context.Context, rec *JobRecord) (map[string][]byte, error) {
	if rec.Phase != Succeeded {
		return nil, fmt.Errorf("job %s is %s: it has no released outputs", rec.Name, rec.Phase)
	}
	st, err := s.receipts()
	if err != nil {
		return nil, err
	}
	return st.Files(ctx, rec.Outputs)
}
