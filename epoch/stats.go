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
	// Retired counts objects retired (Retire, Defer, Pool.Retire), from
	// the moment Retire is called.
	Retired uint64
	// Reclaimed counts objects whose free function has run.
	Reclaimed uint64
	// Pending is Retired minus Reclaimed: the memory cost.
	Pending uint64
	// Slots is the number of participant slots created: at least the peak
	// number of guards open at once plus Handles, and at most that plus
	// twice GOMAXPROCS as it was when the Collector was made (each
	// processor keeps a home slot and a spare for pooled guards).
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
	// guard; only with WithGuardTracking. Age and stack are those of the
	// Enter that pinned the guard's slot: for the guards of a Handle that
	// exit out of order, the outermost guard's, even once it has exited
	// while a guard nested in it stays open, since the slot has stayed
	// pinned since then (which is what holds reclamation back).
	OldestGuardStack string
}

// Stats returns a snapshot of c's counters and open guards. It scans every
// participant slot and takes no lock.
func (c *Collector) Stats() Stats {
	c.mustBeMade("Stats")
	retired, reclaimed := c.counts()
	st := Stats{
		Retired:   retired,
		Reclaimed: reclaimed,
		Epoch:     c.epoch.Load(),
		Slots:     c.slots.Len(),
	}
	st.Pending = st.Retired - st.Reclaimed
	now := monotonic()
	for s := range c.slots.All() {
		p := &s.Value
		if p.word.Load() == 0 {
			continue
		}
		site := p.site.Load()
		if site == nil && c.tracking {
			continue // the guard exited since the word was read: sites are set before the announcement and cleared after it
		}
		st.Guards++
		var since int64
		if site != nil {
			since = site.at
		} else {
			since = observe(p)
		}
		// A guard entered after now was read has a negative age: it counts
		// as zero, so that OldestGuardStack names a guard whenever Guards
		// counts one.
		if age := max(time.Duration(now-since), 0); age >= st.OldestGuardAge {
			st.OldestGuardAge = age
			st.OldestGuardStack = site.String()
		}
	}
	return st
}

var start = time.Now()

// monotonic is a monotonic clock reading in nanoseconds.
func monotonic() int64 { return int64(time.Since(start)) }

// observe returns when a scan first saw p's current guard open, recording
// now if this is the first time. The caller has just seen p pinned; the
// guard is told apart from earlier ones by its pin count, which never
// repeats. If the guard exits before the count is read, the next guard's
// count is recorded, which errs towards a younger age.
func observe(p *participant) int64 {
	pin := p.pin.Load()
	if p.seenPin.Load() == pin {
		return p.seenAt.Load()
	}
	now := monotonic()
	p.seenAt.Store(now)
	p.seenPin.Store(pin)
	return now
}

// enterSite is where, when and on which goroutine a guard was entered
// (WithGuardTracking).
type enterSite struct {
	at   int64
	goid uint64
	pcs  []uintptr
}

// newEnterSite records the stack from the caller's caller skip frames up
// (runtime.Callers counts itself and newEnterSite among them), so that it
// starts where the user entered the guard.
func newEnterSite(skip int) *enterSite {
	pcs := make([]uintptr, 32)
	n := runtime.Callers(skip, pcs)
	return &enterSite{at: monotonic(), goid: goid(), pcs: pcs[:n]}
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
