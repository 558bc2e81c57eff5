package epoch

// grace decides which sealed batches have passed their grace period. In
// the classic mode it is an epoch: a batch tagged t is over once the epoch
// has reached t+2. In the robust mode it is a snapshot of the open guards'
// reservations (see reservations).
type grace struct {
	epoch uint64
	res   *reservations // nil in the classic mode
}

// over reports whether a batch sealed at tag, whose objects were all born
// at era birth or later (0: unknown), may be reclaimed.
func (g grace) over(tag, birth uint64) bool {
	if g.res == nil {
		return expiredAt(tag, g.epoch)
	}
	return !g.res.holds(tag, birth)
}

// expiredAt reports whether the grace period of a batch sealed at epoch tag
// is over at global epoch e: the epoch has advanced twice since, so every
// guard that was open at the seal has exited (see tryAdvance).
func expiredAt(tag, e uint64) bool { return tag+2 <= e }

// graceNow returns a verdict for every batch sealed so far, scanning into r
// in the robust mode; the caller owns r (it holds c.reclaiming, or the slot
// r belongs to). In the robust mode the heavy fence is paid only if
// something would come free: the oldest batch, (tag, birth), if any.
//
// fresh asks for a heavy fence of its own instead of the last one that
// seals shared (see sharedHeavy), as tryAdvance does: every caller but the
// seals (Pool's, and Retire's full batches) asks (Flush, Barrier, Close and
// the aging timer).
func (c *Collector) graceNow(r *reservations, tag, birth uint64, fresh bool) grace {
	if !c.robust {
		return grace{epoch: c.epoch.Load()}
	}
	c.scan(r, tag, birth, nil, fresh)
	return grace{res: r}
}

// graceFor returns a classic verdict that frees the batch sealed at tag if
// anything can, advancing the epoch only if the epoch at hand does not.
func (c *Collector) graceFor(tag uint64) grace {
	e := c.epoch.Load()
	if !expiredAt(tag, e) {
		c.tryAdvance(false)
		e = c.epoch.Load()
	}
	return grace{epoch: e}
}
