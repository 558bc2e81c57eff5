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
func (c *Collector) graceNow(r *reservations, tag, birth uint64) grace {
	if !c.robust {
		return grace{epoch: c.epoch.Load()}
	}
	c.scan(r, tag, birth)
	return grace{res: r}
}

// graceFor returns a verdict that frees the batch (tag, birth) if anything
// can, advancing the epoch or scanning only if the verdict at hand does not
// (in the robust mode, the last scan of the slot whose reservations r are).
func (c *Collector) graceFor(r *reservations, tag, birth uint64) grace {
	if !c.robust {
		e := c.epoch.Load()
		if !expiredAt(tag, e) {
			c.tryAdvance()
			e = c.epoch.Load()
		}
		return grace{epoch: e}
	}
	if r.holds(tag, birth) {
		// No cheap look: a batch that a stalled guard holds may still have
		// nodes to sift out (see Pool.reclaimRobust).
		c.scan(r, 0, 0)
	}
	return grace{res: r}
}

// graceSeen returns the verdict at hand without advancing or scanning.
func (c *Collector) graceSeen(r *reservations) grace {
	if !c.robust {
		return grace{epoch: c.epoch.Load()}
	}
	return grace{res: r}
}
