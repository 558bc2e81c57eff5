package hazard

// Stats is a snapshot of a Domain's counters, read one at a time while
// other goroutines run.
type Stats struct {
	// Retired counts objects handed to Retire, from the moment Retire is
	// called (including those still in a processor's open batch).
	Retired uint64
	// Reclaimed counts objects whose free function has run (or started
	// and panicked).
	Reclaimed uint64
	// Pending is Retired minus Reclaimed: the objects retired and not yet
	// reclaimed. Reclaimed is read first, so it is never negative.
	Pending uint64
	// PeakPending is the highest Pending seen (see the package
	// documentation for its bound). It is sampled by Stats and by every
	// scan, Flush, Barrier and Close just before it reclaims anything;
	// Pending falls only when objects are reclaimed, so it peaks there,
	// and PeakPending misses at most the objects retired concurrently with
	// a sweep's sample.
	PeakPending uint64
	// Slots is the number of hazard slots created: what a scan reads. Slots
	// are never freed while the domain lives. Each processor keeps up to
	// two released slots for its next Acquires (its home slot and a spare),
	// so Slots is at least the peak number of Pointers held at once, and
	// exceeds it by at most twice GOMAXPROCS as it was when the domain was
	// made.
	Slots int
	// Pointers is the number of hazard pointers held now: acquired, and
	// not released (each element of an Array counts).
	Pointers int
	// Protecting is the number of Pointers protecting an object now.
	Protecting int
	// Threshold is the pending count at which Retire scans the slots,
	// derived from Pointers: see Domain.Threshold.
	Threshold int
}

// Stats returns a snapshot of d's counters. It reads every shard and scans
// the hazard slots, and takes no lock. The count of Pointers it makes
// also becomes the one that Threshold uses.
func (d *Domain) Stats() Stats {
	d.mustBeMade("Stats")
	st := Stats{Slots: d.slots.Len()}
	for s := range d.slots.All() {
		st.Pointers += int(s.Value.held.Load())
		if s.Value.addr.Load() != 0 {
			st.Protecting++
		}
	}
	d.inUse.Store(int64(st.Pointers))
	st.Threshold = d.threshold0(st.Pointers)
	// Retired and Reclaimed are read one at a time; read Reclaimed on both
	// sides of Retired until it did not change, so that Pending is a value
	// it really had (see pendingSample), and record it in PeakPending.
	for try := 0; ; try++ {
		st.Reclaimed = d.reclaimed.Load()
		st.Retired = d.retiredNow()
		st.Pending = st.Retired - st.Reclaimed
		if d.reclaimed.Load() == st.Reclaimed {
			st.PeakPending = d.notePeak(st.Pending)
			break
		}
		if try == 3 { // reclaiming all along: Pending may count retires made meanwhile
			st.PeakPending = max(d.peak.Load(), st.Pending)
			break
		}
	}
	n := d.atOnce.Load()
	st.Retired += n
	st.Reclaimed += n
	return st
}
