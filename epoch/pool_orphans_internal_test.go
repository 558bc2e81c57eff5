package epoch

import (
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// addOrphans orphans a sealed batch of one node for each tag, counted as
// retired (so that Close waits for them and finds nothing missing).
func addOrphans(p *Pool[int], tags ...uint64) {
	var bs []*nodeBatch[int]
	for _, tag := range tags {
		g := p.c.Enter() // not under mu: Exit may flush the slot, which takes it
		countRetired(&g.s.Value)
		g.Exit()
		bs = append(bs, &nodeBatch[int]{epoch: tag, nodes: []*int{new(int)}})
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.orphan(bs...)
}

// expiredOrphan reports whether any of p's orphans has expired at e.
func expiredOrphan(p *Pool[int], e uint64) bool {
	for _, b := range p.orphans {
		if expiredAt(b.epoch, e) {
			return true
		}
	}
	return false
}

// adoptOrphan (a classic refill) takes an expired orphan whenever there is
// one, whatever the order in which batches were orphaned, adopted and
// judged: the bound that lets it skip the scan never hides one.
func TestAdoptOrphanFindsEveryExpiredOrphan(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := New(WithMaxBatchAge(0))
		defer func() { require.NoError(t, c.Close()) }()
		p := NewPool[int](c)
		tag := rapid.Uint64Range(1, 30)
		for range rapid.IntRange(1, 60).Draw(t, "steps") {
			switch rapid.IntRange(0, 2).Draw(t, "op") {
			case 0:
				addOrphans(p, tag.Draw(t, "orphan"))
			case 1:
				e := tag.Draw(t, "adopt at")
				want := expiredOrphan(p, e)
				b := p.adoptOrphan(e)
				require.Equal(t, want, b != nil, "adoptOrphan(%d) = %v with orphans expired: %v", e, b, want)
				if b != nil {
					require.True(t, expiredAt(b.epoch, e), "adopted a batch tagged %d at epoch %d", b.epoch, e)
				}
			case 2:
				e := tag.Draw(t, "judge at")
				oldest := p.reclaimOrphans(grace{epoch: e})
				require.False(t, expiredOrphan(p, e), "reclaimOrphans(%d) kept an expired orphan", e)
				for _, b := range p.orphans {
					require.LessOrEqual(t, oldest, b.epoch)
				}
			}
			for _, b := range p.orphans {
				require.LessOrEqual(t, p.orphansFrom.Load(), b.epoch, "orphansFrom above an orphan's tag")
			}
		}
	})
}

// While reclaimOrphans judges the orphans out of the Pool's lock, a refill
// may scan the orphans left (those orphaned since) and raise the bound
// past the batches being judged: those that reclaimOrphans keeps must
// lower it again when they go back, or a later refill would not look at
// them once they expire.
func TestAdoptOrphanAfterReclaimOrphansPutsBack(t *testing.T) {
	c := New(WithMaxBatchAge(0))
	var p *Pool[int]
	var during bool
	p = NewPool[int](c, OnReclaim(func(*int) {
		if during {
			return
		}
		during = true
		// reclaimOrphans holds the old orphans out of the lock now.
		addOrphans(p, 20)
		require.Nil(t, p.adoptOrphan(10), "a batch tagged 20 adopted at epoch 10")
		require.EqualValues(t, 20, p.orphansFrom.Load(), "the scan set the bound to the orphans it saw")
	}))
	addOrphans(p, 1, 9) // reclaimed at epoch 4; kept
	p.reclaimOrphans(grace{epoch: 4})
	require.True(t, during, "OnReclaim ran")
	require.Len(t, p.orphans, 2, "the batch tagged 9 and the one tagged 20")
	b := p.adoptOrphan(11)
	require.NotNil(t, b, "the kept batch tagged 9 has expired at epoch 11")
	require.EqualValues(t, 9, b.epoch)
	require.NoError(t, c.Close())
}
