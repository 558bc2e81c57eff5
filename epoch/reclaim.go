package epoch

import "github.com/go-reclaim/reclaim/internal/retire"

// expiredAt reports whether the grace period of a batch sealed at epoch tag
// is over at global epoch e: the epoch has advanced twice since, so every
// guard that was open at the seal has exited (see tryAdvance).
func expiredAt(tag, e uint64) bool { return tag+2 <= e }

// reclaimList reclaims the batches of list that have expired at epoch e and
// returns the others. The caller holds c.reclaiming.
//
// A free function may panic. Each entry is removed from its batch before its
// free function runs, so it is never run twice; if one panics, the entries
// not yet reclaimed (and the batches not yet looked at) go back onto
// c.sealed, where the next collection finds them, and the panic continues
// to the caller.
func (c *Collector) reclaimList(list *retire.Batch, e uint64) (kept retire.List) {
	var (
		cur       *retire.Batch // batch being reclaimed; nil when between batches
		rest      *retire.Batch
		startDone int
	)
	defer func() {
		if cur == nil {
			return
		}
		c.reclaimed.Add(uint64(cur.Done - startDone))
		if cur.Done < len(cur.Entries) {
			kept.Add(cur)
		} else {
			c.recycle(cur)
		}
		for b := rest; b != nil; {
			next := b.Next()
			kept.Add(b)
			b = next
		}
		kept.PushTo(&c.sealed)
	}()
	for b := list; b != nil; {
		next := b.Next()
		if !expiredAt(b.Epoch, e) {
			kept.Add(b)
			b = next
			continue
		}
		cur, rest, startDone = b, next, b.Done
		for cur.Done < len(cur.Entries) {
			entry := cur.Entries[cur.Done]
			cur.Entries[cur.Done] = retire.Entry{}
			cur.Done++
			entry.Reclaim()
		}
		c.reclaimed.Add(uint64(len(cur.Entries) - startDone))
		cur = nil
		c.recycle(b)
		b = next
	}
	return kept
}

func (c *Collector) recycle(b *retire.Batch) {
	b.Reset()
	c.spare.Put(b)
}
