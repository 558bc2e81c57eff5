package refcount_test

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/refcount"
)

// r6val is a value whose destructor poisons it with a plain write (a data
// race under -race with a reader that overlaps it) and counts its runs.
type r6val struct {
	v    int
	runs *atomic.Int32
}

const r6live, r6dead = 0x600d, -6

func r6new(runs *atomic.Int32) refcount.Arc[r6val] {
	return refcount.NewArc(r6val{v: r6live, runs: runs}, func(x *r6val) {
		x.v = r6dead
		x.runs.Add(1)
	})
}

// Each kind of write, with no Guard on the value it replaces, releases the
// slot's reference before it returns (the destructor has run, without
// Barrier); with a Guard on it, the write leaves it alone, the Guard reads
// it and Clones it, and the next write after the Guard's Release (on
// another AtomicArc) releases it, exactly once.
//
// Catches: retireSlotRef that only retires (no Reclaim, no Flush), or that
// releases the reference without looking at the hazard pointers.
func TestWritesReleaseUnlessGuarded(t *testing.T) {
	writes := map[string]func(s *refcount.AtomicArc[r6val], a refcount.Arc[r6val]){
		"Store": func(s *refcount.AtomicArc[r6val], a refcount.Arc[r6val]) { s.Store(a) },
		"Swap": func(s *refcount.AtomicArc[r6val], a refcount.Arc[r6val]) {
			old := s.Swap(a)
			old.Release()
		},
		"CompareAndSwap": func(s *refcount.AtomicArc[r6val], a refcount.Arc[r6val]) {
			cur := s.Load()
			if !s.CompareAndSwap(cur, a) {
				panic("CompareAndSwap failed")
			}
			cur.Release()
		},
		"RCU": func(s *refcount.AtomicArc[r6val], a refcount.Arc[r6val]) {
			old := s.RCU(func(*r6val) refcount.Arc[r6val] { return a })
			old.Release()
		},
	}
	for name, write := range writes {
		t.Run(name, func(t *testing.T) {
			eachMode(t, func(t *testing.T) {
				var runsX, runsY, runsZ atomic.Int32
				s := refcount.NewAtomicArc(r6new(&runsX))
				write(s, r6new(&runsY))
				require.EqualValues(t, 1, runsX.Load(), "an unguarded value was not destroyed by the write")

				g := s.Borrow()
				write(s, r6new(&runsZ))
				require.Zero(t, runsY.Load(), "a guarded value was destroyed")
				require.Equal(t, r6live, g.Value().v)
				c := g.Clone()
				g.Release()
				var runsO atomic.Int32
				other := refcount.NewAtomicArc(r6new(&runsO))
				other.Store(refcount.Arc[r6val]{}) // a write that gives up a reference: its Flush releases the slot's
				require.EqualValues(t, 1, runsO.Load())
				require.Zero(t, runsY.Load(), "the Clone still holds it")
				require.Equal(t, r6live, c.Value().v)
				c.Release()
				require.EqualValues(t, 1, runsY.Load())

				s.Store(refcount.Arc[r6val]{})
				barrier(t)
				require.EqualValues(t, 1, runsX.Load())
				require.EqualValues(t, 1, runsY.Load())
				require.EqualValues(t, 1, runsZ.Load())
			})
		})
	}
}

// Barrier waits for a Guard that protects a replaced value, the slot's
// reference stays counted meanwhile (a Weak upgrades), and once the Guard
// is released Barrier releases it and the destructor runs once; then the
// Weak no longer upgrades.
func TestBarrierAndWeakWithGuard(t *testing.T) {
	eachMode(t, func(t *testing.T) {
		var runsX, runsY atomic.Int32
		x := r6new(&runsX)
		w := x.Downgrade()
		defer w.Release()
		s := refcount.NewAtomicArc(x) // the slot's is the only strong reference
		g := s.Borrow()
		s.Store(r6new(&runsY))
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		require.ErrorIs(t, refcount.Barrier(ctx), context.DeadlineExceeded)
		cancel()
		require.Zero(t, runsX.Load())
		up, ok := w.Upgrade()
		require.True(t, ok, "the retired slot reference still counts")
		require.Equal(t, r6live, up.Value().v)
		up.Release()
		require.Zero(t, runsX.Load())
		g.Release()
		barrier(t)
		require.EqualValues(t, 1, runsX.Load())
		_, ok = w.Upgrade()
		require.False(t, ok)
		s.Store(refcount.Arc[r6val]{})
		barrier(t)
		require.EqualValues(t, 1, runsY.Load())
	})
}

// Readers Borrow (reading the value, yielding, reading again, Cloning now
// and then) and Load, Weak-upgrade, while writers Store, Swap,
// CompareAndSwap and RCU: no reader sees a destroyed value, every value is
// destroyed exactly once after Barrier.
func TestGuardsRaceWrites(t *testing.T) {
	var (
		s     refcount.AtomicArc[r6val]
		mu    sync.Mutex
		runs  []*atomic.Int32
		bad   atomic.Int64
		stop  atomic.Bool
		wg    sync.WaitGroup
		fresh = func() refcount.Arc[r6val] {
			r := new(atomic.Int32)
			mu.Lock()
			runs = append(runs, r)
			mu.Unlock()
			return r6new(r)
		}
	)
	s.Store(fresh())
	for r := range 2 {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				g := s.Borrow()
				v := g.Value()
				if v.v != r6live {
					bad.Add(1)
				}
				if i%8 == r {
					runtime.Gosched()
				}
				if v.v != r6live {
					bad.Add(1)
				}
				if i%16 == 0 {
					c := g.Clone()
					w := c.Downgrade()
					g.Release()
					if c.Value().v != r6live {
						bad.Add(1)
					}
					c.Release()
					if u, ok := w.Upgrade(); ok {
						if u.Value().v != r6live {
							bad.Add(1)
						}
						u.Release()
					}
					w.Release()
					continue
				}
				g.Release()
			}
		})
	}
	for k := range 2 {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				switch (i + k) % 4 {
				case 0:
					s.Store(fresh())
				case 1:
					old := s.Swap(fresh())
					old.Release()
				case 2:
					cur := s.Load()
					s.CompareAndSwap(cur, fresh())
					cur.Release()
				default:
					old := s.RCU(func(*r6val) refcount.Arc[r6val] { return fresh() })
					old.Release()
				}
			}
		})
	}
	time.Sleep(200 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	s.Store(refcount.Arc[r6val]{})
	barrier(t)
	require.Zero(t, bad.Load(), "a reader saw a destroyed value")
	for i, r := range runs {
		require.EqualValues(t, 1, r.Load(), "value %d of %d", i, len(runs))
	}
	t.Logf("%d values", len(runs))
}
