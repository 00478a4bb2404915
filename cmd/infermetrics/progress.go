package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// A progress shows a run's progress on stderr: a bar per target when
// stderr is a terminal, a plain line every few seconds otherwise. It never
// writes to stdout, which carries the summary table. It can be used
// concurrently.
type progress interface {
	done(target string, t *Trial)
	finish()
}

// newProgress returns the progress for w, given the attempts planned per
// target.
func newProgress(w io.Writer, targets []string, planned map[string]int) progress {
	if f, ok := w.(*os.File); ok && isTerminal(f) {
		p := mpb.New(mpb.WithOutput(w), mpb.WithWidth(32), mpb.WithRefreshRate(150*time.Millisecond))
		bars := make(map[string]*mpb.Bar, len(targets))
		width := 0
		for _, t := range targets {
			width = max(width, len(t))
		}
		for _, t := range targets {
			bars[t] = p.AddBar(int64(planned[t]),
				mpb.PrependDecorators(decor.Name(t, decor.WC{W: width + 1, C: decor.DindentRight})),
				mpb.AppendDecorators(decor.CountersNoUnit("%d/%d"), decor.Name(" "), decor.Elapsed(decor.ET_STYLE_GO)))
		}
		return &barProgress{p: p, bars: bars}
	}
	total := 0
	for _, n := range planned {
		total += n
	}
	return &lineProgress{w: w, total: total, last: time.Now()}
}

// isTerminal reports whether f is a character device, as a terminal is.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

type barProgress struct {
	p    *mpb.Progress
	bars map[string]*mpb.Bar
}

func (b *barProgress) done(target string, _ *Trial) {
	if bar := b.bars[target]; bar != nil {
		bar.Increment()
	}
}

func (b *barProgress) finish() {
	for _, bar := range b.bars {
		if !bar.Completed() {
			bar.Abort(false)
		}
	}
	b.p.Wait()
}

type lineProgress struct {
	w      io.Writer
	mu     sync.Mutex
	n      int
	failed int
	total  int
	last   time.Time
}

func (l *lineProgress) done(_ string, t *Trial) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n++
	if !t.Succeeded() {
		l.failed++
	}
	if time.Since(l.last) >= 5*time.Second || l.n == l.total {
		l.last = time.Now()
		fmt.Fprintf(l.w, "bench: %d/%d attempts, %d failed\n", l.n, l.total, l.failed)
	}
}

func (l *lineProgress) finish() {}

// quiet is the progress that shows nothing.
type quiet struct{}

func (quiet) done(string, *Trial) {}
func (quiet) finish()             {}
