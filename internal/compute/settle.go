package compute

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"time"

	"github.com/ipos-dev/ipos/internal/gate"
)

// SQLHash is the hash an agreement pins a SQL algorithm by: the SHA-256
// of its query text.
func SQLHash(query string) string {
	sum := sha256.Sum256([]byte(query))
	return hex.EncodeToString(sum[:])
}

// settle debits the consumer and credits the input owners for a run.
func (r *Runner) settle(ctx context.Context, j *job, wall time.Duration) error {
	var consumer Party
	var owners []Party
	for _, p := range j.standing.Parties {
		for _, role := range p.Roles {
			switch role {
			case RoleConsumer:
				consumer = p
			case RoleOwner:
				owners = append(owners, p)
			}
		}
	}
	price := j.ag.Price
	ps := settle(j.rec.Name, j.rec.Agreement, r.now(), consumer, owners, price.PerRun, price.PerComputeSecond, price.Currency, wall)
	if len(ps) == 0 {
		return nil
	}
	if err := r.Ledger().Post(ctx, ps); err != nil {
		return fmt.Errorf("settlement ledger: %w", err)
	}
	j.rec.Charged, j.rec.Currency = -ps[0].Amount(), ps[0].Currency
	return nil
}

// Ledger is the workspace's settlement ledger.
func (s *Service) Ledger() *Ledger { return LedgerOf(s.W) }

// epsilonLedger is the per-consumer, per-dataset ε ledger.
func (r *Runner) epsilonLedger(budget float64) (*gate.FileLedger, error) {
	return gate.NewFileLedger(filepath.Join(r.W.Dir(), "epsilon.json"), budget)
}

// addNoise spends the run's ε on every input and adds Laplace noise to
// the count columns of a SQL algorithm's CSV result. Each count has
// sensitivity 1 (one person changes one group's count by one); the run's
// ε is split evenly over the count columns, and groups are disjoint, so
// the release is ε-differentially private for the counts. Noisy counts
// are rounded and floored at zero, which is post-processing.
func (r *Runner) addNoise(ctx context.Context, j *job, data []byte) ([]byte, error) {
	o := j.ag.Output
	led, err := r.epsilonLedger(o.EpsilonBudget)
	if err != nil {
		return nil, err
	}
	consumer := j.standing.Parties[0].DID
	for _, in := range j.ag.Inputs {
		if _, err := led.Spend(ctx, consumer, in.Dataset, o.Epsilon); err != nil {
			return nil, fmt.Errorf("privacy budget of %s on %s: %w", j.actor.Name, in.Dataset, err)
		}
	}
	recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("SQL result: %w", err)
	}
	if len(recs) == 0 {
		return data, nil
	}
	var cols []int
	for i, h := range recs[0] {
		if gate.IsCountColumn(h, o.CountColumns) {
			cols = append(cols, i)
		}
	}
	if len(cols) == 0 {
		return nil, fmt.Errorf("the agreement asks for differential privacy (epsilon %g) but the result has no count column to add noise to; name one in output.countColumns", o.Epsilon)
	}
	eps := o.Epsilon / float64(len(cols))
	for _, row := range recs[1:] {
		for _, c := range cols {
			v, err := strconv.ParseFloat(row[c], 64)
			if err != nil {
				return nil, fmt.Errorf("SQL result: count column %q holds %q", recs[0][c], row[c])
			}
			noisy, err := r.Noise.Laplace(v, 1, eps)
			if err != nil {
				return nil, err
			}
			row[c] = strconv.FormatInt(int64(math.Max(0, math.Round(noisy))), 10)
		}
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if err := w.WriteAll(recs); err != nil {
		return nil, err
	}
	j.rec.Reasons = append(j.rec.Reasons, fmt.Sprintf("Laplace noise (epsilon %g) added to %d count column(s)", o.Epsilon, len(cols)))
	return buf.Bytes(), nil
}
