package stress

import (
	"fmt"
	"hash/maphash"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// Ledger follows every object of type T through its life: allocated (or
// reused), retired, reclaimed, and reused again. Tell it about each step
// and it reports, the moment it happens and with the stack of the previous
// step:
//
//   - an object reclaimed twice;
//   - an object reclaimed before it was retired, or never retired at all;
//   - an object retired twice, or retired after it was reclaimed;
//   - an object allocated again (a pool handing it out) while retired and
//     not yet reclaimed, or while already live;
//   - with Reachable, an object still reachable from the structure that
//     was retired or reclaimed;
//
// and, at Verify, every object retired and never reclaimed (lost).
//
// Call Alloc when the structure takes a new or recycled object, Retire just
// before handing it to the reclamation scheme (so the record precedes the
// reclamation, which may run inside the scheme's Retire), and use Reclaim as
// the free function or inside it. Reclaim then poisons the object.
//
// The ledger's records live in a sharded map, so unrelated objects rarely
// share a lock: its locks add few happens-before edges that could hide a
// data race from the race detector. All methods are safe for concurrent use.
type Ledger[T any] struct {
	tb       testing.TB
	poison   func(*T)
	seed     maphash.Seed
	shards   [ledgerShards]ledgerShard[T]
	verified atomic.Bool
	bad      atomic.Int64
}

const ledgerShards = 64

type ledgerShard[T any] struct {
	mu     sync.Mutex
	m      map[*T]*entry
	counts [4]int64 // steps taken, by the state they led to
	_      [64]byte // keep shards on separate cache lines
}

type lifeState uint8

const (
	live lifeState = iota + 1
	retired
	reclaimed
)

func (s lifeState) String() string {
	return [...]string{"untracked", "allocated", "retired", "reclaimed"}[s]
}

// entry is the ledger's record of one object.
type entry struct {
	state lifeState
	pcs   [3][8]uintptr // by state-1: where the object last entered it
}

// at is where the object last entered state s.
func (e *entry) at(s lifeState) []uintptr { return e.pcs[s-1][:] }

// LedgerStats counts what a Ledger saw.
type LedgerStats struct {
	Allocated  int64 // Alloc calls (each reuse counts)
	Retired    int64 // Retire calls
	Reclaimed  int64 // Reclaim calls
	Pending    int64 // objects retired and not yet reclaimed
	Violations int64 // failures reported
}

// NewLedger returns a Ledger that reports to tb (a Harness, to get the seed
// in every report). poison runs in Reclaim after the record is made; if it
// is nil and *T implements Poisonable (a T that embeds Canary does), Reclaim
// calls Poison. With neither (a Canary in a named field, say), the ledger
// only counts: nothing is poisoned, so a CheckRead of its objects can never
// fail; pass a poison that poisons the field. Unless Verify was called, the
// ledger verifies itself when the test ends (tb.Cleanup). The ledger sees
// only what is retired: an object unlinked and never retired shows only in
// Stats, as Allocated exceeding what the structure still holds plus
// Retired.
func NewLedger[T any](tb testing.TB, poison func(*T)) *Ledger[T] {
	l := &Ledger[T]{tb: tb, poison: poison, seed: maphash.MakeSeed()}
	if l.poison == nil {
		var zero T
		if _, ok := any(&zero).(Poisonable); ok {
			l.poison = func(p *T) { any(p).(Poisonable).Poison() }
		}
	}
	for i := range l.shards {
		l.shards[i].m = make(map[*T]*entry)
	}
	track(l)
	tb.Cleanup(func() {
		untrack(l)
		if !l.verified.Load() {
			l.Verify()
		}
	})
	return l
}

// Alloc records that p is live: newly allocated, or taken from a pool.
func (l *Ledger[T]) Alloc(p *T) { l.step(p, &allocStep) }

// Retire records that p was retired. Call it before the scheme's Retire.
func (l *Ledger[T]) Retire(p *T) { l.step(p, &retireStep) }

// Reclaim records that p was reclaimed, then poisons it. It has the
// signature of a free function: pass l.Reclaim to epoch.Retire or
// hazard.Retire, or call it from the free function.
func (l *Ledger[T]) Reclaim(p *T) {
	l.step(p, &reclaimStep)
	if l.poison != nil && p != nil {
		l.poison(p)
	}
}

// Reachable records that p is still reachable from the structure, for a
// walk over it after the Run: it reports p if it was retired or reclaimed.
func (l *Ledger[T]) Reachable(p *T) { l.step(p, &reachableStep) }

// transition is one step of an object's life: the state it leads to (0 for
// a check that changes nothing) and, by the state it comes from, the
// violation it is, if any.
type transition struct {
	name string
	to   lifeState
	bad  [4]string
}

var (
	allocStep = transition{"allocated", live, [4]string{
		live:    "allocated again while live (handed out twice)",
		retired: "allocated again while retired and not yet reclaimed (reused before its grace period ended)",
	}}
	retireStep = transition{"retired", retired, [4]string{
		retired:   "retired twice",
		reclaimed: "retired after it was reclaimed (a reclaimed object was still reachable)",
	}}
	reclaimStep = transition{"reclaimed", reclaimed, [4]string{
		0:         "reclaimed, but it was never retired",
		live:      "reclaimed before it was retired",
		reclaimed: "reclaimed twice",
	}}
	reachableStep = transition{"found reachable", 0, [4]string{
		retired:   "still reachable from the structure, but retired",
		reclaimed: "still reachable from the structure, but reclaimed",
	}}
)

// step applies t to p's record under its shard's lock and reports a
// violation with the stack of the previous step.
func (l *Ledger[T]) step(p *T, t *transition) {
	if p == nil {
		l.violation("ledger: %s a nil %T at %s", t.name, p, site(3))
		return
	}
	s := &l.shards[maphash.Comparable(l.seed, p)%ledgerShards]
	s.mu.Lock()
	e := s.m[p]
	if e == nil {
		e = new(entry)
		s.m[p] = e
	}
	before := *e
	if t.to != 0 {
		s.counts[t.to]++
		e.state = t.to
		runtime.Callers(3, e.at(t.to))
	}
	s.mu.Unlock()
	if msg := t.bad[before.state]; msg != "" {
		prev := "nothing"
		if before.state != 0 {
			prev = fmt.Sprintf("%s at\n%s", before.state, frames(before.at(before.state)))
		}
		l.violation("ledger: %T %p %s\n  now at %s\n  previously %s", p, p, msg, site(3), prev)
	}
}

func (l *Ledger[T]) violation(format string, args ...any) {
	l.bad.Add(1)
	l.tb.Errorf(format, args...)
}

// story tells where p, if it is a *T this ledger tracks, was retired and
// reclaimed, for CheckRead's report of a poisoned read.
func (l *Ledger[T]) story(obj any) (string, bool) {
	p, ok := obj.(*T)
	if !ok || p == nil {
		return "", false
	}
	s := &l.shards[maphash.Comparable(l.seed, p)%ledgerShards]
	s.mu.Lock()
	e, ok := s.m[p]
	var c entry
	if ok {
		c = *e
	}
	s.mu.Unlock()
	if !ok {
		return "", false
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n  the ledger has it %s", c.state)
	if c.state == live {
		b.WriteString(" again (a pool reused it)")
	}
	for _, st := range []lifeState{retired, reclaimed} {
		if pcs := c.at(st); pcs[0] != 0 {
			fmt.Fprintf(&b, "\n  last %s at\n%s", st, frames(pcs))
		}
	}
	return b.String(), true
}

// Verify reports every object retired and never reclaimed, and returns the
// ledger's counts. Call it once the scheme has reclaimed everything it
// will (after Barrier or Close).
func (l *Ledger[T]) Verify() LedgerStats {
	l.verified.Store(true)
	st := l.Stats()
	if st.Pending == 0 {
		return st
	}
	example, ptr := &entry{}, (*T)(nil)
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		for p, e := range s.m {
			if e.state == retired && ptr == nil {
				c := *e
				example, ptr = &c, p
			}
		}
		s.mu.Unlock()
	}
	l.violation("ledger: %d of %d retired %T objects were never reclaimed (lost); %p, for one, was retired at\n%s",
		st.Pending, st.Retired, ptr, ptr, frames(example.at(retired)))
	st.Violations++
	return st
}

// Stats returns the ledger's counts so far.
func (l *Ledger[T]) Stats() LedgerStats {
	var st LedgerStats
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		st.Allocated += s.counts[live]
		st.Retired += s.counts[retired]
		st.Reclaimed += s.counts[reclaimed]
		for _, e := range s.m {
			if e.state == retired {
				st.Pending++
			}
		}
		s.mu.Unlock()
	}
	st.Violations = l.bad.Load()
	return st
}

// frames formats a stack recorded by runtime.Callers.
func frames(pcs []uintptr) string {
	var b strings.Builder
	fs := runtime.CallersFrames(pcs)
	for {
		f, more := fs.Next()
		if f.Function != "" {
			fmt.Fprintf(&b, "\t%s\n\t\t%s:%d\n", f.Function, f.File, f.Line)
		}
		if !more {
			break
		}
	}
	return strings.TrimSuffix(b.String(), "\n")
}
