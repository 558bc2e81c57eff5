package offheapmap

import (
	"math/bits"

	"github.com/go-reclaim/reclaim/epoch"
	"github.com/go-reclaim/reclaim/offheap"
)

// grow replaces t, if it is still the map's table, by a table with room
// for twice the live entries, and retires t through the collector: readers
// that loaded t go on reading it (its entries are the new table's too)
// until their guards exit. A grow holds every stripe while it copies, so
// writers wait for it; readers never do. A table full of tombstones is
// replaced by one of the same size, without them; tables never shrink.
//
// It fails only if the new table cannot be mapped; the map then keeps t.
func (m *Map[K, V]) grow(g *epoch.Guard, t *table) error {
	m.growMu.Lock()
	defer m.growMu.Unlock()
	if m.table.Load() != t {
		return nil // grown meanwhile
	}
	if testHookGrow != nil {
		testHookGrow()
	}
	m.lockAll()
	defer m.unlockAll()
	if m.closed.Load() {
		return nil // Store then sees closed
	}
	want := max(uint64(m.live.Load())*2/slotsPerBucket+1, uint64(len(t.buckets)))
	nt, err := newTable(1 << bits.Len64(want-1))
	if err != nil {
		return err
	}
	var copied int64
	for i := range t.buckets {
		b := &t.buckets[i]
		meta := b.meta.Load()
		for j := range slotsPerBucket {
			if tagAt(meta, j) < firstLiveTag {
				continue
			}
			hd := offheap.Handle(b.slots[j].Load())
			// Every stripe is held: the entries t links are live.
			m.insert(nt, m.hash(m.entries.Peek(hd).key), hd)
			copied++
		}
	}
	nt.used.Store(copied) // insert counts only what a reservation did not
	m.table.Store(nt)
	m.grows.Add(1)
	m.retireTable(g, t)
	return nil
}
