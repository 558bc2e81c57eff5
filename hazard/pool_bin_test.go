package hazard_test

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/hazard"
	"github.com/go-reclaim/reclaim/internal/race"
)

type binNode struct {
	tag  uint64 // nonzero while retired; Get must return it zeroed
	next *binNode
}

// oneProc runs the rest of the test on one processor with the garbage
// collector off: a Pool's per-processor lists are then all visible to Get,
// and (outside the race detector, whose sync.Pool drops items at random)
// nothing a Pool holds is dropped, so every object it recycled comes back
// from Get before Get allocates.
func oneProc(t *testing.T) {
	old := runtime.GOMAXPROCS(1)
	gc := debug.SetGCPercent(-1)
	t.Cleanup(func() {
		debug.SetGCPercent(gc)
		runtime.GOMAXPROCS(old)
	})
}

// flushUntil calls Flush, recovering the panics of free functions, until
// Pending is want; it returns the panics seen (at most one per Flush).
func flushUntil(t *testing.T, d *hazard.Domain, want uint64) (panics int) {
	t.Helper()
	for i := 0; d.Stats().Pending != want; i++ {
		require.Less(t, i, 1000, "Pending stays at %d", d.Stats().Pending)
		func() {
			defer func() {
				if r := recover(); r != nil {
					require.Equal(t, "bomb", r)
					panics++
				}
			}()
			d.Flush()
		}()
	}
	return panics
}

// getAll takes n objects from p and checks that each is zeroed and that
// none comes out twice; it returns those that were among retired.
func getAll(t *testing.T, p *hazard.Pool[binNode], n int, retired map[*binNode]bool) map[*binNode]bool {
	back, _ := getAllOf(t, p, n, retired)
	return back
}

func getAllOf(t *testing.T, p *hazard.Pool[binNode], n int, retired map[*binNode]bool) (back, got map[*binNode]bool) {
	t.Helper()
	got, back = map[*binNode]bool{}, map[*binNode]bool{}
	for range n {
		x := p.Get()
		require.Zero(t, *x, "Get returned a dirty object")
		require.False(t, got[x], "Get returned an object twice")
		got[x] = true
		if retired[x] {
			back[x] = true
		}
	}
	return back, got
}

// Pool objects (through the Pool's Bin) interleaved in the same batches
// with plain retirements whose free functions sometimes panic, some Pool
// objects protected: Flush after Flush, each panic reaches the caller, and
// in the end every plain object is freed exactly once, no protected Pool
// object comes back from Get while protected, and every other Pool object
// comes back exactly once (outside the race detector: all of them).
func TestPoolBinWithPanickingNeighbours(t *testing.T) {
	oneProc(t)
	d := hazard.New(hazard.WithThreshold(1<<20), hazard.WithMaxBatchAge(0))
	p := hazard.NewPool[binNode](d)
	const n = 500
	retired := map[*binNode]bool{}
	var src atomic.Pointer[binNode]
	var hps []*hazard.Pointer
	protected := map[*binNode]bool{}
	freed := make([]int, n)
	bombs := 0
	for i := range n {
		switch {
		case i%5 == 4:
			freeIt := func(*int) { freed[i]++ }
			if i%15 == 4 { // a third of the plain ones panic
				bombs++
				freeIt = func(*int) { freed[i]++; panic("bomb") }
			}
			hazard.Retire(d, new(int), freeIt)
		default:
			x := p.Get()
			x.tag = uint64(i + 1)
			if i%97 == 1 { // protected while retired
				src.Store(x)
				hp := d.Acquire()
				require.Same(t, x, hazard.Protect(hp, &src))
				src.Store(nil)
				hps = append(hps, hp)
				protected[x] = true
			}
			retired[x] = true
			p.Retire(x)
		}
	}
	require.Equal(t, bombs, flushUntil(t, d, uint64(len(protected))), "one panic per bomb")
	for i, c := range freed {
		if i%5 == 4 {
			require.Equal(t, 1, c, "plain object %d", i)
		}
	}
	for x := range protected {
		require.NotZero(t, x.tag, "a protected object was zeroed")
	}
	back := getAll(t, p, len(retired)+8, retired)
	for x := range back {
		require.False(t, protected[x], "a protected object came out of Get")
	}
	if !race.Enabled {
		require.Len(t, back, len(retired)-len(protected), "every reclaimed Pool object recycled")
	}
	for _, hp := range hps {
		hp.Release()
	}
	require.Zero(t, flushUntil(t, d, 0))
	for x := range protected {
		require.Zero(t, x.tag, "reclaimed object not zeroed")
	}
	back = getAll(t, p, len(protected)+8, protected)
	if !race.Enabled {
		require.Len(t, back, len(protected), "the formerly protected objects recycled")
	}
	st := d.Stats()
	require.EqualValues(t, n, st.Retired)
	require.EqualValues(t, n, st.Reclaimed)
	require.NoError(t, d.Close())
}

// A Pool with OnReclaim frees through its own free function, not a Bin:
// OnReclaim sees each object once, before it is zeroed; an object whose
// OnReclaim panics is dropped, never recycled; every other comes back once.
func TestPoolOnReclaimPanicDropsOnlyThatObject(t *testing.T) {
	oneProc(t)
	d := hazard.New(hazard.WithThreshold(1<<20), hazard.WithMaxBatchAge(0))
	seen := map[*binNode]int{}
	dropped := map[*binNode]bool{}
	p := hazard.NewPool(d, hazard.OnReclaim(func(x *binNode) {
		if x.tag == 0 {
			panic(fmt.Sprintf("OnReclaim saw a zeroed object %p", x))
		}
		seen[x]++
		if x.tag%7 == 3 {
			dropped[x] = true
			panic("bomb")
		}
	}))
	const n = 300
	retired := map[*binNode]bool{}
	bombs := 0
	for i := range n {
		x := p.Get()
		require.Zero(t, *x)
		x.tag = uint64(i + 1)
		if x.tag%7 == 3 {
			bombs++
		}
		retired[x] = true
		p.Retire(x)
	}
	require.Equal(t, bombs, flushUntil(t, d, 0))
	require.Len(t, seen, n)
	for x, c := range seen {
		require.Equal(t, 1, c, "OnReclaim ran twice on %p", x)
	}
	back := getAll(t, p, n+8, retired)
	for x := range back {
		require.False(t, dropped[x], "an object whose OnReclaim panicked was recycled")
	}
	if !race.Enabled {
		require.Len(t, back, n-len(dropped))
	}
	require.NoError(t, d.Close())
}

// Two Pools of different types retire into the same batches, alternating
// in runs: each Pool gets back only its own objects (a Bin handed another
// Pool's run would put a *big into a list of *binNode).
func TestTwoPoolsShareBatches(t *testing.T) {
	oneProc(t)
	type other struct {
		a, b, c uint64
		tag     uint64
	}
	d := hazard.New(hazard.WithThreshold(1<<20), hazard.WithMaxBatchAge(0))
	p := hazard.NewPool[binNode](d)
	q := hazard.NewPool[other](d)
	const n = 400
	mine := map[*binNode]bool{}
	theirs := map[*other]bool{}
	for i := range n {
		if (i/3)%2 == 0 {
			x := p.Get()
			x.tag = uint64(i + 1)
			mine[x] = true
			p.Retire(x)
		} else {
			y := q.Get()
			y.tag = uint64(i + 1)
			theirs[y] = true
			q.Retire(y)
		}
	}
	require.Zero(t, flushUntil(t, d, 0))
	back, gotP := getAllOf(t, p, len(mine)+8, mine)
	gotQ := map[*other]bool{}
	for range len(theirs) + 8 {
		y := q.Get()
		require.Zero(t, *y)
		require.False(t, gotQ[y], "Get returned an object twice")
		gotQ[y] = true
	}
	mineAddr := map[unsafe.Pointer]bool{}
	for x := range mine {
		mineAddr[unsafe.Pointer(x)] = true
	}
	theirAddr := map[unsafe.Pointer]bool{}
	for y := range theirs {
		theirAddr[unsafe.Pointer(y)] = true
	}
	for y := range gotQ {
		require.False(t, mineAddr[unsafe.Pointer(y)], "another Pool's object came out of Get")
	}
	for x := range gotP {
		require.False(t, theirAddr[unsafe.Pointer(x)], "another Pool's object came out of Get")
	}
	if !race.Enabled {
		require.Len(t, back, len(mine))
		n := 0
		for y := range gotQ {
			if theirs[y] {
				n++
			}
		}
		require.Equal(t, len(theirs), n)
	}
	require.NoError(t, d.Close())
}
