package offheapmap_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-reclaim/reclaim/container/offheapmap"
	"github.com/go-reclaim/reclaim/epoch"
	"github.com/go-reclaim/reclaim/offheap"
)

type grVal struct {
	K, Seq, Check uint64
}

func grOpen(t *testing.T, maxEntries int) (*offheapmap.Map[uint64, grVal], *epoch.Collector) {
	t.Helper()
	c := epoch.New()
	m, err := offheapmap.New[uint64, grVal](c, maxEntries)
	if err != nil {
		t.Fatal(err)
	}
	return m, c
}

// Keys stored before the test and never deleted must be found by every
// Load, with a self-consistent value whose sequence never goes backwards
// for one reader, while writers replace them, insert and delete other keys
// (tombstones, emptied slots, many grows and same-size rebuilds). At the
// end Range yields every present key exactly once and Len agrees.
func TestStableKeysSurviveGrowsAndChurn(t *testing.T) {
	m, c := grOpen(t, 1<<16)
	const stable = 200
	g := c.Enter()
	for k := range uint64(stable) {
		if _, err := m.Store(g, k, grVal{K: k, Seq: 0, Check: k}); err != nil {
			t.Fatal(err)
		}
	}
	g.Exit()

	var stop atomic.Bool
	var bad atomic.Value
	fail := func(err error) { bad.CompareAndSwap(nil, err) }
	var wg sync.WaitGroup
	// Churn: insert and delete transient keys (disjoint per writer).
	for w := range 2 {
		wg.Go(func() {
			base := uint64(1_000_000 * (w + 1))
			var live []uint64
			for i := uint64(0); !stop.Load(); i++ {
				g := c.Enter()
				k := base + i
				if _, err := m.Store(g, k, grVal{K: k, Seq: 1, Check: k ^ 1}); err != nil {
					g.Exit()
					if !errors.Is(err, offheap.ErrFull) {
						fail(err)
						return
					}
					runtime.Gosched() // entries in their grace period
					continue
				}
				live = append(live, k)
				if len(live) > 600 {
					for _, d := range live[:400] {
						if !m.Delete(g, d) {
							fail(fmt.Errorf("Delete(%d) of a present key returned false", d))
						}
					}
					live = append(live[:0], live[400:]...)
				}
				g.Exit()
			}
			g := c.Enter()
			for _, d := range live {
				if !m.Delete(g, d) {
					fail(fmt.Errorf("final Delete(%d) of a present key returned false", d))
				}
			}
			g.Exit()
		})
	}
	// Replacer: bump the stable keys' sequence numbers.
	wg.Go(func() {
		for seq := uint64(1); !stop.Load(); seq++ {
			g := c.Enter()
			for k := range uint64(stable) {
				if rep, err := m.Store(g, k, grVal{K: k, Seq: seq, Check: k ^ seq}); errors.Is(err, offheap.ErrFull) {
					continue
				} else if err != nil || !rep {
					fail(fmt.Errorf("Store(%d) replacing: %v, replaced %v", k, err, rep))
				}
			}
			g.Exit()
			runtime.Gosched()
		}
	})
	// Readers.
	for r := range 2 {
		wg.Go(func() {
			last := make([]uint64, stable)
			for i := 0; !stop.Load(); i++ {
				g := c.Enter()
				for k := uint64(r); k < stable; k += 2 {
					v, ok := m.Load(g, k)
					if !ok {
						fail(fmt.Errorf("Load(%d) of a key present throughout: absent (grows so far %d)", k, m.Stats().Grows))
						break
					}
					if v.K != k || v.Check != k^v.Seq {
						fail(fmt.Errorf("Load(%d) = %+v: not a value ever stored", k, *v))
						break
					}
					if v.Seq < last[k] {
						fail(fmt.Errorf("Load(%d): sequence went back from %d to %d", k, last[k], v.Seq))
						break
					}
					last[k] = v.Seq
				}
				g.Exit()
			}
		})
	}
	time.Sleep(400 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	if err, _ := bad.Load().(error); err != nil {
		t.Fatal(err)
	}
	g = c.Enter()
	seen := make(map[uint64]int)
	m.Range(g, func(k uint64, v *grVal) bool {
		seen[k]++
		return true
	})
	g.Exit()
	if len(seen) != stable || m.Len() != stable {
		t.Errorf("after churn: Range saw %d keys, Len %d, want %d", len(seen), m.Len(), stable)
	}
	for k, n := range seen {
		if n != 1 || k >= stable {
			t.Errorf("Range yielded key %d %d times", k, n)
		}
	}
	st := m.Stats()
	if st.Grows == 0 {
		t.Errorf("no grow happened: %+v", st)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Barrier(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}

// Writers of disjoint keys race many grows from an empty map: no insert is
// lost or duplicated, Len counts each once, and once the grace periods are
// over the entry slab holds exactly the live entries (no leaked or doubly
// freed entry through the copies).
func TestConcurrentInsertsAcrossGrows(t *testing.T) {
	for round := range 3 {
		m, c := grOpen(t, 1<<15)
		const per = 3000
		var wg sync.WaitGroup
		var bad atomic.Value
		for w := range 3 {
			wg.Go(func() {
				for i := range uint64(per) {
					k := uint64(w)<<32 | i
					g := c.Enter()
					rep, err := m.Store(g, k, grVal{K: k, Check: k})
					g.Exit()
					if err != nil || rep {
						bad.CompareAndSwap(nil, fmt.Errorf("Store(%#x) of a new key: replaced %v, %v", k, rep, err))
						return
					}
				}
			})
		}
		wg.Wait()
		if err, _ := bad.Load().(error); err != nil {
			t.Fatal(err)
		}
		g := c.Enter()
		for w := range 3 {
			for i := range uint64(per) {
				k := uint64(w)<<32 | i
				if v, ok := m.Load(g, k); !ok || v.K != k {
					t.Fatalf("round %d: key %#x lost (ok %v)", round, k, ok)
				}
			}
		}
		n := 0
		m.Range(g, func(uint64, *grVal) bool { n++; return true })
		g.Exit()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := c.Barrier(ctx); err != nil {
			t.Fatal(err)
		}
		cancel()
		st := m.Stats()
		if n != 3*per || m.Len() != 3*per || st.Entries.Live != 3*per || st.Entries.Pending != 0 {
			t.Fatalf("round %d: Range %d, Len %d, stats %+v; want %d", round, n, m.Len(), st, 3*per)
		}
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// Close while writers (Store, replacing Store, Delete) and readers are in
// flight: no panic, no fault; Close returns nil (in checked mode: no entry
// leaked, none freed twice); operations after Close report it.
func TestCloseWhileBusy(t *testing.T) {
	for round := range 10 {
		c := epoch.New()
		m, err := offheapmap.New[uint64, grVal](c, 1<<14, offheap.WithChecks())
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var closed atomic.Bool
		var bad atomic.Value
		for w := range 2 {
			wg.Go(func() {
				for i := uint64(0); !closed.Load(); i++ {
					g := c.Enter()
					k := uint64(w)<<32 | i%500
					_, err := m.Store(g, k, grVal{K: k})
					if err != nil && !closed.Load() && !errors.Is(err, offheap.ErrFull) {
						bad.CompareAndSwap(nil, err)
					}
					if i%3 == 0 {
						m.Delete(g, k)
					}
					g.Exit()
				}
			})
		}
		runtime.Gosched()
		time.Sleep(time.Duration(round%3) * time.Millisecond)
		closed.Store(true)
		cerr := m.Close()
		wg.Wait()
		if err, _ := bad.Load().(error); err != nil {
			t.Fatal(err)
		}
		if cerr != nil {
			t.Fatalf("round %d: Close: %v", round, cerr)
		}
		g := c.Enter()
		if _, err := m.Store(g, 1, grVal{}); err == nil {
			t.Fatal("Store after Close succeeded")
		}
		if m.Delete(g, 1) {
			t.Fatal("Delete after Close reported true")
		}
		g.Exit()
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
