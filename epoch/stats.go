package epoch

import (
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Stats is a snapshot of a Collector's state. Counters are read one at a
// time while other goroutines run, so they are mutually consistent only
// when the Collector is quiescent.
type Stats struct {
	// Epoch is the global epoch.
	Epoch uint64
	// Retired counts objects handed to the collector. Retire buffers
	// objects in a per-slot batch and counts them when the batch is handed
	// over (when it is full, or at a Barrier or Close), so up to batch size
	// minus one objects per slot may be retired but not yet counted.
	Retired uint64
	// Reclaimed counts objects whose free function has run.
	Reclaimed uint64
	// Pending is Retired minus Reclaimed: the memory cost.
	Pending uint64
	// Slots is the number of participant slots created (the peak number of
	// guards open at once, plus Handles).
	Slots int
	// Guards is the number of participant slots with a guard open (nested
	// guards of one Handle count once).
	Guards int
	// OldestGuardAge is how long the oldest open guard has been open. With
	// WithGuardTracking it is exact. Without, it is measured from the first
	// time the collector saw that guard open: every Stats call and every
	// failed attempt to advance the epoch looks, so it falls short of the
	// true age by at most the interval between those looks.
	OldestGuardAge time.Duration
	// OldestGuardStack is the call stack that entered the oldest open
	// guard; only with WithGuardTracking.
	OldestGuardStack string
}

// Stats returns a snapshot of c's counters and open guards. It scans every
// participant slot and takes no lock.
func (c *Collector) Stats() Stats {
	reclaimed := c.reclaimed.Load()
	st := Stats{
		Retired:   c.retired.Load(),
		Reclaimed: reclaimed,
		Epoch:     c.epoch.Load(),
		Slots:     c.slots.Len(),
	}
	st.Pending = st.Retired - st.Reclaimed
	now := monotonic()
	for s := range c.slots.All() {
		p := &s.Value
		w := p.word.Load()
		if pinnedEpoch(w) == 0 {
			continue
		}
		st.Guards++
		site := p.site.Load()
		var since int64
		if site != nil {
			since = site.at
		} else {
			since = observe(p, w)
		}
		if age := time.Duration(now - since); age >= st.OldestGuardAge {
			st.OldestGuardAge = age
			st.OldestGuardStack = site.String()
		}
	}
	return st
}

var start = time.Now()

// monotonic is a monotonic clock reading in nanoseconds.
func monotonic() int64 { return int64(time.Since(start)) }

// observe returns when a scan first saw p pinned with word w, recording now
// if this is the first time.
func observe(p *participant, w uint64) int64 {
	if p.seenWord.Load() == w {
		return p.seenAt.Load()
	}
	now := monotonic()
	p.seenAt.Store(now)
	p.seenWord.Store(w)
	return now
}

// enterSite is where and when a guard was entered (WithGuardTracking).
type enterSite struct {
	at  int64
	pcs []uintptr
}

func newEnterSite() *enterSite {
	pcs := make([]uintptr, 32)
	// Skip runtime.Callers, newEnterSite, pin and the Enter that called it.
	n := runtime.Callers(4, pcs)
	return &enterSite{at: monotonic(), pcs: pcs[:n]}
}

func (s *enterSite) String() string {
	if s == nil {
		return ""
	}
	var b strings.Builder
	frames := runtime.CallersFrames(s.pcs)
	for {
		f, more := frames.Next()
		b.WriteString(f.Function)
		b.WriteString("\n\t")
		b.WriteString(f.File)
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(f.Line))
		b.WriteByte('\n')
		if !more {
			return b.String()
		}
	}
}
