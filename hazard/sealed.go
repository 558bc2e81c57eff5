package hazard

import (
	"runtime"
	"sync/atomic"

	"github.com/go-reclaim/reclaim/internal/cacheline"
	"github.com/go-reclaim/reclaim/internal/retire"
)

// sealedLists holds the sealed batches waiting for a scan. There are two
// lists so that a Barrier or Close can take one for itself without stopping
// the scans of Retire: it switches everyone to the other list, waits for
// the goroutines still using the old one, and then owns it. Retire keeps
// scanning the current list meanwhile, so the pending bound holds during a
// Barrier too.
type sealedLists struct {
	cur   atomic.Uint32
	lists [2]sealedList
}

type sealedList struct {
	retire.Stack
	users atomic.Int32 // goroutines pushing to or scanning this list
	_     cacheline.Pad
}

// enter returns the current list, counted as used until leave. The
// increment comes before the re-check of cur and a switch stores cur before
// it reads users, so either the switch sees the user or the user sees the
// switch (both are sequentially consistent).
func (s *sealedLists) enter() *sealedList {
	for {
		i := s.cur.Load()
		l := &s.lists[i]
		l.users.Add(1)
		if s.cur.Load() == i {
			return l
		}
		l.users.Add(-1)
	}
}

func (l *sealedList) leave() { l.users.Add(-1) }

// push adds b to the current list.
func (s *sealedLists) push(b *retire.Batch) {
	l := s.enter()
	l.Push(b)
	l.leave()
}

// pushList adds a list of batches to the current list.
func (s *sealedLists) pushList(kept retire.List) {
	l := s.enter()
	kept.PushTo(&l.Stack)
	l.leave()
}

// takeOld makes the other list current and, once no goroutine uses the old
// one, returns its contents: every sealed batch that no scan holds, since
// the other list is empty between calls (callers put what they keep back on
// the current list). Only one goroutine may call it at a time, and it must
// not be using a list itself.
func (s *sealedLists) takeOld() *retire.Batch {
	i := s.cur.Load()
	s.cur.Store(1 - i)
	old := &s.lists[i]
	for old.users.Load() != 0 {
		runtime.Gosched()
	}
	return old.TakeAll()
}
