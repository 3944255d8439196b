package cli

import (
	"fmt"
	"io"
	"os"
	"time"
)

// progress prints a one-line counter on a terminal, redrawn at most ten
// times a second. It prints nothing when stderr is not a terminal or with
// --quiet, so logs and pipes stay clean.
type progress struct {
	w       io.Writer
	label   string
	unit    string
	start   time.Time
	last    time.Time
	count   int
	enabled bool
}

func newProgress(g *globals, label, unit string) *progress {
	return &progress{w: g.streams.Err, label: label, unit: unit, start: time.Now(), enabled: !g.quiet && isTerminal(g.streams.Err)}
}

func (p *progress) update(n int) {
	p.count = n
	if !p.enabled {
		return
	}
	now := time.Now()
	if now.Sub(p.last) < 100*time.Millisecond {
		return
	}
	p.last = now
	p.draw(now)
}

func (p *progress) draw(now time.Time) {
	rate := float64(p.count) / max(now.Sub(p.start).Seconds(), 1e-9)
	fmt.Fprintf(p.w, "\r\033[K%s: %d %s (%.0f/s)", p.label, p.count, p.unit, rate)
}

func (p *progress) done() {
	if p.enabled && !p.last.IsZero() {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
