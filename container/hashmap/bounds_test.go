package hashmap_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/container/hashmap"
	"github.com/go-reclaim/reclaim/epoch"
)

// Every NaN is one key, whatever the bucket count (maphash alone would
// scatter NaNs over the buckets, and a NaN would be found again only when
// two happened to share one).
func TestNaNIsOneKey(t *testing.T) {
	for _, buckets := range []int{1, 64} {
		m := hashmap.NewGC[float64, int](buckets)
		for i := range 100 {
			old, replaced := m.Put(math.NaN(), i)
			require.Equal(t, i > 0, replaced, "Put %d of NaN", i)
			if replaced {
				require.Equal(t, i-1, old)
			}
			m.Put(float64(i), i) // other keys around it
		}
		v, ok := m.Get(math.NaN())
		require.True(t, ok, "%d buckets: a NaN key was not found again", buckets)
		require.Equal(t, 99, v)
		old, deleted := m.Delete(math.NaN())
		require.True(t, deleted)
		require.Equal(t, 99, old)
		_, ok = m.Get(math.NaN())
		require.False(t, ok, "deleted NaN still found")
		for i := range 100 {
			v, ok := m.Get(float64(i))
			require.True(t, ok)
			require.Equal(t, i, v)
		}
	}
}

// TestOpenGuardBoundsPending holds a reader's guard open, after a Get
// that reserved, while a writer replaces the values of a few keys
// thousands of times (each Put retires the node it replaces), flushing as
// it goes. On a robust collector the reader holds back only the nodes that
// were alive while its reservation could reach them, so pending stays
// bounded (package list's documentation, which hashmap's defers to); on a
// classic one it holds back all of them, which shows the writer did
// retire that much. Then the reader, still in the same guard, must see
// the last values.
func TestOpenGuardBoundsPending(t *testing.T) {
	const keys, rounds = 8, 500
	for _, robust := range []bool{false, true} {
		name := map[bool]string{false: "Epoch", true: "EpochRobust"}[robust]
		t.Run(name, func(t *testing.T) {
			opts := []epoch.Option{epoch.WithBatchSize(4), epoch.WithMaxBatchAge(0)}
			if robust {
				opts = append(opts, epoch.WithRobust())
			}
			c := epoch.New(opts...)
			m := hashmap.NewEpoch[int, int](c, 2)
			w := c.Register()
			put := func(k, v int) (replaced bool) {
				g := w.Enter()
				defer g.Exit()
				_, replaced = m.Put(g, k, v)
				return replaced
			}
			for k := range keys {
				require.False(t, put(k, 0))
			}
			reader := c.Enter()
			v, ok := m.Get(reader, 3)
			require.True(t, ok)
			require.Zero(t, v)

			var peak uint64
			for i := 1; i <= rounds; i++ {
				for k := range keys {
					require.True(t, put(k, i))
				}
				if i%16 == 0 {
					c.Flush()
					peak = max(peak, c.Stats().Pending)
				}
			}
			replaced := uint64(rounds * keys)
			if robust {
				require.Less(t, peak, uint64(64), "pending grew under an open robust guard: %d of %d retired", peak, replaced)
			} else {
				require.Greater(t, peak, replaced/2, "a classic guard holds back what was retired while it was open")
			}
			t.Logf("%s: peak pending %d of %d retired under the open guard", name, peak, replaced)
			for k := range keys {
				v, ok := m.Get(reader, k)
				require.True(t, ok)
				require.Equal(t, rounds, v, "key %d", k)
			}
			reader.Exit()
			w.Unregister()
			require.NoError(t, c.Close())
			st := c.Stats()
			require.Equal(t, replaced, st.Retired, "every replaced node retired exactly once")
			require.Equal(t, st.Retired, st.Reclaimed)
		})
	}
}
