package registry

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/internal/procs"
)

func TestLocate(t *testing.T) {
	// Every index maps to a distinct (bucket, offset) inside its bucket,
	// and the buckets tile the index space in order.
	next := uint32(0)
	for b := range 6 {
		for off := range bucketLen(b) {
			gb, goff := locate(next)
			require.Equal(t, b, gb, "index %d", next)
			require.Equal(t, off, goff, "index %d", next)
			next++
		}
	}
}

func TestSlotsNeverMoveAndAreReused(t *testing.T) {
	r := New[int]()
	var held []*Slot[int]
	for i := range 1000 {
		s := r.Get()
		s.Value = i
		held = append(held, s)
	}
	require.Equal(t, 1000, r.Len())
	seen := map[*Slot[int]]bool{}
	for s := range r.All() {
		seen[s] = true
	}
	for i, s := range held {
		require.True(t, seen[s], "slot %d missing from All", i)
		require.Equal(t, i, s.Value, "slot %d moved or was overwritten", i)
	}
	for _, s := range held {
		r.Put(s)
	}
	for range 1000 {
		r.Get()
	}
	// A P keeps up to two slots put back on it (its home and spare): if the
	// goroutine moved between Ps, those of the others stay there.
	require.LessOrEqual(t, r.Len(), 1000+2*runtime.GOMAXPROCS(0), "Get after Put must reuse slots, not grow")
}

// Concurrent owners never share a slot.
func TestExclusiveOwnership(t *testing.T) {
	r := New[atomic.Int32]()
	// Holding several slots at once sends most Gets past the P's home and
	// spare slots to the shared free list.
	churnOwners(t, r, 4)
	// A Get grows the registry when the free list is empty, even if the
	// home or spare slot of another P is free: at most two idle per P.
	require.LessOrEqual(t, r.Len(), 8*4+2*runtime.GOMAXPROCS(0))
}

// Ownership stays exclusive while GOMAXPROCS changes: Ps beyond those the
// home slots were sized for have none, and the homes of Ps that went away
// stay idle until the P comes back.
func TestExclusiveOwnershipWhileGOMAXPROCSChanges(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	r := New[atomic.Int32]()
	stop := procs.Flip(runtime.Gosched)
	churnOwners(t, r, 2)
	stop()
	require.LessOrEqual(t, r.Len(), 8*2+2*2, "at most an idle home and spare per P that New sized for")
}

// churnOwners runs 8 goroutines that each take up to held slots at once,
// yield, and give them back, 20,000 times, failing t if a slot ever has
// two owners.
func churnOwners(t *testing.T, r *Registry[atomic.Int32], held int) {
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			mine := make([]*Slot[atomic.Int32], held)
			for i := range 20000 {
				k := 1 + i%held
				for j := range k {
					mine[j] = r.Get()
					if mine[j].Value.Add(1) != 1 {
						t.Error("slot handed to two owners at once")
					}
				}
				runtime.Gosched()
				for j := range k {
					mine[j].Value.Add(-1)
					r.Put(mine[j])
				}
			}
		})
	}
	wg.Wait()
}

// A scan may reach a slot before its first owner has it; its index must
// already be readable then (a race the detector reported when grow wrote
// the index after publishing the slot).
func TestIndexReadableDuringGrowth(t *testing.T) {
	r := New[int]()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(done)
		for range 5000 {
			r.Get()
		}
	})
	wg.Go(func() {
		for {
			i := 0
			for s := range r.All() {
				if s.Index() != i {
					t.Errorf("slot at position %d has index %d", i, s.Index())
					return
				}
				i++
			}
			select {
			case <-done:
				return
			default:
			}
		}
	})
	wg.Wait()
}

// The first slot given back on a P becomes its home: Get returns it while
// it is free, GetLong never takes it, and giving it back from anywhere
// makes it available again. While it is owned, the P's spare serves the
// P, and only when both are taken does a slot go through the free list.
func TestHomeSlot(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1)) // one P: every Get and Put sees the same home
	r := New[int]()
	first := r.Get()
	r.Put(first)
	require.True(t, first.home, "the first slot given back on a P is adopted as its home")

	home := r.Get()
	require.Same(t, first, home, "Get returns the free home slot")
	other := r.Get()
	require.NotSame(t, home, other, "the home slot is handed to one owner at a time")
	long := r.GetLong()
	require.False(t, long.home, "GetLong never hands out a home slot")
	r.Put(other)
	require.False(t, other.home, "a P has one home slot")
	require.Zero(t, r.free.Load(), "while the home is owned, the spare keeps a slot given back, not the free list")
	require.Same(t, other, r.Get(), "Get takes the spare while the home is owned")
	r.Put(other)
	r.Put(long)
	require.NotZero(t, r.free.Load(), "with the home owned and the spare full, a slot goes to the free list")

	r.Put(home)
	require.Same(t, home, r.Get(), "a home slot given back is free again")
	require.Equal(t, 3, r.Len())
}
