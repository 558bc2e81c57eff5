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
	// closing is set by a taker that found no users, until it has taken
	// the list: it keeps Flush's in-place scans out (see enterStale).
	closing atomic.Bool
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
// Only the holder of taker switches lists and takes the old one. From the
// switch until a taker has taken the old list with no users left, that
// list is stale: a Retire that entered it before the switch may still push
// a batch on it, and a Flush scans it in place (enterStale). A taker whose
// wait for the users ends early (its context ended, or it may not wait)
// leaves the list stale: the next taker first waits for that list's users
// and empties it, and only then switches again. So the non-current list,
// unless stale, is empty.
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
// if there is none. A taker that finds the list without users sets
// closing and then reads users again before it takes the list (waitIdle);
// enterStale reads closing after its increment (all sequentially
// consistent): either the taker sees this user (and waits for it, or, out
// of patience, takes what the list holds and leaves it stale), or the
// user sees closing, leaves, and waits until the taker has taken the list
// (stale is then cleared, before closing) or has found another user and
// reopened it. So the list a user entered here does not stop being stale
// before it leaves, and what it puts back, also after a panicking free
// function, reaches a taker; and a scan that finds the list being taken
// returns only once it has been taken. The wait is short: the taker found no users, and
// holds no batch it would judge.
func (s *sealedLists) enterStale() *sealedList {
	for {
		i := s.stale.Load()
		if i == 0 {
			return nil
		}
		l := &s.lists[i-1]
		l.users.Add(1)
		if !l.closing.Load() && s.stale.Load() == i {
			return l
		}
		l.users.Add(-1)
		for l.closing.Load() && s.stale.Load() == i {
			runtime.Gosched()
		}
	}
}

// mayScan reports whether a scan that counts among l's judges, having
// entered l as the current list, may take l's batches: whether l is
// still current. A taker waits only for the judges that were counted
// before its wait began (awaitJudges), and a scan that entered l before a
// switch and starts judging later must not take the list the taker is
// taking. A switch stores cur before the taker's wait flips the phase,
// and the scan counts itself before it loads cur (all sequentially
// consistent): either the taker waits for the scan, or the scan sees the
// switch. (A scan of the stale list needs no check: a taker takes that
// list while the scan uses it only when its wait for the users ends early,
// and then leaves the list stale, so what the scan puts back reaches the
// next taker; see enterStale.)
func (s *sealedLists) mayScan(l *sealedList) bool {
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

// takeStale empties the stale list, if there is one, as take does. The
// caller must hold taker.
func (s *sealedLists) takeStale(p *patience) (*retire.Batch, error) {
	i := s.stale.Load()
	if i == 0 {
		return nil, nil
	}
	return s.take(&s.lists[i-1], p)
}

// takeOld makes the other list current and empties the old one, as take
// does; together with the stale list, which callers take first, that gives
// every sealed batch that no scan of the other list holds (the other list
// was empty, not stale). The old list is stale from before the switch, so
// that a Flush that finds the switch finds the old list too. The caller
// must hold taker, there must be no stale list, and it must not be using a
// list itself.
func (s *sealedLists) takeOld(p *patience) (*retire.Batch, error) {
	i := s.cur.Load()
	s.stale.Store(i + 1)
	s.cur.Store(1 - i)
	return s.take(&s.lists[i], p)
}

// take empties l, the stale list, once its users have left, waiting for
// them as p allows. It returns what it took (with the list's ready
// batches: readyBack) even when the wait ended early: the users put back
// what they keep on the list, which then stays stale for the next taker.
// It always waits for the users that are judging batches of the list
// (pinned, microseconds: see awaitJudges), so that what they keep is in
// what it takes; when the wait ended early, a scan that starts judging
// afterwards (Flush's, in place) may take batches from the list meanwhile
// and put back what it keeps on the list, still stale.
func (s *sealedLists) take(l *sealedList, p *patience) (*retire.Batch, error) {
	err := waitIdle(l, p)
	return s.taken(l, err), err
}

// taken ends take once waitIdle has returned err: it takes what l holds,
// and, if the users had left (err nil), ends l's staleness.
func (s *sealedLists) taken(l *sealedList, err error) *retire.Batch {
	l.awaitJudges() // a user still judging puts what it keeps back first
	l.readyBack()
	list := l.TakeAll()
	if err == nil {
		s.stale.Store(0) // before closing ends: see enterStale
		l.closing.Store(false)
	}
	return list
}

// waitIdle waits, as p allows, until l has no users, and returns nil with
// l closing: from then until the take ends (taken), enterStale admits no
// user. It re-reads users after setting closing, and reopens the list if
// a user arrived in between (see enterStale).
func waitIdle(l *sealedList, p *patience) error {
	for {
		for l.users.Load() != 0 {
			if err := p.wait(); err != nil {
				return err
			}
		}
		l.closing.Store(true)
		if l.users.Load() == 0 {
			return nil
		}
		l.closing.Store(false)
	}
}
