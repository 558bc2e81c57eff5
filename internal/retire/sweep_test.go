package retire

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// obj is a retired object that counts the runs of its free function.
type obj struct{ freed int }

func free(o *obj) { o.freed++ }

// keeper keeps whole the batches tagged 1 and the entries of the objects
// in keep; it records what Free hands back.
type keeper struct {
	keep     map[*obj]bool
	asked    int
	recycled []*Batch
	reclaims int
	requeued List
}

func (k *keeper) KeepBatch(b *Batch) bool { return b.Epoch == 1 }
func (k *keeper) KeepsEntries() bool      { return len(k.keep) > 0 }
func (k *keeper) KeepEntry(e Entry) bool {
	k.asked++
	return k.keep[(*obj)(e.Addr())]
}
func (k *keeper) Recycle(b *Batch)  { k.recycled = append(k.recycled, b) }
func (k *keeper) Reclaimed(n int)   { k.reclaims += n }
func (k *keeper) Requeue(kept List) { k.requeued = kept }

func objsOf(es []Entry) (os []*obj) {
	for _, e := range es {
		os = append(os, (*obj)(e.Addr()))
	}
	return os
}

// batchOf returns a batch tagged tag holding n new objects, and them.
func batchOf(tag uint64, n int) (*Batch, []*obj) {
	b := &Batch{Epoch: tag}
	os := make([]*obj, n)
	for i := range os {
		os[i] = new(obj)
		b.Entries = append(b.Entries, Of(os[i], free))
	}
	return b, os
}

// link makes a list of batches as Stack.TakeAll returns it.
func link(bs ...*Batch) *Batch {
	var l List
	for _, b := range bs {
		l.Add(b)
	}
	return l.Head()
}

func listOf(l List) (bs []*Batch) {
	for b := l.Head(); b != nil; b = b.Next() {
		bs = append(bs, b)
	}
	return bs
}

func TestJudgeMovesKeptEntriesToTheFront(t *testing.T) {
	whole, _ := batchOf(1, 3)    // kept whole by its tag
	mixed, mo := batchOf(2, 5)   // two of five kept
	allKept, ao := batchOf(2, 2) // every entry kept
	none, no := batchOf(2, 4)    // nothing kept
	k := &keeper{keep: map[*obj]bool{mo[1]: true, mo[4]: true, ao[0]: true, ao[1]: true}}

	kept, doomed := Judge(link(whole, mixed, allKept, none), k)

	require.Equal(t, []*Batch{whole, allKept}, listOf(kept))
	require.Equal(t, []*Batch{mixed, none}, listOf(doomed))
	require.Equal(t, 2, mixed.keep)
	require.ElementsMatch(t, []*obj{mo[1], mo[4]}, objsOf(mixed.Entries[:2]))
	require.ElementsMatch(t, []*obj{mo[0], mo[2], mo[3]}, objsOf(mixed.Entries[2:]))
	require.Zero(t, none.keep)
	require.Equal(t, 5+2+4, k.asked, "every entry of a batch not kept whole is judged once")

	kept = Free(doomed, kept, k)
	require.Equal(t, []*Batch{whole, allKept, mixed}, listOf(kept))
	require.Equal(t, []*Batch{none}, k.recycled)
	require.Equal(t, 3+4, k.reclaims)
	require.ElementsMatch(t, []*obj{mo[1], mo[4]}, objsOf(mixed.Entries))
	for _, o := range no {
		require.Equal(t, 1, o.freed)
	}
	for i, o := range mo {
		require.Equal(t, map[bool]int{true: 0, false: 1}[k.keep[o]], o.freed, "object %d", i)
	}
}

// A sweeper that keeps no entry is not asked about each one.
func TestJudgeSkipsEntriesWhenNoneCanBeKept(t *testing.T) {
	b, os := batchOf(2, 64)
	k := &keeper{}
	kept, doomed := Judge(link(b), k)
	require.Zero(t, k.asked)
	require.Nil(t, kept.Head())
	Free(doomed, kept, k)
	for _, o := range os {
		require.Equal(t, 1, o.freed)
	}
}

// A free function that panics: the entries not yet freed stay in their
// batches and go to Requeue with the kept ones; judged again and freed,
// each object is freed exactly once.
func TestFreeAfterAPanicFreesTheRestOnce(t *testing.T) {
	b1, o1 := batchOf(2, 4)
	b2, o2 := batchOf(2, 4)
	kept0, _ := batchOf(1, 2)
	bomb := &obj{}
	b1.Entries[2] = Of(bomb, func(o *obj) { o.freed++; panic("on purpose") })
	o1[2] = bomb
	k := &keeper{keep: map[*obj]bool{o1[0]: true}}
	kept, doomed := Judge(link(kept0, b1, b2), k)

	require.PanicsWithValue(t, "on purpose", func() { Free(doomed, kept, k) })

	require.Equal(t, 2, k.reclaims, "the entry freed before the bomb, and the bomb")
	back := listOf(k.requeued)
	require.Equal(t, []*Batch{kept0, b1, b2}, back)
	require.Len(t, b1.Entries, 2, "the kept entry and the one after the bomb")
	k.keep = nil
	kept, doomed = Judge(k.requeued.Head(), k)
	Free(doomed, kept, k)
	for i, o := range append(o1, o2...) {
		require.Equal(t, 1, o.freed, "object %d", i)
	}
}

// One popper and concurrent pushers: each batch comes out exactly once.
func TestPopWithConcurrentPushes(t *testing.T) {
	const pushers, each = 4, 2000
	var s Stack
	var wg sync.WaitGroup
	for range pushers {
		wg.Go(func() {
			for range each {
				s.Push(new(Batch))
			}
		})
	}
	var pushed atomic.Bool
	go func() {
		wg.Wait()
		pushed.Store(true)
	}()
	seen := map[*Batch]bool{}
	for {
		done := pushed.Load() // before the Pop: nil then means empty for good
		b := s.Pop()
		if b == nil {
			if done {
				break
			}
			continue
		}
		require.False(t, seen[b], "popped twice")
		require.Nil(t, b.Next())
		seen[b] = true
	}
	require.Len(t, seen, pushers*each, "every pushed batch popped")
}

// Separate moves the kept entries of doomed batches into batches of their
// own on kept, before any free function runs: the spare first, then new
// ones of the given capacity, each holding entries of one tag only (a new
// batch starts where the tag changes); the doomed batches keep only what
// Free will reclaim.
func TestSeparate(t *testing.T) {
	whole, wholeObjs := batchOf(1, 3) // kept whole (tag 1)
	mixedA, a := batchOf(5, 4)
	mixedB, b := batchOf(9, 4)
	allKept, c := batchOf(7, 2)
	k := &keeper{keep: map[*obj]bool{a[1]: true, a[3]: true, b[0]: true, c[0]: true, c[1]: true}}
	kept, doomed := Judge(link(whole, mixedA, allKept, mixedB), k)

	spare := &Batch{Entries: make([]Entry, 0, 2)}
	require.True(t, Separate(&kept, &doomed, spare, 2))
	// kept: whole, allKept (Judge's), then spare {a1, a3}, then a new batch {b0}.
	var keptBatches []*Batch
	for x := kept.Head(); x != nil; x = x.Next() {
		keptBatches = append(keptBatches, x)
	}
	require.Len(t, keptBatches, 4)
	require.Equal(t, []*obj{a[1], a[3]}, objsOf(keptBatches[2].Entries))
	require.Same(t, spare, keptBatches[2])
	require.Equal(t, uint64(5), spare.Epoch)
	require.Equal(t, []*obj{b[0]}, objsOf(keptBatches[3].Entries))
	require.Equal(t, uint64(9), keptBatches[3].Epoch)
	require.Equal(t, 2, cap(keptBatches[3].Entries))

	kept = Free(doomed, kept, k)
	require.Equal(t, 5, k.reclaims, "a0, a2, b1, b2, b3")
	for _, o := range []*obj{a[0], a[2], b[1], b[2], b[3]} {
		require.Equal(t, 1, o.freed)
	}
	for _, o := range append(append([]*obj{a[1], a[3], b[0]}, c...), wholeObjs...) {
		require.Zero(t, o.freed)
	}
	require.Len(t, k.recycled, 2, "both emptied doomed batches")
	n := 0
	for x := kept.Head(); x != nil; x = x.Next() {
		n++
	}
	require.Equal(t, 4, n, "Free adds nothing to kept: Separate took the kept entries out")

	// Nothing to separate: the spare stays unused.
	k2 := &keeper{}
	plain, _ := batchOf(3, 2)
	kept2, doomed2 := Judge(link(plain), k2)
	require.False(t, Separate(&kept2, &doomed2, spare, 2))
}
