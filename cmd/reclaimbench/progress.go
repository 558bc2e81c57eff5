package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
)

// progress shows how far the suite is: a progress bar with the time left
// on a terminal, elsewhere (a log, a pipe, a test) a line a second at most.
type progress struct {
	bar   *progressbar.ProgressBar // nil when not on a terminal
	w     io.Writer
	done  int
	total int
	last  time.Time // of the last line written without a bar
}

func newProgress(w io.Writer, total int) *progress {
	p := &progress{w: w, total: total}
	if f, ok := w.(*os.File); ok && isTerminal(f) {
		p.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetWidth(30),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
			progressbar.OptionFullWidth(),
		)
	}
	return p
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// step records one finished step; what names it.
func (p *progress) step(what string) {
	p.done++
	if p.bar != nil {
		p.bar.Describe(what)
		_ = p.bar.Add(1) // only fails on a write error to the terminal
		return
	}
	if time.Since(p.last) >= time.Second || p.done == p.total {
		p.last = time.Now()
		fmt.Fprintf(p.w, "[%d/%d] %s\n", p.done, p.total, what)
	}
}

func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}
