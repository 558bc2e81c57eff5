package retire

// Sweeper says which retired objects a sweep may reclaim. Each scheme
// implements it (epoch: batches whose grace period is over; hazard: entries
// no hazard pointer protects).
type Sweeper interface {
	// KeepBatch reports that the whole batch must stay pending.
	KeepBatch(b *Batch) bool
	// KeepsEntries reports whether KeepEntry may keep any entry in this
	// sweep; if not, Judge does not ask it.
	KeepsEntries() bool
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
// batches still holding pending entries: Judge, then Free.
func Sweep(list *Batch, s Sweeper) (kept List) {
	kept, doomed := Judge(list, s)
	return Free(doomed, kept, s)
}

// Judge decides, without running any free function, what a sweep of list
// reclaims: the batches s keeps whole, and those in which it keeps every
// entry, go to kept; in each other batch the entries s keeps are moved to
// the front, and the batch goes to doomed, for Free. It calls nothing but
// s's Keep methods, so a caller may run it with preemption
// disabled (package hazard does: a scan descheduled while it judges would
// hold every batch it took for as long as it waits for a processor).
func Judge(list *Batch, s Sweeper) (kept, doomed List) {
	some := s.KeepsEntries()
	for b := list; b != nil; {
		next := b.next
		if s.KeepBatch(b) {
			kept.Add(b)
			b = next
			continue
		}
		b.keep = 0
		if some {
			b.keep = keepToFront(b.Entries, s)
		}
		if b.keep > 0 && b.keep == len(b.Entries) {
			kept.Add(b)
		} else {
			doomed.Add(b)
		}
		b = next
	}
	return kept, doomed
}

// Separate moves the entries that Judge kept in doomed batches (a batch
// with some entries protected) into batches of their own, added to kept,
// so that kept holds every pending entry before any free function runs: a
// caller that puts kept back at once, before Free, leaves no pending entry
// in its hands while the free functions run. The first batch it fills is
// spare (empty, with room for capacity entries); it allocates the others,
// which a caller that runs it with preemption disabled may do. It reports
// whether it used spare. A batch it fills holds entries of batches with
// one Epoch, which it keeps (a scheme that tells old objects by their
// batch's tag, such as hazard's Barrier, still can).
func Separate(kept, doomed *List, spare *Batch, capacity int) (used bool) {
	into := spare
	for b := doomed.first; b != nil; b = b.next {
		if b.keep == 0 {
			continue
		}
		for _, e := range b.Entries[:b.keep] {
			if !used || len(into.Entries) == capacity || into.Epoch != b.Epoch {
				if used {
					into = &Batch{Entries: make([]Entry, 0, capacity)}
				}
				used = true
				into.Epoch = b.Epoch
				kept.Add(into)
			}
			into.Entries = append(into.Entries, e)
		}
		n := copy(b.Entries, b.Entries[b.keep:])
		clear(b.Entries[n:])
		b.Entries, b.keep = b.Entries[:n], 0
	}
	return used
}

// keepToFront moves the entries s keeps to the front of es and returns how
// many there are.
func keepToFront(es []Entry, s Sweeper) (n int) {
	for i, e := range es {
		if s.KeepEntry(e) { // what was at n has been judged: it goes to i
			es[i], es[n] = es[n], e
			n++
		}
	}
	return n
}

// Free runs the free functions of the entries that Judge doomed, adds to
// kept every batch left with pending entries, recycles the others, and
// returns kept. Every entry is out of its batch's pending part before its
// free function runs (a Bin's run stays in place until the Bin returns,
// behind the position that marks it reclaimed), so no free function ever
// runs twice, even if one panics:
// then the entries not yet reclaimed stay pending in their batches (a
// later sweep judges them again), s.Requeue receives kept with those
// batches, and the panic continues.
func Free(doomed, kept List, s Sweeper) List {
	var (
		cur       *Batch // batch being freed, nil between batches
		rest      *Batch // batches not yet freed
		run       int    // cur.Entries[run:] not yet reclaimed
		reclaimed int
	)
	defer func() {
		s.Reclaimed(reclaimed)
		if cur == nil {
			return
		}
		end := len(cur.Entries)
		cur.Entries = append(cur.Entries[:cur.keep], cur.Entries[run:]...)
		clear(cur.Entries[len(cur.Entries):end]) // the moved entries' old copies: Reset clears only up to len
		keepOrRecycle(&kept, cur, s)
		for b := rest; b != nil; {
			next := b.next
			kept.Add(b)
			b = next
		}
		s.Requeue(kept)
	}()
	for b := doomed.first; b != nil; {
		next := b.next
		cur, rest, run = b, next, b.keep
		for run < len(b.Entries) {
			e := b.Entries[run]
			if bin, ok := e.fn.(*Bin); ok {
				end := run + 1
				for end < len(b.Entries) && sameBin(b.Entries[end].fn, bin) {
					end++
				}
				es := b.Entries[run:end]
				run = end // counted as reclaimed before the Bin runs, as each entry is below
				reclaimed += len(es)
				bin.all(es)
				clear(es)
				continue
			}
			b.Entries[run] = Entry{}
			run++
			reclaimed++
			e.Reclaim()
		}
		b.Entries = b.Entries[:b.keep]
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
