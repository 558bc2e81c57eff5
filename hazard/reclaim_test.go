package hazard_test

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/hazard"
)

// Reclaim frees an unprotected object before it returns, and retires a
// protected one, which is freed once the protection ends; Stats counts the
// first as retired and reclaimed, the second as pending until then.
func TestReclaimFreesAtOnceUnlessProtected(t *testing.T) {
	d := hazard.New(hazard.WithMaxBatchAge(0))
	free := &trackedObj{}
	require.True(t, hazard.Reclaim(d, free, freeObj))
	require.EqualValues(t, 1, free.freed.Load(), "freed before Reclaim returned")

	x, hp := protectUnlinked(t, d)
	freedX := 0
	require.False(t, hazard.Reclaim(d, x, func(*int) { freedX++ }))
	require.Zero(t, freedX, "a protected object was freed")
	st := d.Stats()
	require.EqualValues(t, 2, st.Retired)
	require.EqualValues(t, 1, st.Reclaimed)
	require.EqualValues(t, 1, st.Pending)

	hp.Release()
	d.Flush()
	require.Equal(t, 1, freedX, "freed once no longer protected")
	require.Zero(t, d.Stats().Pending)
	require.NoError(t, d.Close())
}

func TestReclaimMisuse(t *testing.T) {
	d := hazard.New()
	require.PanicsWithValue(t, "hazard: Retire of a nil pointer", func() { hazard.Reclaim(d, (*int)(nil), func(*int) {}) })
	require.PanicsWithValue(t, "hazard: Reclaim with a nil free function", func() { hazard.Reclaim(d, new(int), nil) })
	require.NoError(t, d.Close())
	require.PanicsWithValue(t, "hazard: Reclaim on a closed Domain", func() { hazard.Reclaim(d, new(int), func(*int) {}) })
}

// reclaimObj is a shared object; free poisons val with a plain write, so
// that under -race a reader that overlaps it is a data race, and counts.
type reclaimObj struct {
	val   int
	freed atomic.Int32
}

const reclaimLive, reclaimDead = 0x5eed, -1

func reclaimFree(o *reclaimObj) { o.val = reclaimDead; o.freed.Add(1) }

// Writers replace a shared object and Reclaim the old one while readers
// protect it, read it, yield and read it again: no reader sees a freed
// object, and every object is freed exactly once (at once, or later by
// Flush or Close). Run with and without -race, and with RECLAIM_FENCE=sc.
//
// Verified to fail, every run, on a Reclaim that frees without reading the
// slots, on a protects that stops at the first slot, and (asymmetric path)
// on a protects without its heavy fence.
func TestReclaimRacesProtect(t *testing.T) {
	d := hazard.New(hazard.WithMaxBatchAge(time.Millisecond))
	var src atomic.Pointer[reclaimObj]
	src.Store(&reclaimObj{val: reclaimLive})
	var (
		mu      sync.Mutex
		all     []*reclaimObj
		atOnce  atomic.Int64
		bad     atomic.Int64
		stop    atomic.Bool
		wg      sync.WaitGroup
		free    = reclaimFree
		readers = max(2, runtime.GOMAXPROCS(0))
	)
	for range readers {
		wg.Go(func() {
			hp := d.Acquire()
			defer hp.Release()
			for i := 0; !stop.Load(); i++ {
				o := hazard.Protect(hp, &src)
				if o.val != reclaimLive {
					bad.Add(1)
				}
				if i%8 == 0 {
					runtime.Gosched()
					if o.val != reclaimLive {
						bad.Add(1)
					}
				}
				hp.Reset()
			}
		})
	}
	for range 2 {
		wg.Go(func() {
			for !stop.Load() {
				n := &reclaimObj{val: reclaimLive}
				old := src.Swap(n)
				mu.Lock()
				all = append(all, old)
				mu.Unlock()
				if hazard.Reclaim(d, old, free) {
					atOnce.Add(1)
				}
			}
		})
	}
	time.Sleep(300 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	require.Zero(t, bad.Load(), "readers saw a freed object")
	require.NoError(t, d.Close())
	for i, o := range all {
		require.EqualValues(t, 1, o.freed.Load(), "object %d of %d freed %d times", i, len(all), o.freed.Load())
	}
	require.Positive(t, atOnce.Load(), "no object was freed at once")
	t.Logf("%d objects replaced, %d freed at once", len(all), atOnce.Load())
}
