package epoch

import (
	"github.com/go-reclaim/reclaim/internal/goroutine"
	"github.com/go-reclaim/reclaim/internal/release"
	"github.com/go-reclaim/reclaim/internal/retire"
)

// reclaimList reclaims the batches of list whose grace period gr ends and
// returns the others. The caller holds c.reclaiming. If a free function
// panics, what is still pending goes back onto c.sealed and the panic
// continues (see retire.Sweep).
//
// While free functions run, the state counts one more drain, so that they
// may Enter (to retire more) even after Close has begun or returned.
func (c *Collector) reclaimList(list *retire.Batch, gr grace) retire.List {
	if list == nil {
		return retire.List{}
	}
	c.state.Add(drainUnit)
	release.StoreUintptr(&c.sweeper, uintptr(goroutine.Current()))
	defer func() {
		release.StoreUintptr(&c.sweeper, 0)
		c.state.Add(^uint64(drainUnit - 1))
	}()
	c.sweepGrace = gr
	return retire.Sweep(list, (*sweeper)(c))
}

// sweeper is the Collector's side of retire.Sweep: whole batches whose grace
// period is over by c.sweepGrace are reclaimed.
type sweeper Collector

func (s *sweeper) KeepBatch(b *retire.Batch) bool { return !s.sweepGrace.over(b.Epoch, b.Birth) }
func (s *sweeper) KeepsEntries() bool             { return false }
func (s *sweeper) KeepEntry(retire.Entry) bool    { return false }
func (s *sweeper) Recycle(b *retire.Batch)        { b.Reset(); s.spare.Put(b) }
func (s *sweeper) Reclaimed(n int)                { s.reclaimed.Add(uint64(n)) }
func (s *sweeper) Requeue(kept retire.List)       { kept.PushTo(&s.sealed) }

// checkNotSweeping panics if the calling goroutine is running free
// functions of c: op (Close or Barrier) would wait for the sweep that
// called it.
func (c *Collector) checkNotSweeping(op string) {
	if c.sweeping() {
		panic("epoch: " + op + " called from a free function: it would wait for the reclamation that runs it")
	}
}

// sweeping reports whether the calling goroutine is running free functions
// of c's sweep (false where goroutine IDs are unknown).
func (c *Collector) sweeping() bool {
	id := goroutine.Current()
	return id != 0 && c.sweeper.Load() == uintptr(id)
}
