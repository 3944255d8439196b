package gate

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// Noise adds differential-privacy noise to one released number.
//
// Semantics. Sensitivity is the L1 (Laplace) or L2 (Gaussian) sensitivity
// of the query: the most one person's rows can change the true value
// (1 for a count where each person adds at most one row; (upper-lower)
// for a sum of values clamped to [lower, upper]). Clamping and
// contribution bounding are the caller's job; Noise trusts the
// sensitivity it is given.
//   - Laplace(value, Δ1, ε) adds Lap(b) with b = Δ1/ε and is ε-DP.
//   - Gaussian(value, Δ2, ε, δ) adds N(0, σ²) with
//     σ = Δ2·√(2·ln(1.25/δ))/ε, the classic bound (Dwork and Roth, Thm
//     A.1), valid for 0 < ε < 1 only, and is (ε, δ)-DP.
//
// Each call spends its ε (and δ) once; spending is recorded by an
// EpsilonLedger, not here.
//
// Sampling. Uniform numbers come from Rand (crypto/rand when nil): 64
// random bits, of which the top 53 make a float in (0, 1) — never 0, so
// logarithms are finite. Laplace is sampled by inverting its CDF (a
// random sign times b·(−ln U)), Gaussian by the Box–Muller transform.
//
// The floating-point caveat. Textbook samplers on IEEE doubles do not
// produce every real: the set of reachable outputs of value + noise
// depends on value, and Mironov (2012, "On significance of the least
// significant bits for differential privacy") showed that the low bits of
// a released result can reveal the true value exactly. The mitigation
// used here is his snapping mechanism's rounding step: the noisy result is
// rounded to the nearest multiple of Λ, the smallest power of two ≥ the
// noise scale (b, or σ), so the released bits carry no information about
// value below the noise scale. Rounding to a power of two is exact in
// binary floating point. If Bound > 0, the value is clamped to
// [−Bound, Bound] before noise and the result after, which with
// rounding gives Mironov's guarantee for Laplace (a slightly larger
// effective ε, documented in the paper). For Gaussian the same rounding is
// applied as a mitigation, without a matching proof. This is weaker
// engineering than Google's library (geometric and binomial samplers over
// integers), which this build cannot download.
type Noise struct {
	// Rand supplies random bits; nil means crypto/rand. Tests inject a
	// seeded source.
	Rand io.Reader
	// Bound, if positive, clamps the value and the result to
	// [−Bound, Bound].
	Bound float64
}

// ErrNoiseParams is wrapped by the errors for invalid ε, δ or sensitivity.
var ErrNoiseParams = errors.New("invalid noise parameters")

// Laplace returns value plus Laplace noise of scale sensitivity/epsilon,
// snapped to the noise's power-of-two grid.
func (n Noise) Laplace(value, sensitivity, epsilon float64) (float64, error) {
	if err := checkParams(sensitivity, epsilon); err != nil {
		return 0, err
	}
	scale := sensitivity / epsilon
	u, err := n.uniform()
	if err != nil {
		return 0, err
	}
	s, err := n.uniform()
	if err != nil {
		return 0, err
	}
	noise := -scale * math.Log(u)
	if s < 0.5 {
		noise = -noise
	}
	return n.release(value, noise, scale), nil
}

// Gaussian returns value plus Gaussian noise calibrated to (ε, δ),
// snapped to the noise's power-of-two grid.
func (n Noise) Gaussian(value, sensitivity, epsilon, delta float64) (float64, error) {
	if err := checkParams(sensitivity, epsilon); err != nil {
		return 0, err
	}
	if epsilon >= 1 {
		return 0, fmt.Errorf("%w: the Gaussian mechanism's bound holds for ε < 1, got ε=%g", ErrNoiseParams, epsilon)
	}
	if !(delta > 0 && delta < 1) {
		return 0, fmt.Errorf("%w: δ must be in (0, 1), got %g", ErrNoiseParams, delta)
	}
	sigma := GaussianSigma(sensitivity, epsilon, delta)
	u1, err := n.uniform()
	if err != nil {
		return 0, err
	}
	u2, err := n.uniform()
	if err != nil {
		return 0, err
	}
	noise := sigma * math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
	return n.release(value, noise, sigma), nil
}

// GaussianSigma is the standard deviation Gaussian uses.
func GaussianSigma(sensitivity, epsilon, delta float64) float64 {
	return sensitivity * math.Sqrt(2*math.Log(1.25/delta)) / epsilon
}

// Grid is the rounding granularity for a noise scale: the smallest power
// of two not below it.
func Grid(scale float64) float64 {
	return math.Pow(2, math.Ceil(math.Log2(scale)))
}

func (n Noise) release(value, noise, scale float64) float64 {
	if n.Bound > 0 {
		value = math.Max(-n.Bound, math.Min(n.Bound, value))
	}
	g := Grid(scale)
	out := math.Round((value+noise)/g) * g
	if n.Bound > 0 {
		out = math.Max(-n.Bound, math.Min(n.Bound, out))
	}
	return out
}

func checkParams(sensitivity, epsilon float64) error {
	if !(sensitivity > 0) || math.IsInf(sensitivity, 0) {
		return fmt.Errorf("%w: sensitivity must be positive and finite, got %g", ErrNoiseParams, sensitivity)
	}
	if !(epsilon > 0) || math.IsInf(epsilon, 0) {
		return fmt.Errorf("%w: ε must be positive and finite, got %g", ErrNoiseParams, epsilon)
	}
	return nil
}

// uniform returns a float in (0, 1) from 53 random bits.
func (n Noise) uniform() (float64, error) {
	r := n.Rand
	if r == nil {
		r = rand.Reader
	}
	var b [8]byte
	for {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return 0, fmt.Errorf("noise: reading random bits: %w", err)
		}
		m := binary.LittleEndian.Uint64(b[:]) >> 11
		if m != 0 {
			return float64(m) / (1 << 53), nil
		}
	}
}
