package retire

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// Objects of two types of different sizes, so that a free
// function handed another type's pointer shows up as a wrong tag.
type small struct {
	tag   uint32
	idx   int // entry index in retire order
	freed int
}

type big struct {
	pad   [5]uint64
	tag   uint64
	idx   int // entry index in retire order
	freed int
}

// addrSweeper keeps the entries whose address is in keep (KeepsEntries
// only then) and records what Free hands back, without allocating once its
// slices have room.
type addrSweeper struct {
	keep     map[unsafe.Pointer]bool
	recycled []*Batch
	reclaims int
	requeued List
	requeues int
}

func (s *addrSweeper) KeepBatch(*Batch) bool { return false }
func (s *addrSweeper) KeepsEntries() bool    { return len(s.keep) > 0 }
func (s *addrSweeper) KeepEntry(e Entry) bool {
	return s.keep[e.Addr()]
}
func (s *addrSweeper) Recycle(b *Batch) { s.recycled = append(s.recycled, b) }
func (s *addrSweeper) Reclaimed(n int)  { s.reclaims += n }
func (s *addrSweeper) Requeue(kept List) {
	s.requeues++
	s.requeued = kept
}

// world is a set of retired objects of mixed kinds spread over batches: a
// free function per type, two Bins (one per type), and Func entries, so
// that every run boundary of Free is exercised.
type world struct {
	smalls  []*small
	bigs    []*big
	funcs   []int // runs of each Func entry
	binRuns int
	batches []*Batch
	bomb    int // index (in retire order) of the entry whose free panics; -1: none
	bombs   int // how many times the bomb went off
}

func (w *world) checkSmall(p *small) {
	if p.tag == 0 || p.tag > uint32(len(w.smalls)) || w.smalls[p.tag-1] != p {
		panic(fmt.Sprintf("small free function handed a foreign pointer %p (tag %d)", p, p.tag))
	}
}

func (w *world) checkBig(p *big) {
	if p.tag == 0 || p.tag > uint64(len(w.bigs)) || w.bigs[p.tag-1] != p {
		panic(fmt.Sprintf("big free function handed a foreign pointer %p (tag %d)", p, p.tag))
	}
}

// newWorld builds n entries in batches of size; entry i's kind is i%6.
func newWorld(n, size, bomb int) *world {
	w := &world{bomb: bomb}
	smallBin := NewBin(func(p unsafe.Pointer) { w.checkSmall((*small)(p)); (*small)(p).freed++ },
		func(es []Entry) {
			w.binRuns++
			for _, e := range es {
				p := (*small)(e.Addr())
				w.checkSmall(p)
				p.freed++
			}
		})
	bigBin := NewBin(func(p unsafe.Pointer) { w.checkBig((*big)(p)); (*big)(p).freed++ },
		func(es []Entry) {
			w.binRuns++
			for _, e := range es {
				p := (*big)(e.Addr())
				w.checkBig(p)
				p.freed++
			}
		})
	var cur *Batch
	for i := range n {
		if cur == nil || len(cur.Entries) == size {
			cur = &Batch{Entries: make([]Entry, 0, size), Epoch: uint64(len(w.batches) + 2)}
			w.batches = append(w.batches, cur)
		}
		boom := i == bomb
		var e Entry
		switch i % 6 {
		case 0, 1: // small through its Bin (runs of two)
			p := &small{tag: uint32(len(w.smalls) + 1), idx: i}
			w.smalls = append(w.smalls, p)
			e = Binned(p, smallBin)
			if boom {
				e = Of(p, func(p *small) { w.checkSmall(p); p.freed++; w.bombs++; panic("boom") })
			}
		case 2: // big through a free function
			p := &big{tag: uint64(len(w.bigs) + 1), idx: i}
			w.bigs = append(w.bigs, p)
			e = Of(p, func(p *big) {
				w.checkBig(p)
				p.freed++
				if boom {
					w.bombs++
					panic("boom")
				}
			})
		case 3: // a Func entry
			j := len(w.funcs)
			w.funcs = append(w.funcs, 0)
			e = Func(func() {
				w.funcs[j]++
				if boom {
					w.bombs++
					panic("boom")
				}
			})
		case 4: // big through its Bin
			p := &big{tag: uint64(len(w.bigs) + 1), idx: i}
			w.bigs = append(w.bigs, p)
			e = Binned(p, bigBin)
			if boom {
				e = Of(p, func(p *big) { w.checkBig(p); p.freed++; w.bombs++; panic("boom") })
			}
		case 5: // small through a free function
			p := &small{tag: uint32(len(w.smalls) + 1), idx: i}
			w.smalls = append(w.smalls, p)
			e = Of(p, func(p *small) {
				w.checkSmall(p)
				p.freed++
				if boom {
					w.bombs++
					panic("boom")
				}
			})
		}
		cur.Entries = append(cur.Entries, e)
	}
	return w
}

func (w *world) list() *Batch {
	var l List
	for _, b := range w.batches {
		l.Add(b)
	}
	return l.Head()
}

// freedCounts lists every object's number of frees.
func (w *world) freedCounts() (fs []int) {
	for _, p := range w.smalls {
		fs = append(fs, p.freed)
	}
	for _, p := range w.bigs {
		fs = append(fs, p.freed)
	}
	return append(fs, w.funcs...)
}

// noStaleEntries requires that no batch holds, anywhere in its backing
// array beyond its length, an entry: a reference there keeps a reclaimed
// object (and its free function) alive for the garbage collector.
func noStaleEntries(t *testing.T, bs []*Batch, what string) {
	t.Helper()
	for i, b := range bs {
		for j, e := range b.Entries[len(b.Entries):cap(b.Entries)] {
			require.Zero(t, e, "%s: batch %d keeps a reclaimed entry beyond its length at %d", what, i, len(b.Entries)+j)
		}
	}
}

// A free function that panics, at every position in turn, in a sweep of
// several batches mixing Bins, free functions of two types and Func
// entries, with protected entries in some batches: the panic reaches the
// caller, the rest goes to Requeue (kept entries included), and sweeping
// again until nothing is left frees every object exactly once, each with
// its own pointer. Reclaimed counts every free, the panicking one included.
func TestPanicAtEveryPositionFreesEachOnce(t *testing.T) {
	const n, size = 40, 8
	for bomb := range n {
		for _, keepSome := range []bool{false, true} {
			w := newWorld(n, size, bomb)
			s := &addrSweeper{keep: map[unsafe.Pointer]bool{}}
			if keepSome { // every seventh object, one that never panics
				for i, p := range w.smalls {
					if i%7 == 3 && p.idx != bomb {
						s.keep[unsafe.Pointer(p)] = true
					}
				}
			}
			require.PanicsWithValue(t, "boom", func() { Sweep(w.list(), s) }, "bomb %d", bomb)
			require.Equal(t, 1, w.bombs)
			require.Equal(t, 1, s.requeues, "Requeue once per panicking sweep")

			// Every object not yet freed is in the requeued batches, once.
			inBatches := map[unsafe.Pointer]int{}
			funcsLeft := 0
			for b := s.requeued.Head(); b != nil; b = b.Next() {
				for _, e := range b.Entries {
					if e.Addr() == nil {
						funcsLeft++
						continue
					}
					inBatches[e.Addr()]++
				}
			}
			pendingObjs := 0
			for _, p := range w.smalls {
				if p.freed == 0 {
					pendingObjs++
					require.Equal(t, 1, inBatches[unsafe.Pointer(p)], "bomb %d: pending small %d requeued once", bomb, p.tag)
				}
			}
			for _, p := range w.bigs {
				if p.freed == 0 {
					pendingObjs++
					require.Equal(t, 1, inBatches[unsafe.Pointer(p)], "bomb %d: pending big %d requeued once", bomb, p.tag)
				}
			}
			require.Len(t, inBatches, pendingObjs, "bomb %d: no freed object requeued", bomb)
			unrun := 0
			for _, c := range w.funcs {
				if c == 0 {
					unrun++
				}
			}
			require.Equal(t, unrun, funcsLeft, "bomb %d: every Func not run requeued", bomb)
			freedNow := 0
			for _, c := range w.freedCounts() {
				freedNow += c
			}
			require.Equal(t, freedNow, s.reclaims, "bomb %d: Reclaimed counts what ran", bomb)

			s.keep = nil
			kept := Sweep(s.requeued.Head(), s)
			require.Nil(t, kept.Head())
			for i, c := range w.freedCounts() {
				require.Equal(t, 1, c, "bomb %d, keepSome %v: object %d", bomb, keepSome, i)
			}
			require.Equal(t, n, s.reclaims)
		}
	}
}

// Batch.Reset says it drops the entries' references so that the garbage
// collector can free what they pointed to, and a normal sweep leaves no
// entry in a batch's backing array. After a free function panics, Free
// closes the gap with append and leaves copies of the pending entries
// beyond the batch's new length; nothing clears them (later sweeps zero
// only within the length, and Reset clears only the length), so a
// recycled batch keeps reclaimed objects and their free functions alive
// until those slots are written again.
func TestPanicLeavesNoStaleEntries(t *testing.T) {
	w := newWorld(8, 8, 1) // one batch; the second entry's free panics
	s := &addrSweeper{}
	require.PanicsWithValue(t, "boom", func() { Sweep(w.list(), s) })
	kept := Sweep(s.requeued.Head(), s)
	require.Nil(t, kept.Head())
	for i, c := range w.freedCounts() {
		require.Equal(t, 1, c, "object %d", i)
	}
	require.Equal(t, []*Batch{w.batches[0]}, s.recycled)
	w.batches[0].Reset() // what the schemes' Recycle does
	noStaleEntries(t, w.batches, "recycled after a panic")
}

// The hazard flow: Judge, Separate, put kept back, then Free the doomed
// with an empty kept list and ignore what it returns. If a free function
// panics, what Requeue gets holds only entries not yet freed and none of
// the entries Separate already put back; Free itself never returns a
// batch with a pending entry (the caller drops it).
func TestSeparateThenFreeLeavesNothingBehind(t *testing.T) {
	const n, size = 48, 8
	for bomb := -1; bomb < n; bomb++ {
		w := newWorld(n, size, bomb)
		s := &addrSweeper{keep: map[unsafe.Pointer]bool{}}
		for i, p := range w.bigs {
			if i%3 != 1 && p.idx != bomb {
				s.keep[unsafe.Pointer(p)] = true
			}
		}
		kept, doomed := Judge(w.list(), s)
		spare := &Batch{Entries: make([]Entry, 0, size)}
		Separate(&kept, &doomed, spare, size)
		keptAddrs := map[unsafe.Pointer]int{}
		for b := kept.Head(); b != nil; b = b.Next() {
			require.Zero(t, b.keep)
			for _, e := range b.Entries {
				keptAddrs[e.Addr()]++
			}
		}
		for a := range s.keep {
			require.Equal(t, 1, keptAddrs[a], "bomb %d: a kept entry is in kept once", bomb)
		}
		require.Len(t, keptAddrs, len(s.keep), "bomb %d: only kept entries in kept", bomb)
		for b := doomed.Head(); b != nil; b = b.Next() {
			require.Zero(t, b.keep, "bomb %d: Separate leaves no kept prefix", bomb)
			for _, e := range b.Entries {
				require.False(t, s.keep[e.Addr()] && e.Addr() != nil, "bomb %d: kept entry left in doomed", bomb)
			}
		}
		noStaleEntries(t, w.batches, "after Separate")

		run := func() (back List, panicked any) {
			defer func() { panicked = recover() }()
			return Free(doomed, List{}, s), nil
		}
		back, p := run()
		if bomb < 0 {
			require.Nil(t, p)
			require.Nil(t, back.Head(), "Free returned pending batches that the caller drops")
			noStaleEntries(t, w.batches, "after Free")
		} else {
			require.Equal(t, "boom", p)
			for b := s.requeued.Head(); b != nil; b = b.Next() {
				for _, e := range b.Entries {
					require.Zero(t, keptAddrs[e.Addr()], "bomb %d: a separated entry requeued too", bomb)
				}
			}
			back = Sweep(s.requeued.Head(), &addrSweeper{})
			require.Nil(t, back.Head())
		}
		for _, p := range w.smalls {
			require.Equal(t, 1, p.freed, "bomb %d: small %d", bomb, p.tag)
		}
		for _, p := range w.bigs {
			want := 1
			if s.keep[unsafe.Pointer(p)] {
				want = 0
			}
			require.Equal(t, want, p.freed, "bomb %d: big %d", bomb, p.tag)
		}
		for i, c := range w.funcs {
			require.Equal(t, 1, c, "bomb %d: func %d", bomb, i)
		}
	}
}

// Entries of different types in one batch: each free function gets its
// own object's pointer, with its own type. Func entries have no address.
func TestTypeErasureKeepsEachPair(t *testing.T) {
	w := newWorld(60, 64, -1)
	for _, b := range w.batches {
		for _, e := range b.Entries {
			if _, ok := e.fn.(deferred); ok {
				require.Nil(t, e.Addr())
			} else {
				require.NotNil(t, e.Addr())
			}
		}
	}
	s := &addrSweeper{}
	kept := Sweep(w.list(), s)
	require.Nil(t, kept.Head())
	for i, c := range w.freedCounts() {
		require.Equal(t, 1, c, "object %d", i)
	}
	require.Equal(t, 60, s.reclaims)
	// Runs: entries 0,1 (small Bin), 4 (big Bin), 6,7, 10, ... : two Bin
	// runs per six entries, none across a batch boundary (one batch).
	require.Equal(t, 20, w.binRuns)
	noStaleEntries(t, w.batches, "after a sweep")
}

// Building entries and sweeping a batch allocate nothing.
func TestSweepDoesNotAllocate(t *testing.T) {
	objs := make([]small, 64)
	bin := NewBin(func(unsafe.Pointer) {}, func([]Entry) {})
	fr := func(*small) {}
	fn := func() {}
	b := &Batch{Entries: make([]Entry, 0, 64)}
	s := &addrSweeper{recycled: make([]*Batch, 0, 1)}
	allocs := testing.AllocsPerRun(200, func() {
		for i := range objs {
			switch i % 3 {
			case 0:
				b.Entries = append(b.Entries, Of(&objs[i], fr))
			case 1:
				b.Entries = append(b.Entries, Binned(&objs[i], bin))
			default:
				b.Entries = append(b.Entries, Func(fn))
			}
		}
		s.recycled = s.recycled[:0]
		Sweep(b, s)
		b.Reset()
	})
	require.Zero(t, allocs)
	require.Equal(t, []*Batch{b}, s.recycled)
}

// Pop with exclusive removers (Pop and TakeAll under one lock) and
// concurrent Push and PushList: each batch comes out exactly once.
func TestPopAndTakeAllWithPushLists(t *testing.T) {
	const pushers, each = 3, 1500
	var s Stack
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := range pushers {
		wg.Go(func() {
			for i := 0; i < each; {
				if (i+g)%3 == 0 && i+2 < each {
					var l List
					l.Add(new(Batch))
					l.Add(new(Batch))
					l.PushTo(&s)
					i += 2
					continue
				}
				s.Push(new(Batch))
				i++
			}
		})
	}
	var pushed atomic.Bool
	go func() {
		wg.Wait()
		pushed.Store(true)
	}()
	seen := map[*Batch]bool{}
	take := func(i int) int {
		mu.Lock()
		defer mu.Unlock()
		got := 0
		if i%5 == 0 {
			for b := s.TakeAll(); b != nil; {
				next := b.Next()
				require.False(t, seen[b], "taken twice")
				seen[b] = true
				got++
				b = next
			}
			return got
		}
		if b := s.Pop(); b != nil {
			require.Nil(t, b.Next())
			require.False(t, seen[b], "popped twice")
			seen[b] = true
			got++
		}
		return got
	}
	for i := 0; ; i++ {
		done := pushed.Load() // before the take: nothing then means empty for good
		if take(i) == 0 && done {
			break
		}
	}
	wg.Wait()
	require.Nil(t, s.Pop())
	require.Len(t, seen, pushers*each)
}
