package refcount_test

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/refcount"
)

// AtomicArc.Load takes no hazard pointer. It reads the slot, increments
// the count (which fails once the count is marked destroyed), and reads
// the slot again when the increment fails: the value was replaced and
// destroyed after the read.
// These tests race Load against every write, Borrow, Guard.Clone,
// Weak.Upgrade and Downgrade, tracked and untracked, where a replaced
// value's last reference is often the slot's, so the writes destroy what
// Load is about to increment.
//
// Each of these implementations of load fails at least one test here or
// in TestAtomicArcDoesNotResurrectADestroyedValue (from an independent
// review): incrementing unconditionally; returning the value when
// incStrong fails; panicking whenever incStrong fails; returning the zero
// Arc when it fails; retrying without the misuse check (spins on a
// destroyed value left in the slot); the misuse check inverted; making the
// tracking record before the increment (a record leaked per failed
// increment: tracked VerifyNone); reading the slot with a plain load
// (-race only).

const raceReaders = 3

// raceMeta outlives its value (the destructor zeroes the value, not
// this): runs counts destructor starts.
type raceMeta struct {
	sig  int
	runs atomic.Int32
}

type raceValue struct {
	meta *raceMeta
	// payload is written with plain stores before the value is published,
	// so the race detector checks that a write is synchronized before the
	// Loads that observe it.
	payload int
	// seen[i] is written with plain stores by reader i (the last by the
	// borrower) through its handle or Guard, and read by the destructor,
	// so the race detector checks that what a reader did before its
	// release is synchronized before the destructor.
	seen [raceReaders + 1]int
}

type raceLedger struct {
	t               *testing.T
	sig             atomic.Int64
	made, destroyed atomic.Int64
}

func (l *raceLedger) fresh() refcount.Arc[raceValue] {
	m := &raceMeta{sig: int(l.sig.Add(1))}
	l.made.Add(1)
	a := refcount.NewArc(raceValue{meta: m}, func(v *raceValue) {
		if n := m.runs.Add(1); n != 1 {
			l.t.Errorf("value %d destroyed %d times (a count raised from zero)", m.sig, n)
			return
		}
		if v.meta != m || v.payload != m.sig {
			l.t.Errorf("the destructor of value %d found it zeroed or foreign", m.sig)
		}
		sum := 0
		for _, n := range v.seen { // plain reads of the readers' plain writes
			sum += n
		}
		_ = sum
		l.destroyed.Add(1)
	})
	a.Value().payload = m.sig // before the value is published
	return a
}

// check reports whether v is a live value of the ledger, as op returned it.
func (l *raceLedger) check(v *raceValue, op string) bool {
	if v == nil {
		l.t.Errorf("%s returned nothing from a slot that is never empty", op)
		return false
	}
	m := v.meta
	if m == nil {
		l.t.Errorf("%s returned a value already destroyed (zeroed)", op)
		return false
	}
	if n := m.runs.Load(); n != 0 {
		l.t.Errorf("%s returned value %d whose destructor has started (%d runs)", op, m.sig, n)
		return false
	}
	if v.payload != m.sig {
		l.t.Errorf("%s returned value %d without the writer's payload", op, m.sig)
		return false
	}
	return true
}

// raceFor runs the goroutines that start starts on wg against a fresh slot
// for a few hundred milliseconds, stops them, empties the slot and checks
// that every value made was destroyed.
func raceFor(t *testing.T, start func(l *raceLedger, s *refcount.AtomicArc[raceValue], stop *atomic.Bool, wg *sync.WaitGroup)) {
	d := 400 * time.Millisecond
	if refcount.Tracking() {
		d = 250 * time.Millisecond
	}
	l := &raceLedger{t: t}
	var s refcount.AtomicArc[raceValue]
	s.Store(l.fresh())
	var stop atomic.Bool
	var wg sync.WaitGroup
	start(l, &s, &stop, &wg)
	time.Sleep(d)
	stop.Store(true)
	wg.Wait()
	s.Store(refcount.Arc[raceValue]{})
	barrier(t)
	require.Equal(t, l.made.Load(), l.destroyed.Load(), "values made and destroyed")
}

// recoverTo turns a panic of a goroutine into a test error.
func recoverTo(t *testing.T, who string) {
	if r := recover(); r != nil {
		t.Errorf("%s panicked: %v", who, r)
	}
}

// Load racing with Store, Swap, CompareAndSwap and RCU (two writers, so
// CompareAndSwap and RCU also fail and retry), while readers keep Weak
// handles of what they loaded and upgrade them later, and a borrower
// Borrows and Clones Guards. Most replaced values have only the slot's
// reference, so the write destroys them while Loads are between their read
// and their increment. A Load must never return a destroyed value or one
// whose destructor has started, never raise a count from zero (the
// destructor would run twice, or a Weak upgrade a destroyed value), never
// take the race for misuse and panic, and never return the zero Arc from a
// slot that is never empty; tracked, no record may be left behind
// (VerifyNone). Under -race the plain payload and seen fields check both
// memory-order guarantees.
func TestLoadRacesEveryWrite(t *testing.T) {
	eachMode(t, func(t *testing.T) {
		raceFor(t, func(l *raceLedger, s *refcount.AtomicArc[raceValue], stop *atomic.Bool, wg *sync.WaitGroup) {
			for w := range 2 {
				wg.Go(func() {
					defer recoverTo(t, "a writer")
					for n := w; !stop.Load(); n++ {
						switch n % 4 {
						case 0:
							s.Store(l.fresh())
						case 1:
							old := s.Swap(l.fresh())
							l.check(old.Value(), "Swap")
							old.Release()
						case 2:
							cur := s.Load()
							if !l.check(cur.Value(), "Load") {
								return
							}
							s.CompareAndSwap(cur, l.fresh())
							cur.Release()
						case 3:
							old := s.RCU(func(cur *raceValue) refcount.Arc[raceValue] {
								l.check(cur, "RCU's load")
								return l.fresh()
							})
							l.check(old.Value(), "RCU")
							old.Release()
						}
					}
				})
			}
			for i := range raceReaders {
				wg.Go(func() {
					defer recoverTo(t, "a reader")
					var prev refcount.Weak[raceValue]
					defer prev.Release()
					for !stop.Load() {
						a := s.Load()
						if !l.check(a.Value(), "Load") {
							return
						}
						a.Value().seen[i]++
						if up, ok := prev.Upgrade(); ok {
							if !l.check(up.Value(), "Weak.Upgrade") {
								return
							}
							up.Value().seen[i]++
							up.Release()
						}
						prev.Release()
						prev = a.Downgrade()
						a.Release()
					}
				})
			}
			wg.Go(func() {
				defer recoverTo(t, "the borrower")
				for n := 0; !stop.Load(); n++ {
					g := s.Borrow()
					if !l.check(g.Value(), "Borrow") {
						g.Release()
						return
					}
					g.Value().seen[raceReaders]++
					if n%4 == 0 {
						c := g.Clone()
						g.Release()
						if !l.check(c.Value(), "Guard.Clone") {
							return
						}
						c.Release()
					}
					g.Release()
				}
			})
		})
	})
}

// The narrowest form of the race: one writer that only Stores, readers
// that hold each handle for a few instructions, so a replaced value's last
// reference is usually the slot's and the Store destroys it; and more
// processors than CPUs, so the OS often deschedules a reader between its
// read of the slot and its increment while the writer destroys that value.
// Every Load must return a live value, never panic, and no value may be
// destroyed twice (an increment of a zero count followed by its release);
// Weak handles taken from the loaded values must never upgrade once the
// value is destroyed.
func TestLoadLosesTheRaceToTheLastRelease(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(4, runtime.GOMAXPROCS(0))))
	eachMode(t, func(t *testing.T) {
		raceFor(t, func(l *raceLedger, s *refcount.AtomicArc[raceValue], stop *atomic.Bool, wg *sync.WaitGroup) {
			wg.Go(func() {
				defer recoverTo(t, "the writer")
				for !stop.Load() {
					s.Store(l.fresh())
				}
			})
			for i := range raceReaders + 1 {
				wg.Go(func() {
					defer recoverTo(t, "a reader")
					var w refcount.Weak[raceValue]
					defer w.Release()
					for n := 0; !stop.Load(); n++ {
						a := s.Load()
						if !l.check(a.Value(), "Load") {
							return
						}
						a.Value().seen[i]++
						if n%16 == 0 {
							if up, ok := w.Upgrade(); ok {
								if !l.check(up.Value(), "Weak.Upgrade") {
									return
								}
								up.Release()
							}
							w.Release()
							w = a.Downgrade()
						}
						a.Release()
					}
				})
			}
		})
	})
}
