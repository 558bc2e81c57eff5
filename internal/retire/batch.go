package retire

import "sync/atomic"

// Batch is a reusable block of entries. Its owner appends to it; once sealed
// it is handed, whole, to whichever goroutine reclaims it.
type Batch struct {
	Entries []Entry
	// Epoch is the scheme's tag for the batch (epoch: the global epoch when
	// it was sealed).
	Epoch uint64
	// Birth is the smallest birth era of the entries where the scheme
	// knows it (epoch's robust mode), else 0.
	Birth uint64
	next  *Batch
	keep  int // Judge: the entries before it stay pending
}

// Reset empties b for reuse, dropping references so the garbage collector
// can free what the entries pointed to.
func (b *Batch) Reset() {
	clear(b.Entries)
	b.Entries = b.Entries[:0]
	b.Epoch, b.Birth = 0, 0
	b.next, b.keep = nil, 0
}

// Stack is a lock-free stack of sealed batches. Push and TakeAll are free
// of ABA whatever runs concurrently; Pop needs its removals serialized (see
// Pop).
type Stack struct {
	head atomic.Pointer[Batch]
}

// Push adds b.
func (s *Stack) Push(b *Batch) {
	for {
		h := s.head.Load()
		b.next = h
		if s.head.CompareAndSwap(h, b) {
			return
		}
	}
}

// PushList adds a list built with Link (first..last).
func (s *Stack) PushList(first, last *Batch) {
	if first == nil {
		return
	}
	for {
		h := s.head.Load()
		last.next = h
		if s.head.CompareAndSwap(h, first) {
			return
		}
	}
}

// TakeAll empties the stack and returns its former contents as a list.
func (s *Stack) TakeAll() *Batch { return s.head.Swap(nil) }

// Pop removes and returns the batch pushed last (nil if the stack is
// empty). On a stack that Pop is used on, removals (Pop, TakeAll) must
// exclude each other (Push need not): with one remover at a time, the
// batch that Pop read at the head stays there or below until Pop removes
// it, so its link is current and the compare-and-swap cannot succeed on a
// batch that left the stack and came back (no ABA).
func (s *Stack) Pop() *Batch {
	for {
		h := s.head.Load()
		if h == nil {
			return nil
		}
		if s.head.CompareAndSwap(h, h.next) {
			h.next = nil
			return h
		}
	}
}

// Next returns the batch after b in a list taken with TakeAll.
func (b *Batch) Next() *Batch { return b.next }

// List builds a list of batches for PushList.
type List struct{ first, last *Batch }

// Add appends b to the list.
func (l *List) Add(b *Batch) {
	b.next = nil
	if l.last == nil {
		l.first = b
	} else {
		l.last.next = b
	}
	l.last = b
}

// PushTo moves the whole list onto s and empties l.
func (l *List) PushTo(s *Stack) {
	s.PushList(l.first, l.last)
	*l = List{}
}

// Head is the first batch of the list (nil if empty).
func (l *List) Head() *Batch { return l.first }
