//go:build !unix

package ingest

// cpuSeconds is not measured here; the CPU ratios then read NaN.
func cpuSeconds() float64 { return 0 }
