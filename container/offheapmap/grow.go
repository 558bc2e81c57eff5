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
func (m *Map[K, V]) grow(g *epoch.Guard, t *table) {
	m.growMu.Lock()
	defer m.growMu.Unlock()
	if m.table.Load() != t {
		return // grown meanwhile
	}
	m.lockAll()
	defer m.unlockAll()
	if m.closed.Load() {
		return
	}
	want := max(uint64(m.live.Load())*2/slotsPerBucket+1, uint64(len(t.buckets)))
	nt, err := newTable(1 << bits.Len64(want-1))
	if err != nil {
		return // out of address space: keep the old table, which still works, only slower
	}
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
		}
	}
	m.table.Store(nt)
	m.grows.Add(1)
	m.retireTable(g, t)
}
