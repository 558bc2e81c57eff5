package hazard

// Stats is a snapshot of a Domain's counters, read one at a time while
// other goroutines run.
type Stats struct {
	// Retired counts objects handed to the domain. Retire collects objects
	// in a per-processor batch of 64 and counts them when the batch is
	// sealed (when full, or at a Barrier or Close), so up to 64 per
	// processor may be retired and not yet counted.
	Retired uint64
	// Reclaimed counts objects whose free function has run.
	Reclaimed uint64
	// Pending is Retired minus Reclaimed.
	Pending uint64
	// PeakPending is the highest Pending seen (see Domain for its bound).
	PeakPending uint64
	// Slots is the number of hazard slots created: never freed while the
	// domain lives, it is the peak number of Pointers held at once.
	Slots int
	// Protecting is the number of slots protecting an object now.
	Protecting int
	// Threshold is the pending count at which Retire scans the slots.
	Threshold int
}

// Stats returns a snapshot of d's counters. It scans the hazard slots and
// takes no lock.
func (d *Domain) Stats() Stats {
	reclaimed := d.reclaimed.Load()
	st := Stats{
		Retired:     d.retired.Load(),
		Reclaimed:   reclaimed,
		PeakPending: uint64(d.peak.Load()),
		Slots:       d.slots.Len(),
		Protecting:  d.protecting(),
		Threshold:   d.Threshold(),
	}
	st.Pending = st.Retired - st.Reclaimed
	return st
}
