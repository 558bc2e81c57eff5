package perp_test

import (
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/internal/perp"
	"github.com/go-reclaim/reclaim/internal/pin"
)

// Goroutines on every P increment their shard's counter with plain
// read-modify-writes while pinned: if two goroutines ever shared a shard at
// once, increments would be lost (and under -race the detector reports it).
func TestShardsAreExclusiveWhilePinned(t *testing.T) {
	s := perp.New[int]()
	const goroutines, rounds = 16, 20000
	var wg sync.WaitGroup
	var missed int64
	var mu sync.Mutex
	for range goroutines {
		wg.Go(func() {
			var local, sink int64
			for i := range rounds {
				v := s.Pin(pin.Pin())
				if v == nil {
					local++
				} else {
					n := *v
					for range i % 16 { // widen the read-to-write window
						sink++
					}
					*v = n + 1
				}
				s.Unpin(v)
			}
			_ = sink
			mu.Lock()
			missed += local
			mu.Unlock()
		})
	}
	wg.Wait()
	var total int64
	for pid := range runtime.GOMAXPROCS(0) {
		pin.Pin()
		v := s.Pin(pid) // each P's shard, from this goroutine: the others are done
		total += int64(*v)
		s.Unpin(v)
	}
	require.EqualValues(t, goroutines*rounds, total+missed)
	require.Zero(t, missed, "GOMAXPROCS did not change, so every P has a shard")
}

func TestPinWithoutShard(t *testing.T) {
	s := perp.New[int]()
	pin.Pin()
	v := s.Pin(runtime.GOMAXPROCS(0)) // as for a P created after New
	require.Nil(t, v)
	s.Unpin(v)
	var zero perp.Shards[int]
	v = zero.Pin(pin.Pin())
	require.Nil(t, v, "the zero value has no shards")
	zero.Unpin(v)
}
