package hazard

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/go-reclaim/reclaim/internal/backoff"
	"github.com/go-reclaim/reclaim/internal/cacheline"
	"github.com/go-reclaim/reclaim/internal/pin"
	"github.com/go-reclaim/reclaim/internal/retire"
)

// sealedList is one of the two lists of sealed batches.
type sealedList struct {
	retire.Stack
	users atomic.Int32 // goroutines pushing to or scanning this list
	// judges counts, by parity of phase, the scans between taking batches
	// of this list and putting back what they keep (pinned), and judged
	// the scans that have done so; see startJudging and awaitJudges.
	judges  [2]atomic.Int32
	phase   atomic.Uint32
	judged  atomic.Uint64
	phaseMu sync.Mutex // held by whoever flips phase and waits (awaitJudges)
	// ready holds batches that a scan of this list has judged and whose
	// doomed entries (retire.Judge) wait for their free functions; the
	// list's users take them a few at a time (see Domain.drain). readyMu
	// makes its removals exclusive (retire.Stack.Pop).
	ready   retire.Stack
	readyMu sync.Mutex
	_       cacheline.Pad
}

// popReady takes up to drainBatches judged batches of l, or reports busy
// if another goroutine is taking some.
func (l *sealedList) popReady() (got retire.List, busy bool) {
	if !l.tryLockReady() {
		return got, true
	}
	for range drainBatches {
		b := l.ready.Pop()
		if b == nil {
			break
		}
		got.Add(b)
	}
	l.unlockReady()
	return got, false
}

// tryLockReady takes readyMu if it is free, and then keeps the processor
// until unlockReady, so that nobody waits for a holder that was
// descheduled: every holder takes a few batches off the stack and lets go.
func (l *sealedList) tryLockReady() bool {
	pin.Pin()
	if l.readyMu.TryLock() {
		return true
	}
	pin.Unpin()
	return false
}

func (l *sealedList) unlockReady() {
	l.readyMu.Unlock()
	pin.Unpin()
}

// startJudging counts the caller, a scan about to take batches of l,
// pinned, among l's judges until endJudging. The count it joins is that of
// a phase that was current after its increment (which it re-checks), so a
// Flush that flips the phase later and waits for that count waits for
// every scan that took batches before the flip.
func (l *sealedList) startJudging() (phase uint32) {
	for {
		p := l.phase.Load()
		l.judges[p&1].Add(1)
		if l.phase.Load() == p {
			return p & 1
		}
		l.judges[p&1].Add(-1)
	}
}

// endJudging ends what startJudging began, once the scan has put back
// what it keeps.
func (l *sealedList) endJudging(phase uint32) {
	l.judged.Add(1) // first: see alone
	l.judges[phase].Add(-1)
}

// alone reports whether no scan of l but the caller's (a fresh one, which
// read judged before it took l) held batches of l at any moment since it
// took it: no scan is between its take and its put-back now, and only the
// caller's own has finished since. A scan that ended between the read of
// judged and the caller's take had put back what it kept before the take.
func (l *sealedList) alone(judged uint64) bool {
	return l.judges[0].Load()+l.judges[1].Load() == 0 && l.judged.Load() == judged+1
}

// awaitJudges waits until the scans that took batches of l before the call
// have put back what they keep: a Flush whose scan found the list while
// another scan held some of its batches scans again after that (see
// Domain.scan), and a taker takes l only after that (takeStale, takeOld).
// Those scans are pinned, so done within microseconds (a Barrier's or
// Close's sweep, within the time it takes to judge the lists it took);
// those that start meanwhile count in the other phase and are not waited
// for.
func (l *sealedList) awaitJudges() {
	l.phaseMu.Lock()
	defer l.phaseMu.Unlock()
	old := l.phase.Add(1) - 1
	for l.judges[old&1].Load() != 0 {
		runtime.Gosched()
	}
}

// drainBatches is how many judged batches a scan takes at a time: a scan
// descheduled while it runs their free functions holds back at most that
// many batches (of 64), and each take costs a few atomic instructions.
const drainBatches = 4

// readyBack moves l's judged batches back onto l, to be judged again by
// whoever takes l (judging again only keeps more). Taking a list calls it:
// a user that a panicking free function made leave may have left some, and
// when the taker stops waiting for users that are stuck (in free
// functions, or descheduled) the rest is the taker's, not theirs. Users
// may still be taking batches, so it takes readyMu as they do.
func (l *sealedList) readyBack() {
	for !l.tryLockReady() {
		runtime.Gosched()
	}
	list := l.ready.TakeAll()
	l.unlockReady()
	var back retire.List
	for b := list; b != nil; {
		next := b.Next()
		back.Add(b)
		b = next
	}
	back.PushTo(&l.Stack)
}

// sealedLists holds the sealed batches waiting for a scan. There are two
// lists so that a Barrier or Close can take one for itself without stopping
// the scans of Retire: it switches everyone to the other list, waits for
// the goroutines still using the old one, and then owns it. Retire keeps
// scanning the current list meanwhile, so the pending bound holds during a
// Barrier too.
//
// A goroutine that uses a list (enter) puts back on that same list what it
// keeps, also when a free function panics, and frees what it judged (the
// list's ready stack) before it leaves, so the taker that waits for the
// list's users gets every batch that was in the list when it switched and
// has not been reclaimed (with what a panicking free function left on the
// ready stack: see readyBack).
//
// Only the holder of taker switches lists and takes the old one. A taker
// whose wait for the old list's users ends early (its context ended, or it
// may not wait) leaves the list stale: the next taker first waits for that
// list's users and empties it, and only then switches again. So the
// non-current list, unless stale, is empty whenever nobody holds taker.
type sealedLists struct {
	cur   atomic.Uint32
	stale atomic.Uint32 // 1+i if list i is stale; written only by the holder of taker
	lists [2]sealedList
	taker chan struct{} // capacity 1: held while it holds a value
}

func (s *sealedLists) init() { s.taker = make(chan struct{}, 1) }

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

// enterStale returns the stale list, counted as used until leave, or nil
// if there is none. As enter does with cur, it re-reads stale after its
// increment, and takeStale clears stale before it waits for the list's
// users (all sequentially consistent): either the taker waits for this
// user to leave, or the user sees the list is no longer stale. A user
// admitted here so puts back what it keeps, also after a panicking free
// function, on a list that stays stale until it leaves.
func (s *sealedLists) enterStale() *sealedList {
	for {
		i := s.stale.Load()
		if i == 0 {
			return nil
		}
		l := &s.lists[i-1]
		l.users.Add(1)
		if s.stale.Load() == i {
			return l
		}
		l.users.Add(-1)
	}
}

// mayScan reports whether a scan that counts among l's judges may take l's
// batches: whether l is the current list, or (stale) still the stale one.
// A taker waits only for the judges that were counted before its wait
// began (awaitJudges), and a scan that entered l before a switch and
// starts judging later must not take the list the taker is taking. A
// switch stores cur before the taker's wait flips the phase, and the scan
// counts itself before it loads cur (all sequentially consistent): either
// the taker waits for the scan, or the scan sees the switch. A user of the
// stale list is waited for as a user (enterStale), and sees stale cleared
// only while a takeStale's wait for users is about to fail, when the
// taker takes what is there.
func (s *sealedLists) mayScan(l *sealedList, stale bool) bool {
	if stale {
		i := s.stale.Load()
		return i != 0 && &s.lists[i-1] == l
	}
	return &s.lists[s.cur.Load()] == l
}

// push adds b to the current list.
func (s *sealedLists) push(b *retire.Batch) {
	l := s.enter()
	l.Push(b)
	l.leave()
}

// errWouldWait is what a patience with no context returns instead of
// waiting.
var errWouldWait = errors.New("hazard: would wait")

// patience is how long a Barrier, Close or Flush waits for other
// goroutines: until ctx ends, or (ctx nil) not at all.
type patience struct {
	ctx context.Context
	b   backoff.Backoff
}

func (p *patience) wait() error {
	if p.ctx == nil {
		return errWouldWait
	}
	return p.b.Wait(p.ctx)
}

// lockTaker takes the right to switch lists, waiting for it as p allows.
func (s *sealedLists) lockTaker(p *patience) error {
	select {
	case s.taker <- struct{}{}:
		return nil
	default:
	}
	if p.ctx == nil {
		return errWouldWait
	}
	select {
	case s.taker <- struct{}{}:
		return nil
	case <-p.ctx.Done():
		return p.ctx.Err()
	}
}

func (s *sealedLists) unlockTaker() { <-s.taker }

// takeStale empties the stale list, if there is one, waiting for its users
// as p allows. It returns what it took (with the list's ready batches:
// readyBack) even when the wait ended early: the users put back what they
// keep on the list, which stays stale for the next taker. It always waits
// for the users that are judging batches of the list (pinned, microseconds:
// see awaitJudges), so that what they keep is in what it takes. The caller
// must hold taker.
func (s *sealedLists) takeStale(p *patience) (*retire.Batch, error) {
	i := s.stale.Load()
	if i == 0 {
		return nil, nil
	}
	l := &s.lists[i-1]
	s.stale.Store(0) // before the wait: see enterStale
	err := waitIdle(l, p)
	if err != nil {
		s.stale.Store(i)
	}
	l.awaitJudges() // a user still judging puts what it keeps back first
	l.readyBack()
	return l.TakeAll(), err
}

// takeOld makes the other list current and empties the old one once no
// goroutine uses it, which gives every sealed batch that no scan of the
// other list holds (that list was empty: callers take the stale list first
// and put what they keep back on the current list). If the wait ends early
// it takes what the old list holds (with its ready batches, as when it
// does not: readyBack) and leaves it stale. The caller must
// hold taker, there must be no stale list, and it must not be using a list
// itself.
func (s *sealedLists) takeOld(p *patience) (*retire.Batch, error) {
	i := s.cur.Load()
	s.cur.Store(1 - i)
	old := &s.lists[i]
	err := waitIdle(old, p)
	if err != nil {
		s.stale.Store(i + 1)
	}
	old.awaitJudges() // as in takeStale
	old.readyBack()
	return old.TakeAll(), err
}

func waitIdle(l *sealedList, p *patience) error {
	for l.users.Load() != 0 {
		if err := p.wait(); err != nil {
			return err
		}
	}
	return nil
}
