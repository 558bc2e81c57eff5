package retire

// Sweeper says which retired objects a sweep may reclaim. Each scheme
// implements it (epoch: batches whose grace period is over; hazard: entries
// no hazard pointer protects).
type Sweeper interface {
	// KeepBatch reports that the whole batch must stay pending.
	KeepBatch(b *Batch) bool
	// KeepEntry reports that one entry of a batch that is not kept whole
	// must stay pending.
	KeepEntry(e Entry) bool
	// Recycle receives each batch the sweep emptied.
	Recycle(b *Batch)
	// Reclaimed is told how many free functions have run, including one
	// that panicked; it is called once per sweep.
	Reclaimed(n int)
	// Requeue receives what is still pending if a free function panics,
	// before the panic continues to the caller.
	Requeue(kept List)
}

// Sweep reclaims the entries of list that s does not keep and returns the
// batches still holding pending entries. Kept entries are compacted to the
// front of their batch. Every entry is removed from its batch before its
// free function runs, so no free function ever runs twice, even if one
// panics: then the entries not yet looked at are kept, s.Requeue receives
// everything kept, and the panic continues.
func Sweep(list *Batch, s Sweeper) (kept List) {
	var (
		cur        *Batch // batch being swept, nil between batches
		rest       *Batch // batches not yet looked at
		write, run int    // cur.Entries[:write] kept; cur.Entries[run:] not yet looked at
		reclaimed  int
	)
	defer func() {
		s.Reclaimed(reclaimed)
		if cur == nil {
			return
		}
		cur.Entries = append(cur.Entries[:write], cur.Entries[run:]...)
		keepOrRecycle(&kept, cur, s)
		for b := rest; b != nil; {
			next := b.next
			kept.Add(b)
			b = next
		}
		s.Requeue(kept)
	}()
	for b := list; b != nil; {
		next := b.next
		if s.KeepBatch(b) {
			kept.Add(b)
			b = next
			continue
		}
		cur, rest, write, run = b, next, 0, 0
		for run < len(b.Entries) {
			e := b.Entries[run]
			b.Entries[run] = Entry{}
			run++
			if s.KeepEntry(e) {
				b.Entries[write] = e
				write++
				continue
			}
			reclaimed++
			e.Reclaim()
		}
		b.Entries = b.Entries[:write]
		cur = nil
		keepOrRecycle(&kept, b, s)
		b = next
	}
	return kept
}

func keepOrRecycle(kept *List, b *Batch, s Sweeper) {
	if len(b.Entries) > 0 {
		kept.Add(b)
	} else {
		s.Recycle(b)
	}
}
