package cli

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// progress prints a one-line status on a terminal, redrawn at most ten
// times a second and at least every half second, so that a long step shows
// it is alive. It prints nothing when stderr is not a terminal or with
// --quiet, so logs and pipes stay clean.
type progress struct {
	w       io.Writer
	label   string
	unit    string
	enabled bool

	mu        sync.Mutex
	start     time.Time
	stepStart time.Time
	last      time.Time
	count     int
	stage     string
	bytes     int64
	stop      chan struct{}
	drawn     bool
}

func newProgress(g *globals, label, unit string) *progress {
	p := &progress{w: g.streams.Err, label: label, unit: unit, start: time.Now(), enabled: !g.quiet && isTerminal(g.streams.Err)}
	p.stepStart = p.start
	if p.enabled {
		p.stop = make(chan struct{})
		go p.tick()
	}
	return p
}

func (p *progress) tick() {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.mu.Lock()
			if p.stage != "" || p.count > 0 {
				p.draw(time.Now())
			}
			p.mu.Unlock()
		}
	}
}

// update sets the count of units done.
func (p *progress) update(n int) {
	if !p.enabled {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.count = n
	p.maybeDraw()
}

// step names what is happening now, with bytes moved so far.
func (p *progress) step(label, stage string, bytes int64) {
	if !p.enabled {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if stage != p.stage || label != p.label {
		p.stepStart = time.Now()
	}
	p.label, p.stage, p.bytes = label, stage, bytes
	p.maybeDraw()
}

func (p *progress) maybeDraw() {
	now := time.Now()
	if now.Sub(p.last) < 100*time.Millisecond {
		return
	}
	p.draw(now)
}

func (p *progress) draw(now time.Time) {
	p.last, p.drawn = now, true
	line := p.label
	if p.stage != "" {
		line += ": " + p.stage
		if p.bytes > 0 {
			secs := max(now.Sub(p.stepStart).Seconds(), 1e-3)
			line += fmt.Sprintf(" %s (%s/s)", humanBytes(p.bytes), humanBytes(int64(float64(p.bytes)/secs)))
		} else {
			line += fmt.Sprintf(" %s", now.Sub(p.stepStart).Round(100*time.Millisecond))
		}
	}
	if p.count > 0 {
		rate := float64(p.count) / max(now.Sub(p.start).Seconds(), 1e-9)
		line += fmt.Sprintf(" %d %s (%.0f/s)", p.count, p.unit, rate)
	}
	fmt.Fprintf(p.w, "\r\033[K%s", line)
}

// clear erases the status line so that other output starts clean; the
// next update draws it again.
func (p *progress) clear() {
	if !p.enabled {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
		p.drawn = false
	}
	p.stage, p.count = "", 0
}

func (p *progress) done() {
	if !p.enabled {
		return
	}
	close(p.stop)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
