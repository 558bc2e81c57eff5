package epoch

// Handle is a participant slot held by one goroutine for as long as it
// likes, for loops that enter and exit guards at a high rate: entering
// through a Handle is one announcement and exiting one release store, with
// no slot hand-off.
//
// A Handle belongs to one goroutine at a time; to pass it to another, use a
// synchronizing operation (a channel send) between the last use and the
// first. Guards entered through the same Handle nest: the slot stays pinned
// until the outermost guard exits.
type Handle struct {
	c *Collector
	s *slot
}

// Register returns a Handle on c. It panics if c has been closed. Call
// Unregister when done; a Handle that is dropped without Unregister keeps
// its slot for the Collector's lifetime, though what it retired is still
// reclaimed, while no guard of it is open, as any idle slot's is (by the
// aging timer, Flush, Barrier or Close).
func (c *Collector) Register() *Handle {
	c.checkOpen("Register")
	s := c.slots.GetLong()
	s.Value.handle = true
	return &Handle{c: c, s: s}
}

// Enter opens a guard on the Handle's slot, with the same guarantee as
// Collector.Enter. It panics if the Handle has been unregistered or, for an
// outermost guard, if the Collector is closed (a guard nested in an open
// one is always allowed).
func (h *Handle) Enter() *Guard { return h.c.enter(h.s, openHandle) }

// Unregister gives the Handle's slot back. It panics if a guard entered
// through the Handle is still open, or if the Handle was already
// unregistered.
func (h *Handle) Unregister() {
	s := h.s
	if s == nil {
		panic("epoch: Unregister on a Handle that was already unregistered")
	}
	if s.Value.word.Load() != 0 { // a guard is open
		panic("epoch: Unregister while a guard entered through the Handle is still open")
	}
	h.s = nil
	s.Value.handle = false
	h.c.slots.Put(s)
}
