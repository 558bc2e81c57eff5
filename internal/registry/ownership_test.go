package registry

// Ownership tests of the registry (from an independent review; they fail on
// 18 planted bugs of take, adopt, Put, the free list's tags, growth and
// All): an ownership ledger in every slot catches a slot handed to two
// owners at once, a quiescent audit catches a slot lost (neither free, nor
// cached on a P, nor owned), a growth bound catches slots leaking under
// churn, and scans run against growth check that All never misses a slot
// handed out before it began.

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/go-reclaim/reclaim/internal/pin"
	"github.com/go-reclaim/reclaim/internal/procs"
	"github.com/go-reclaim/reclaim/internal/race"
)

// ledger is a slot's payload in these tests. owner is set with
// CompareAndSwap(0, me) after Get and cleared before Put: a failed CAS is
// a second owner. data is a plain word only the owner touches, so the race
// detector also reports two owners at once, or a hand-off of a slot
// without happens-before between its owners.
type ledger struct {
	owner atomic.Uint64
	data  uint64
}

type ledgerReg = Registry[ledger]

// failer stops every worker at the first error, so that one bug gives one
// report instead of thousands.
type failer struct {
	t   *testing.T
	bad atomic.Bool
}

func (f *failer) errorf(format string, args ...any) {
	if f.bad.CompareAndSwap(false, true) {
		f.t.Errorf(format, args...)
	}
}

func (f *failer) failed() bool { return f.bad.Load() }

func acquire(f *failer, r *ledgerReg, me uint64, long bool) *Slot[ledger] {
	var s *Slot[ledger]
	if long {
		s = r.GetLong()
		if s.home {
			f.errorf("GetLong returned slot %d, a P's home slot", s.Index())
		}
	} else {
		s = r.Get()
	}
	if !s.Value.owner.CompareAndSwap(0, me) {
		f.errorf("double ownership: slot %d (home=%v) handed to owner %d while owner %d has it",
			s.Index(), s.home, me, s.Value.owner.Load())
		return s
	}
	s.Value.data++ // plain: -race reports a missing happens-before between owners
	return s
}

func giveBack(f *failer, r *ledgerReg, s *Slot[ledger], me uint64) {
	s.Value.data++
	if !s.Value.owner.CompareAndSwap(me, 0) {
		f.errorf("slot %d given back by %d, but the ledger says owner %d", s.Index(), me, s.Value.owner.Load())
		return
	}
	r.Put(s)
}

// cellsOf reports the home and spare of every P the registry has a cell
// for. Call it only while no goroutine uses r.
func cellsOf(r *ledgerReg) (homes, spares []*Slot[ledger]) {
	for pid := 0; ; pid++ {
		pin.Pin()
		v := r.cache.cells.Pin(pid)
		if v == nil {
			r.cache.cells.Unpin(v)
			return homes, spares
		}
		homes = append(homes, (*Slot[ledger])(v[homeCell]))
		spares = append(spares, (*Slot[ledger])(v[spareCell]))
		r.cache.cells.Unpin(v)
	}
}

// audit checks, with every slot given back and no goroutine using r, that
// each slot is in exactly one place: the free list, a P's home cell (and
// then marked home and not owned) or a P's spare cell. A slot in none is
// lost for good; a slot in two would be handed out twice.
func audit(t *testing.T, r *ledgerReg) {
	t.Helper()
	n := r.Len()
	where := make([]string, n)
	pos := 0
	for s := range r.All() {
		if s.Index() != pos {
			t.Fatalf("All yielded slot with index %d at position %d", s.Index(), pos)
		}
		if s != r.at(uint32(pos)) {
			t.Fatalf("All yielded a slot at position %d that is not at(%d)", pos, pos)
		}
		if o := s.Value.owner.Load(); o != 0 {
			t.Fatalf("slot %d still owned by %d after every owner gave it back", pos, o)
		}
		pos++
	}
	if pos != n {
		t.Fatalf("All yielded %d slots, Len reports %d", pos, n)
	}
	place := func(s *Slot[ledger], what string) {
		t.Helper()
		if s.index >= uint32(n) {
			t.Fatalf("%s holds slot %d beyond Len %d", what, s.index, n)
		}
		if where[s.index] != "" {
			t.Fatalf("slot %d is both %s and %s", s.index, where[s.index], what)
		}
		where[s.index] = what
	}
	steps := 0
	for next := uint32(r.free.Load()); next != 0; next = r.at(next - 1).nextFree.Load() {
		s := r.at(next - 1)
		if s.home {
			t.Fatalf("home slot %d is on the free list", s.index)
		}
		place(s, "on the free list")
		if steps++; steps > n {
			t.Fatalf("free list longer than the registry: a cycle")
		}
	}
	homes, spares := cellsOf(r)
	for pid, h := range homes {
		if h == nil {
			if spares[pid] != nil {
				t.Fatalf("P %d has a spare (slot %d) but no home", pid, spares[pid].index)
			}
			continue
		}
		if !h.home {
			t.Fatalf("slot %d is P %d's home but not marked home", h.index, pid)
		}
		if h.owned.Load() != 0 {
			t.Fatalf("home slot %d of P %d still marked owned after every owner gave it back", h.index, pid)
		}
		place(h, fmt.Sprintf("P %d's home", pid))
	}
	for pid, s := range spares {
		if s == nil {
			continue
		}
		if s.home {
			t.Fatalf("spare slot %d of P %d is marked home", s.index, pid)
		}
		place(s, fmt.Sprintf("P %d's spare", pid))
	}
	for i, w := range where {
		if w == "" {
			s := r.at(uint32(i))
			t.Fatalf("slot %d lost: not free, not cached on any P, not owned (home=%v)", i, s.home)
		}
	}
}

type churnConfig struct {
	workers int
	iters   int
	maxHeld int  // slots one worker holds at once
	longPct int  // share of GetLong among acquisitions, in percent
	handoff bool // some slots are given back by another goroutine
	flip    bool // GOMAXPROCS changes in the background
}

const handoffCap = 4

// churn runs cfg against r with the ledger, and checks the growth bound
// while it runs: at most every owner's slots, plus an idle home and spare
// per P cell.
func churn(t *testing.T, r *ledgerReg, cfg churnConfig) {
	f := &failer{t: t}
	homes, _ := cellsOf(r)
	bound := cfg.workers*cfg.maxHeld + 2*len(homes)
	var returns chan *Slot[ledger]
	var returner sync.WaitGroup
	const returnerID = 1 << 40
	if cfg.handoff {
		bound += handoffCap + 1
		returns = make(chan *Slot[ledger], handoffCap)
		returner.Go(func() {
			for s := range returns {
				giveBack(f, r, s, returnerID)
			}
		})
	}
	var stop func()
	if cfg.flip {
		stop = procs.Flip(func() { time.Sleep(50 * time.Microsecond) })
	}
	var wg sync.WaitGroup
	for w := range cfg.workers {
		me := uint64(w + 1)
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), me))
			held := make([]*Slot[ledger], cfg.maxHeld)
			for i := 0; i < cfg.iters && !f.failed(); i++ {
				k := 1 + rng.IntN(cfg.maxHeld)
				for j := range k {
					held[j] = acquire(f, r, me, rng.IntN(100) < cfg.longPct)
					if rng.IntN(8) == 0 {
						runtime.Gosched() // move to another P between Gets
					}
				}
				if rng.IntN(2) == 0 {
					runtime.Gosched() // and between Get and Put
				}
				rng.Shuffle(k, func(a, b int) { held[a], held[b] = held[b], held[a] })
				for j := range k {
					s := held[j]
					if cfg.handoff && rng.IntN(8) == 0 {
						// Ownership passes to the returner, which gives the
						// slot back from its own goroutine.
						s.Value.data++
						if !s.Value.owner.CompareAndSwap(me, returnerID) {
							f.errorf("slot %d handed off by %d, but the ledger says owner %d", s.Index(), me, s.Value.owner.Load())
							continue
						}
						returns <- s
						continue
					}
					giveBack(f, r, s, me)
				}
				if n := r.Len(); n > bound {
					f.errorf("registry grew to %d slots with at most %d owned or cached", n, bound)
				}
			}
		})
	}
	wg.Wait()
	if stop != nil {
		stop()
	}
	if cfg.handoff {
		close(returns)
		returner.Wait()
	}
	if f.failed() {
		return
	}
	audit(t, r)
}

// stressTime is how long the time-bound stress tests run: the race
// detector slows every operation, so it gets longer.
func stressTime(plain, raced time.Duration) time.Duration {
	if race.Enabled {
		return raced
	}
	return plain
}

func scaled(n int) int {
	if race.Enabled {
		return n / 4
	}
	return n
}

// Many owners, each holding up to three slots, released in random order,
// with Get and GetLong mixed and goroutines moving between Ps in between.
func TestLedgerChurn(t *testing.T) {
	for _, n := range []int{1, 2, 4} {
		t.Run(fmt.Sprintf("GOMAXPROCS=%d", n), func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(n))
			r := New[ledger]()
			churn(t, r, churnConfig{workers: 8, iters: scaled(30000), maxHeld: 3, longPct: 25, handoff: true})
		})
	}
}

// One slot per owner, Get only: the home slot path dominates, with owners
// that give it back from another P.
func TestLedgerHomeChurn(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4)) // more Ps than CPUs: threads preempted mid-operation
	r := New[ledger]()
	churn(t, r, churnConfig{workers: 12, iters: scaled(60000), maxHeld: 1, handoff: true})
}

// Goroutines sharing few Ps take and give back the home slots while
// stop-the-world pauses preempt them at arbitrary instructions: a take that
// checked owned and then lost the P before setting it must not let another
// goroutine on that P take the same home.
func TestHomeTakersPreempted(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4)) // more Ps than CPUs
	r := New[ledger]()
	f := &failer{t: t}
	end := time.Now().Add(stressTime(500*time.Millisecond, time.Second))
	var wg sync.WaitGroup
	wg.Go(func() {
		for time.Now().Before(end) && !f.failed() {
			runtime.GC()
		}
	})
	for w := range 8 {
		me := uint64(w + 1)
		wg.Go(func() {
			for i := 0; !f.failed(); i++ {
				if i%256 == 0 && time.Now().After(end) {
					return
				}
				s := acquire(f, r, me, false)
				giveBack(f, r, s, me)
			}
		})
	}
	wg.Wait()
	if !f.failed() {
		audit(t, r)
	}
}

// GOMAXPROCS goes 1, 2, 3, 4, 1, ... while owners churn and hold slots,
// with the registry sized for fewer, as many, and more Ps.
func TestLedgerGOMAXPROCSFlip(t *testing.T) {
	for _, sized := range []int{1, 2, 4} {
		t.Run(fmt.Sprintf("sized=%d", sized), func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(sized))
			r := New[ledger]()
			churn(t, r, churnConfig{workers: 8, iters: scaled(20000), maxHeld: 2, longPct: 20, handoff: true, flip: true})
		})
	}
}

// Home slots taken on Ps that then go away (GOMAXPROCS lowered) and given
// back from the remaining P, then the Ps come back: each home is taken by
// one owner at a time and none is lost.
func TestHomesAcrossGOMAXPROCSShrink(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	r := New[ledger]()
	f := &failer{t: t}
	for round := range 200 {
		runtime.GOMAXPROCS(4)
		// Every goroutine takes a slot (homes on whatever Ps they run on),
		// then all wait until GOMAXPROCS is 1 before giving them back.
		var got, back sync.WaitGroup
		shrunk := make(chan struct{})
		for w := range 8 {
			me := uint64(round*100 + w + 1)
			got.Add(1)
			back.Go(func() {
				a := acquire(f, r, me, false)
				b := acquire(f, r, me, w%2 == 0)
				got.Done()
				<-shrunk
				giveBack(f, r, b, me)
				giveBack(f, r, a, me)
			})
		}
		got.Wait()
		runtime.GOMAXPROCS(1)
		close(shrunk)
		back.Wait()
		if f.failed() {
			return
		}
	}
	runtime.GOMAXPROCS(4)
	audit(t, r)
	homes, _ := cellsOf(r)
	if n := r.Len(); n > 8*2+2*len(homes) {
		t.Errorf("registry grew to %d slots; at most 16 owned and %d cached at once", n, 2*len(homes))
	}
}

// The free list alone (every P's home and spare filled first, so that
// every Put pushes), with more goroutines than CPUs, is where an ABA on the
// head would hand the same slot out twice: a pop that loaded head A and
// A's next B, and was preempted while others popped A, popped B and pushed
// A back, must not install B as the head. The odd workers run exactly that
// pattern (pop A, pop B, push A, yield holding B, push B); the others pop
// and push one slot; all pop directly (GetLong without its growth, so the
// number of slots stays small and the head comes back to the same slot
// often), except worker 0, which goes through GetLong.
func TestFreeListABA(t *testing.T) {
	const workers, seed = 16, 16
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(8)) // more Ps than CPUs
	r := New[ledger]()
	f := &failer{t: t}
	// Fill every P's home and spare, so that Put never adopts again.
	homes, _ := cellsOf(r)
	for pid := range homes {
		for _, cell := range []int{homeCell, spareCell} {
			s := r.grow()
			if cell == homeCell {
				s.home = true
			}
			pin.Pin()
			v := r.cache.cells.Pin(pid)
			v[cell] = unsafe.Pointer(s)
			r.cache.cells.Unpin(v)
		}
	}
	for range seed {
		r.push(r.grow())
	}
	end := time.Now().Add(stressTime(500*time.Millisecond, 1500*time.Millisecond))
	var wg sync.WaitGroup
	// Stop-the-world pauses and stack scans preempt the workers at
	// arbitrary instructions, inside pop's window among them, and send
	// them to the back of the run queue while the others go on.
	wg.Go(func() {
		for time.Now().Before(end) && !f.failed() {
			runtime.GC()
			time.Sleep(time.Microsecond)
		}
	})
	for w := range workers {
		me := uint64(w + 1)
		wg.Go(func() {
			popOwn := func() *Slot[ledger] {
				s := r.pop()
				if s == nil {
					return nil
				}
				if !s.Value.owner.CompareAndSwap(0, me) {
					f.errorf("double ownership through the free list: slot %d handed to %d while %d has it",
						s.Index(), me, s.Value.owner.Load())
					return nil
				}
				s.Value.data++
				return s
			}
			for i := 0; !f.failed(); i++ {
				if i%1024 == 0 && time.Now().After(end) {
					return
				}
				if w == 0 {
					giveBack(f, r, acquire(f, r, me, true), me)
					continue
				}
				a := popOwn()
				if a == nil {
					continue
				}
				if w%2 == 0 {
					giveBack(f, r, a, me)
					continue
				}
				// The ABA pattern itself: pop A, pop B, push A back while
				// still holding B. A pop that loaded head A with next B
				// before it and resumes now must fail its CAS.
				b := popOwn()
				giveBack(f, r, a, me)
				if b != nil {
					runtime.Gosched()
					giveBack(f, r, b, me)
				}
			}
		})
	}
	wg.Wait()
	if f.failed() {
		return
	}
	audit(t, r)
	// GetLong grows the registry only when the free list is empty, that
	// is, when the workers hold every slot but those in the P cells.
	held := workers + workers/2 // the odd workers hold two slots at once
	if n, most := r.Len(), 2*len(homes)+max(seed, held); n > most {
		t.Errorf("free list stress grew the registry to %d slots, want at most %d", n, most)
	}
}

// A scan racing growth and churn yields slots in index order, each at the
// address it was handed out at, and never misses a slot that some Get
// returned before the scan began. Each round grows a fresh registry
// through its first buckets with several growers at once, so that they
// race to install the same bucket and to count their slots.
func TestScanSeesEverySlotHandedOut(t *testing.T) {
	// More Ps than CPUs: threads are preempted in the middle of grow.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(8))
	end := time.Now().Add(stressTime(300*time.Millisecond, time.Second))
	for round := 0; time.Now().Before(end) || round < 3; round++ {
		if !scanRound(t, 1000) {
			return
		}
	}
}

func scanRound(t *testing.T, limit int) bool {
	r := New[ledger]()
	f := &failer{t: t}
	returned := make([]atomic.Pointer[Slot[ledger]], 2*limit)
	var grown atomic.Int64
	done := make(chan struct{})
	var growers, scanners sync.WaitGroup
	for w := range 8 {
		me := uint64(w + 1)
		growers.Go(func() {
			var kept []*Slot[ledger]
			for grown.Load() < int64(limit) && !f.failed() {
				// Keep most slots, so the registry grows through many
				// buckets, and give some back, so scans also meet reuse.
				s := acquire(f, r, me, w%2 == 0)
				i := s.Index()
				if i >= len(returned) {
					f.errorf("slot index %d beyond the %d slots ever needed", i, len(returned))
					return
				}
				if p := returned[i].Load(); p != nil && p != s {
					f.errorf("slot %d moved from %p to %p", i, p, s)
				}
				returned[i].Store(s)
				grown.Add(1)
				kept = append(kept, s)
				if len(kept)%4 == 0 {
					giveBack(f, r, kept[0], me)
					kept = kept[1:]
				}
			}
			for _, s := range kept {
				giveBack(f, r, s, me)
			}
		})
	}
	for range 2 {
		scanners.Go(func() {
			want := make([]bool, len(returned))
			for !f.failed() {
				// Every slot handed out before the scan begins.
				for i := range returned {
					want[i] = returned[i].Load() != nil
				}
				pos := 0
				for s := range r.All() {
					i := s.Index()
					if i < pos {
						f.errorf("All yielded index %d after position %d", i, pos)
						return
					}
					for ; pos < i; pos++ { // skipped: only a bucket being installed
						if want[pos] {
							f.errorf("All skipped slot %d, handed out before the scan began", pos)
							return
						}
					}
					if p := returned[i].Load(); p != nil && p != s {
						f.errorf("All yielded slot %d at %p, handed out at %p", i, s, p)
						return
					}
					pos++
				}
				for ; pos < len(want); pos++ {
					if want[pos] {
						f.errorf("All stopped before slot %d, handed out before the scan began", pos)
						return
					}
				}
				select {
				case <-done:
					return
				default:
				}
			}
		})
	}
	growers.Wait()
	close(done)
	scanners.Wait()
	if f.failed() {
		return false
	}
	audit(t, r)
	return !t.Failed()
}

// Growth alone, from many goroutines at once on a fresh registry: every
// GetLong returns a distinct new slot whose index is already written, and
// the registry ends with exactly as many slots as were handed out, all of
// them seen by a scan.
func TestConcurrentGrowthHandsOutDistinctSlots(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(8))
	const goroutines, each = 8, 300
	end := time.Now().Add(stressTime(300*time.Millisecond, time.Second))
	for round := 0; time.Now().Before(end) || round < 3; round++ {
		r := New[ledger]()
		f := &failer{t: t}
		got := make([][]*Slot[ledger], goroutines)
		var wg sync.WaitGroup
		for w := range goroutines {
			me := uint64(w + 1)
			wg.Go(func() {
				for range each {
					s := acquire(f, r, me, true)
					got[w] = append(got[w], s)
				}
			})
		}
		wg.Wait()
		if f.failed() {
			return
		}
		if n := r.Len(); n != goroutines*each {
			t.Fatalf("%d slots handed out, Len reports %d", goroutines*each, n)
		}
		byIndex := make([]*Slot[ledger], goroutines*each)
		for _, mine := range got {
			for _, s := range mine {
				i := s.Index()
				if i >= len(byIndex) || byIndex[i] != nil {
					t.Fatalf("index %d handed out twice or beyond Len", i)
				}
				byIndex[i] = s
			}
		}
		pos := 0
		for s := range r.All() {
			if byIndex[pos] != s {
				t.Fatalf("All yielded at position %d a slot not handed out with that index", pos)
			}
			pos++
		}
		if pos != len(byIndex) {
			t.Fatalf("All yielded %d slots of %d", pos, len(byIndex))
		}
		for _, mine := range got {
			for _, s := range mine {
				giveBack(f, r, s, s.Value.owner.Load())
			}
		}
		if !f.failed() {
			audit(t, r)
		}
		if t.Failed() {
			return
		}
	}
}

// A grower that has counted its slot but not yet installed the bucket
// (here: eight of them, stalled in bucket 0) must not hide the slots of a
// later bucket that other growers have already handed out.
func TestScanPastBucketBeingInstalled(t *testing.T) {
	r := New[ledger]()
	r.created.Store(firstBucket) // bucket 0's growers stalled before install
	s := r.GetLong()             // index 8: bucket 1
	if s.Index() != firstBucket {
		t.Fatalf("got index %d, want %d", s.Index(), firstBucket)
	}
	var seen []int
	for x := range r.All() {
		seen = append(seen, x.Index())
	}
	if len(seen) != 1 || seen[0] != firstBucket {
		t.Fatalf("All yielded %v while bucket 0 is being installed, want [%d]", seen, firstBucket)
	}
	// The stalled growers finish.
	r.install(0)
	seen = seen[:0]
	for x := range r.All() {
		seen = append(seen, x.Index())
	}
	if len(seen) != firstBucket+1 {
		t.Fatalf("All yielded %v once bucket 0 is installed, want 0..%d", seen, firstBucket)
	}
	for i, x := range seen {
		if x != i {
			t.Fatalf("All yielded %v, want 0..%d in order", seen, firstBucket)
		}
	}
}

// Nested Gets on one P: the home, then the spare, then the free list; a
// second Get never returns the home while it is owned, and GetLong never
// returns it at all, wherever it is given back from.
func TestNestedGetsOnOneP(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	r := New[ledger]()
	f := &failer{t: t}
	const depth = 6
	for round := range 2000 {
		var held []*Slot[ledger]
		for d := range depth {
			held = append(held, acquire(f, r, uint64(d+1), (round+d)%3 == 0))
		}
		// Give back in an order that depends on the round, not LIFO.
		perm := rand.New(rand.NewPCG(uint64(round), 7)).Perm(depth)
		for _, j := range perm {
			giveBack(f, r, held[j], uint64(j+1))
		}
		if f.failed() {
			return
		}
	}
	audit(t, r)
	if n := r.Len(); n > depth+2 {
		t.Errorf("one goroutine holding %d slots at once grew the registry to %d", depth, n)
	}
}
