//go:build unix

package ingest

import "syscall"

// cpuSeconds is the CPU time this process has used, every thread (DuckDB's
// too) counted. On a machine others share it moves less with their load
// than wall time does.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
