package offheapmap

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/epoch"
	"github.com/go-reclaim/reclaim/offheap"
)

// The concurrent resize: a grower that loaded a table a grow has
// already replaced must change nothing. Here three growers of the same
// table run at once (the first is held in testHookGrow so that the others
// queue behind it), then one more runs after keys were stored into and
// deleted from the new table: the table is replaced once, testHookGrow
// runs once (the others see the table changed before they start), and the
// later writes survive. Without growMu or without the table check, a late
// grower would copy the stale table again: the new key lost, the deleted
// one resurrected, and the stale table retired twice.
func TestGrowOfAReplacedTableIsANoOp(t *testing.T) {
	c := epoch.New()
	m, err := New[int, int](c, 1024, offheap.WithChecks())
	require.NoError(t, err)
	g := c.Enter()
	for k := range 30 {
		_, err := m.Store(g, k, k)
		require.NoError(t, err)
	}
	g.Exit()
	require.Zero(t, m.Stats().Grows)
	t0 := m.table.Load()

	var inHook, hookRuns atomic.Int32
	var overlap atomic.Bool
	first := make(chan struct{})
	var once sync.Once
	testHookGrow = func() {
		hookRuns.Add(1)
		if inHook.Add(1) > 1 {
			overlap.Store(true)
		}
		once.Do(func() {
			close(first)
			time.Sleep(20 * time.Millisecond) // the other growers arrive meanwhile
		})
		inHook.Add(-1)
	}
	defer func() { testHookGrow = nil }()

	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			g := c.Enter()
			defer g.Exit()
			assert.NoError(t, m.grow(g, t0))
		})
	}
	wg.Wait()
	require.False(t, overlap.Load(), "two grows ran at once")
	require.Equal(t, int32(1), hookRuns.Load(), "a grower of a replaced table went on")
	require.Equal(t, uint64(1), m.Stats().Grows)

	g = c.Enter()
	_, err = m.Store(g, 100, 100) // into the new table
	require.NoError(t, err)
	require.True(t, m.Delete(g, 3))
	require.NoError(t, m.grow(g, t0)) // a grower that loaded t0 long ago
	require.Equal(t, uint64(1), m.Stats().Grows)
	v, ok := m.Load(g, 100)
	require.True(t, ok, "a key stored after the grow was lost by a stale grower")
	require.Equal(t, 100, *v)
	_, ok = m.Load(g, 3)
	require.False(t, ok, "a key deleted after the grow came back")
	require.Equal(t, 30, m.Len())
	g.Exit()
	require.NoError(t, m.Close())
	require.NoError(t, c.Close())
}

// A grow that begins before Close and takes the stripes after it
// (Close does not take growMu) must see the map closed and copy nothing:
// Close has freed every entry the table links and retired the table, but
// left the tags live and m.table pointing at it. Deterministic: the grow
// of the 43rd insert is held in testHookGrow until Close has marked the
// map closed; Close then waits for the inserting Store's guard. In checked
// mode Close reports any entry leaked or freed twice. Without the closed
// check the grow publishes a table of freed entries (Grows is 1) and the
// old table is retired a second time.
func TestGrowThatFindsTheMapClosedCopiesNothing(t *testing.T) {
	c := epoch.New()
	m, err := New[int, int](c, 1024, offheap.WithChecks())
	require.NoError(t, err)
	closeErr := make(chan error, 1)
	var once sync.Once
	testHookGrow = func() {
		once.Do(func() {
			go func() { closeErr <- m.Close() }()
			for !m.closed.Load() {
				runtime.Gosched()
			}
		})
	}
	defer func() { testHookGrow = nil }()

	g := c.Enter()
	stored := 0
	for k := 0; !m.closed.Load(); k++ {
		_, err := m.Store(g, k, k)
		require.NoError(t, err, "a Store that began before Close and inserted")
		stored++
	}
	assert.Equal(t, 43, stored, "the 43rd insert grows an 8-bucket table")
	grows := m.Stats().Grows
	_, err = m.Store(g, 1000, 1)
	require.ErrorIs(t, err, offheap.ErrClosed)
	g.Exit()
	require.NoError(t, <-closeErr) // no leak, no double free
	require.Zero(t, grows, "a grow after Close published a table of freed entries")
	require.NoError(t, c.Close())
}

// A Delete that has found its key, holding its stripe, and a grow
// that starts meanwhile: the grow must wait for the stripe, so that it
// copies the table without the key. Deterministic order: the Delete is
// held in testHookFind, the grow is let run up to its stripes (plus a
// pause), then the Delete goes on. Were the copy not under every stripe,
// the grow would copy the key, the Delete would unlink it from the old
// table and free it, and the new table would link a freed entry (found by
// Load, freed again by Close).
func TestGrowWaitsForADeleteThatFoundItsKey(t *testing.T) {
	c := epoch.New()
	m, err := New[int, int](c, 1024, offheap.WithChecks())
	require.NoError(t, err)
	g := c.Enter()
	for k := range 20 {
		_, err := m.Store(g, k, k)
		require.NoError(t, err)
	}
	g.Exit()

	paused, resume := make(chan struct{}), make(chan struct{})
	var armed atomic.Bool
	armed.Store(true)
	testHookFind = func() {
		if armed.CompareAndSwap(true, false) {
			close(paused)
			<-resume
		}
	}
	defer func() { testHookFind = nil }()
	deleted := make(chan bool, 1)
	go func() {
		g := c.Enter()
		defer g.Exit()
		deleted <- m.Delete(g, 7)
	}()
	<-paused // the Delete holds 7's stripe and has read 7's slot

	growing := make(chan struct{})
	testHookGrow = func() { close(growing) }
	defer func() { testHookGrow = nil }()
	grown := make(chan error, 1)
	go func() {
		g := c.Enter()
		defer g.Exit()
		grown <- m.grow(g, m.table.Load())
	}()
	<-growing
	time.Sleep(10 * time.Millisecond) // a grow that took no stripe would finish here
	close(resume)
	require.True(t, <-deleted)
	require.NoError(t, <-grown)
	require.Equal(t, uint64(1), m.Stats().Grows)

	g = c.Enter()
	_, ok := m.Load(g, 7)
	require.False(t, ok, "the grow copied a key deleted under its stripe")
	n := 0
	m.Range(g, func(int, *int) bool { n++; return true })
	require.Equal(t, 19, n)
	require.Equal(t, 19, m.Len())
	g.Exit()
	AwaitGrace(t, c)
	require.Equal(t, int64(19), m.Stats().Entries.Live)
	require.NoError(t, m.Close())
	require.NoError(t, c.Close())
}

// A grow copies live entries only: tombstones (and the freed
// handles their slots keep) stay behind, the new table counts exactly the
// live entries as used, and no deleted key comes back. The 8-bucket table
// is filled to just below its threshold, most keys are deleted (those in
// buckets without an empty slot leave tombstones), and the table is
// rebuilt at its size.
func TestGrowLeavesTombstonesBehind(t *testing.T) {
	c := epoch.New()
	var m *Map[int, int]
	var g *epoch.Guard
	var old *table
	// The seed is random: retry until some bucket was full when its keys
	// were deleted (the 42 keys fill at least one bucket almost always).
	for try := 0; ; try++ {
		require.Less(t, try, 100, "no tombstone in 100 maps")
		var err error
		m, err = New[int, int](c, 1024, offheap.WithChecks())
		require.NoError(t, err)
		g = c.Enter()
		for k := range 42 {
			_, err := m.Store(g, k, k)
			require.NoError(t, err)
		}
		require.Zero(t, m.Stats().Grows)
		for k := range 42 {
			if k%4 != 0 {
				require.True(t, m.Delete(g, k))
			}
		}
		old = m.table.Load()
		tombstones := 0
		for i := range old.buckets {
			meta := old.buckets[i].meta.Load()
			for j := range slotsPerBucket {
				if tagAt(meta, j) == tagDeleted {
					tombstones++
				}
			}
		}
		if tombstones > 0 {
			break
		}
		g.Exit()
		require.NoError(t, m.Close())
	}
	require.NoError(t, m.grow(g, old))
	nt := m.table.Load()
	require.NotSame(t, old, nt)
	require.Equal(t, len(old.buckets), len(nt.buckets), "11 live keys: rebuilt at its size")
	require.Equal(t, int64(11), nt.used.Load(), "the new table counts its live entries only")
	for i := range nt.buckets {
		meta := nt.buckets[i].meta.Load()
		for j := range slotsPerBucket {
			require.NotEqual(t, uint8(tagDeleted), tagAt(meta, j), "a tombstone was copied")
			require.NotEqual(t, uint8(tagBusy), tagAt(meta, j))
		}
	}
	for k := range 42 {
		v, ok := m.Load(g, k)
		if k%4 == 0 {
			require.True(t, ok, "key %d", k)
			require.Equal(t, k, *v)
		} else {
			require.False(t, ok, "deleted key %d came back", k)
		}
	}
	g.Exit()
	AwaitGrace(t, c)
	require.Equal(t, int64(11), m.Stats().Entries.Live)
	require.Equal(t, 11, m.Len())
	require.NoError(t, m.Close())
	require.NoError(t, c.Close())
}

// AwaitGrace waits until everything retired so far has been reclaimed.
func AwaitGrace(t *testing.T, c *epoch.Collector) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, c.Barrier(ctx))
}
