package offheap

import (
	"runtime"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/epoch"
)

// fillAndFree allocates every slot of s, frees them all and waits until
// they are reclaimed: some end up in the reclaiming P's cache.
func fillAndFree(t *testing.T, c *epoch.Collector, s *Slab[uint64]) {
	t.Helper()
	var hs []Handle
	for {
		h, _, err := s.Alloc()
		if err != nil {
			require.ErrorIs(t, err, ErrFull)
			break
		}
		hs = append(hs, h)
	}
	g := c.Enter()
	for _, h := range hs {
		require.NoError(t, s.Free(g, h))
	}
	g.Exit()
	require.NoError(t, c.Barrier(t.Context()))
}

// Slots parked in the caches of other Ps (or of Ps that GOMAXPROCS has
// since taken away) are not lost: an Alloc that finds nothing else takes
// them back before it reports ErrFull.
func TestAllocTakesBackSlotsParkedOnOtherPs(t *testing.T) {
	c := epoch.New()
	s, err := NewSlab[uint64](c, 64*runtime.GOMAXPROCS(0)*4)
	require.NoError(t, err)
	p := &s.p
	require.NotEmpty(t, p.caches, "a slab this size has caches")
	fillAndFree(t, c, s)
	p.mu.Lock()
	p.drainCaches(false)
	for i := range p.caches { // park slots in every cache
		for p.caches[i].n < p.cacheCap && p.freeHead != 0 {
			m := p.meta(p.freeHead - 1)
			p.caches[i].idx[p.caches[i].n] = p.freeHead - 1
			p.caches[i].n++
			p.freeHead = m.next
		}
	}
	p.mu.Unlock()

	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1)) // only cache 0 is anyone's now
	for i := range int(p.capacity) {
		_, _, err := s.Alloc()
		require.NoError(t, err, "Alloc %d of %d", i+1, p.capacity)
	}
	_, _, err = s.Alloc()
	require.ErrorIs(t, err, ErrFull)
	require.NoError(t, s.Close())
	require.NoError(t, c.Close())
}

// Close waits for an Alloc that took a slot from a cache before Close
// began, and hands out no slot after: the block is not unmapped under it.
func TestCloseWaitsForACachedAlloc(t *testing.T) {
	c := epoch.New()
	s, err := NewSlab[[64]byte](c, 64*runtime.GOMAXPROCS(0)*4)
	require.NoError(t, err)
	require.NotEmpty(t, s.p.caches)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1)) // the reclaims and the Alloc share cache 0
	g := c.Enter()
	for range 8 {
		h, _, err := s.Alloc()
		require.NoError(t, err)
		require.NoError(t, s.Free(g, h))
	}
	g.Exit()
	require.NoError(t, c.Barrier(t.Context()))
	require.Positive(t, s.p.caches[0].n, "the freed slots wait in the cache")

	paused, resume := make(chan struct{}), make(chan struct{})
	testHookCachedAlloc = func() { close(paused); <-resume }
	defer func() { testHookCachedAlloc = nil }()
	allocated := make(chan error)
	go func() {
		_, v, err := s.Alloc()
		if err == nil {
			v[63] = 1 // the block is still mapped
		}
		allocated <- err
	}()
	<-paused
	closed := make(chan error)
	go func() { closed <- s.Close() }()
	select {
	case <-closed:
		t.Fatal("Close returned while an Alloc was handing out a slot")
	case <-time.After(50 * time.Millisecond):
	}
	testHookCachedAlloc = nil
	close(resume)
	require.NoError(t, <-allocated)
	require.NoError(t, <-closed)
	_, _, err = s.Alloc()
	require.ErrorIs(t, err, ErrClosed)
	require.NoError(t, c.Close())
}

// A write past the end of a value that reaches the next free slot's header
// (its free-list link) is reported by the Alloc that would follow the link,
// instead of sending later Allocs to a wild address.
func TestOverwrittenFreeHeaderIsCorruption(t *testing.T) {
	c := epoch.New()
	s, err := NewSlab[[24]byte](c, 4, WithChecks())
	require.NoError(t, err)
	var hs [3]Handle
	for i := range hs {
		hs[i], _, err = s.Alloc()
		require.NoError(t, err)
	}
	g := c.Enter()
	require.NoError(t, s.Free(g, hs[1]))
	g.Exit()
	require.NoError(t, c.Barrier(t.Context()))
	g = c.Enter()
	v, err := s.Get(g, hs[0])
	require.NoError(t, err)
	over := unsafe.Slice((*byte)(unsafe.Pointer(v)), 24+headerSize)
	over[24+4] = 0x7f // the link field of slot 1's header, right after slot 0
	g.Exit()
	_, _, err = s.Alloc()
	require.ErrorIs(t, err, ErrCorrupted)
	require.Contains(t, err.Error(), "header of a free slot was overwritten")
	_, _, err = s.Alloc() // the list is dropped; fresh slots remain
	require.NoError(t, err)
	_ = s.Close() // leaks are reported: the test allocated and never freed
	require.NoError(t, c.Close())
}
