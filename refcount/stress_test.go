package refcount_test

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/refcount"
	"github.com/go-reclaim/reclaim/stress"
)

// The stress tests run readers that Load, Borrow and Upgrade values of
// AtomicArcs while writers Store, Swap and CompareAndSwap new values every
// few microseconds. Every value has a ledger entry; its destructor marks
// the entry and poisons the value with plain writes, so a reader that sees
// a destroyed value fails the poison check or, under -race, races with the
// poison write. At the end the slots are emptied and, after Barrier, the
// ledger must show every value destroyed exactly once: none twice, none
// while read, none leaked.
//
// Each test runs for stressDuration: 300 ms times STRESS_SCALE, the soak
// factor the stress harness reads (STRESS_SCALE=200 go test -race -run
// Stress ./refcount/ for a minute).

func stressDuration(t *testing.T) time.Duration {
	t.Helper()
	if testing.Short() {
		return 50 * time.Millisecond
	}
	return time.Duration(300 * float64(time.Millisecond) * stress.Scale())
}

const stressMagic = 0x5eed_cafe_f00d_d00d

// stressValue is what the AtomicArcs hold. Its fields are plain: written
// before the value is published and by the poisoning destructor.
type stressValue struct {
	serial uint64
	check  uint64 // serial ^ stressMagic while alive
	count  int    // for the CompareAndSwap counter
	entry  *ledgerEntry
}

type ledgerEntry struct {
	destroyed atomic.Int32
}

// ledger makes values and accounts for their destruction.
type ledger struct {
	t        *testing.T
	mu       sync.Mutex
	entries  []*ledgerEntry
	failures atomic.Int32
}

func (l *ledger) fail(format string, args ...any) {
	if l.failures.Add(1) <= 10 {
		l.t.Errorf(format, args...)
	}
}

func (l *ledger) make(count int) refcount.Arc[stressValue] {
	e := &ledgerEntry{}
	l.mu.Lock()
	l.entries = append(l.entries, e)
	serial := uint64(len(l.entries))
	l.mu.Unlock()
	return refcount.NewArc(stressValue{serial: serial, check: serial ^ stressMagic, count: count, entry: e}, l.destroy)
}

// destroy is every value's destructor. Destroying a value twice panics at
// once: the second run finds the value poisoned.
func (l *ledger) destroy(v *stressValue) {
	e := v.entry
	if e == nil {
		panic(fmt.Sprintf("destructor ran on a poisoned value (serial %#x): destroyed twice", v.serial))
	}
	if n := e.destroyed.Add(1); n != 1 {
		panic(fmt.Sprintf("value %d destroyed %d times", v.serial, n))
	}
	v.serial, v.check, v.entry = ^uint64(0), 0, nil
}

// read checks that v is alive; op says how the reader got it.
func (l *ledger) read(v *stressValue, op string) {
	if v == nil {
		return
	}
	e := v.entry
	if e == nil || v.check != v.serial^stressMagic || e.destroyed.Load() != 0 {
		l.fail("%s returned a destroyed value (serial %#x)", op, v.serial)
	}
}

// verify checks, after everything was released and Barrier, that every
// value was destroyed exactly once.
func (l *ledger) verify() {
	l.mu.Lock()
	defer l.mu.Unlock()
	leaked := 0
	for _, e := range l.entries {
		switch n := e.destroyed.Load(); {
		case n == 0:
			leaked++
		case n > 1:
			l.fail("a value was destroyed %d times", n)
		}
	}
	if leaked > 0 {
		l.fail("%d of %d values never destroyed", leaked, len(l.entries))
	}
	require.NotEmpty(l.t, l.entries)
}

// spinFor busy-waits for about d, yielding now and then: a writer pauses a
// few microseconds between writes, shorter than any sleep.
func spinFor(d time.Duration) {
	for start := time.Now(); time.Since(start) < d; {
		runtime.Gosched()
	}
}

func TestStressAtomicArc(t *testing.T) {
	eachMode(t, func(t *testing.T) {
		l := &ledger{t: t}
		var slots [2]refcount.AtomicArc[stressValue]
		for i := range slots {
			slots[i].Store(l.make(0))
		}
		var stop atomic.Bool
		var wg sync.WaitGroup
		for w := range 2 {
			wg.Go(func() { stressWriter(l, &slots, &stop, uint64(w)) })
		}
		for r := range 4 {
			wg.Go(func() { stressReader(l, &slots, &stop, uint64(r)) })
		}
		time.Sleep(stressDuration(t))
		stop.Store(true)
		wg.Wait()
		for i := range slots {
			slots[i].Store(refcount.Arc[stressValue]{})
		}
		barrier(t)
		l.verify()
	})
}

func stressWriter(l *ledger, slots *[2]refcount.AtomicArc[stressValue], stop *atomic.Bool, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	for !stop.Load() {
		s := &slots[rng.IntN(len(slots))]
		switch rng.IntN(4) {
		case 0, 1:
			s.Store(l.make(0))
		case 2:
			old := s.Swap(l.make(0))
			l.read(old.Value(), "Swap")
			old.Release()
		case 3:
			old := s.Load()
			s.CompareAndSwap(old, l.make(0))
			old.Release()
		}
		spinFor(time.Duration(rng.IntN(4)) * time.Microsecond)
	}
}

func stressReader(l *ledger, slots *[2]refcount.AtomicArc[stressValue], stop *atomic.Bool, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 2))
	var weak refcount.Weak[stressValue]
	defer weak.Release()
	for !stop.Load() {
		s := &slots[rng.IntN(len(slots))]
		switch rng.IntN(4) {
		case 0, 1:
			a := s.Load()
			l.read(a.Value(), "Load")
			if rng.IntN(8) == 0 {
				weak.Release()
				weak = a.Downgrade()
			}
			runtime.Gosched() // hold it across a writer's Store
			l.read(a.Value(), "Load (held)")
			a.Release()
		case 2:
			g := s.Borrow()
			l.read(g.Value(), "Borrow")
			if rng.IntN(4) == 0 {
				c := g.Clone()
				g.Release()
				l.read(c.Value(), "Guard.Clone")
				c.Release()
			}
			g.Release()
		case 3:
			if a, ok := weak.Upgrade(); ok {
				l.read(a.Value(), "Upgrade")
				a.Release()
			}
		}
	}
}

// Writers increment a counter by replacing the value with CompareAndSwap:
// no increment is lost or applied twice, and every replaced value is
// destroyed exactly once.
func TestStressCompareAndSwapCounter(t *testing.T) {
	eachMode(t, func(t *testing.T) {
		l := &ledger{t: t}
		var s refcount.AtomicArc[stressValue]
		s.Store(l.make(0))
		const writers = 4
		var done [writers]int
		var stop atomic.Bool
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				for !stop.Load() {
					old := s.Load()
					l.read(old.Value(), "Load")
					if s.CompareAndSwap(old, l.make(old.Value().count+1)) {
						done[w]++
					}
					old.Release()
				}
			})
		}
		time.Sleep(stressDuration(t) / 2)
		stop.Store(true)
		wg.Wait()
		total := 0
		for _, n := range done {
			total += n
		}
		final := s.Swap(refcount.Arc[stressValue]{})
		require.Equal(t, total, final.Value().count, "increments lost or doubled")
		final.Release()
		barrier(t)
		l.verify()
	})
}
