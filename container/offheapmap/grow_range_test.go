package offheapmap_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/container/offheapmap"
	"github.com/go-reclaim/reclaim/offheap"
)

// Range whose callback grows the map (many times) and deletes the
// key it is given. Range goes on over the table it loaded, which the grows
// retired: every key present from Range's start to its end is yielded, no
// key twice, every value is its key's, and the pointers Range handed out
// stay readable until the guard exits, although their entries were freed
// (Delete) and their table retired.
func TestRangeWhileItsCallbackGrowsTheMap(t *testing.T) {
	m, c := open(t, 1<<16)
	const n = 40 // below the first grow of the 8-bucket table
	g := c.Enter()
	for k := range uint64(n) {
		_, err := m.Store(g, k, value{A: k, B: ^k})
		require.NoError(t, err)
	}
	seen := map[uint64]int{}
	kept := map[uint64]*value{}
	next := uint64(1 << 32)
	m.Range(g, func(k uint64, v *value) bool {
		require.Equal(t, value{A: k, B: ^k}, *v, "a value of another key")
		seen[k]++
		kept[k] = v
		if k < n && k%3 == 0 {
			require.True(t, m.Delete(g, k))
		}
		for range 40 {
			_, err := m.Store(g, next, value{A: next, B: ^next})
			require.NoError(t, err)
			next++
		}
		return true
	})
	require.Greater(t, m.Stats().Grows, uint64(3))
	for k := range uint64(n) {
		require.Equal(t, 1, seen[k], "key %d, present until Range gave it", k)
	}
	for k, times := range seen {
		require.Equal(t, 1, times, "key %d yielded %d times", k, times)
	}
	for k, v := range kept {
		require.Equal(t, value{A: k, B: ^k}, *v, "a pointer from Range changed before its guard exited")
	}
	for k := range uint64(n) {
		_, ok := m.Load(g, k)
		require.Equal(t, k%3 != 0, ok, "key %d", k)
	}
	require.Equal(t, n-(n+2)/3+int(next-1<<32), m.Len())
	g.Exit()
	closeAll(t, m, c)
}

// the entry budget after growth. The map's maxEntries entries are
// stored through several grows (a grow takes no entry), then a Store of a
// new key and one replacing a key fail with ErrFull and leave the map and
// its table as they were; a Delete gives its entry back only after the
// grace period.
func TestFullAfterGrowth(t *testing.T) {
	const maxEntries = 200
	m, c := open(t, maxEntries)
	g := c.Enter()
	for k := range uint64(maxEntries) {
		_, err := m.Store(g, k, value{A: k})
		require.NoError(t, err)
	}
	st := m.Stats()
	require.Positive(t, st.Grows)
	require.Equal(t, int64(maxEntries), st.Entries.Live)
	require.Zero(t, st.Entries.Pending)

	_, err := m.Store(g, 1000, value{A: 1000})
	require.ErrorIs(t, err, offheap.ErrFull)
	_, err = m.Store(g, 5, value{A: 99})
	require.ErrorIs(t, err, offheap.ErrFull)
	_, ok := m.Load(g, 1000)
	require.False(t, ok)
	v, ok := m.Load(g, 5)
	require.True(t, ok)
	require.Equal(t, value{A: 5}, *v)
	after := m.Stats()
	require.Equal(t, st.Buckets, after.Buckets)
	require.Equal(t, st.Grows, after.Grows)
	require.Equal(t, maxEntries, after.Len)

	require.True(t, m.Delete(g, 5))
	_, err = m.Store(g, 1000, value{A: 1000})
	require.ErrorIs(t, err, offheap.ErrFull, "the deleted entry is in its grace period")
	g.Exit()
	offheapmap.AwaitGrace(t, c)
	g = c.Enter()
	_, err = m.Store(g, 1000, value{A: 1000})
	require.NoError(t, err)
	n := 0
	m.Range(g, func(k uint64, v *value) bool { n++; require.Equal(t, k, v.A); return true })
	require.Equal(t, maxEntries, n)
	require.Equal(t, maxEntries, m.Len())
	g.Exit()
	closeAll(t, m, c)
}
