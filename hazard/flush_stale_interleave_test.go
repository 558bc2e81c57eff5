package hazard

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-reclaim/reclaim/internal/pin"
	"github.com/go-reclaim/reclaim/internal/retire"
	"github.com/stretchr/testify/require"
)

// A Flush scans in place the old list a Barrier waits on (for U, a Flush
// stuck in a free function), and one of the free functions it runs panics:
// Requeue puts the rest back on that list (sw.home), which stays stale
// until U leaves; the Barrier then takes it and reclaims the rest, each
// object once, and returns nil.
//
//	U: Flush: takes {a} from l0, a's free function blocks   (users(l0)=1)
//	   Retire(x, y): {x, y} pushed on l0
//	B: Barrier(Background): stale = l0, cur = l1, waits for U
//	F: Flush: in-place scan of l0 takes {x, y}; the first free panics,
//	   the other is requeued on l0
//	U: returns; B takes l0, reclaims the other, returns nil
func TestPanicInAnInPlaceScanWhileABarrierWaits(t *testing.T) {
	d := New(WithThreshold(1<<20), WithMaxBatchAge(0))
	x, y := new(flushObj), new(flushObj)
	l0, a, finishU := stuckFlush(t, d)

	var panicked atomic.Bool
	free := func(o *flushObj) {
		if panicked.CompareAndSwap(false, true) {
			o.freed.Add(1)
			panic("boom")
		}
		freeFlushObj(o)
	}
	Retire(d, x, free)
	Retire(d, y, free)
	require.NoError(t, d.flushShards(context.Background()))

	barrier := barrierSwitchedFrom(t, d, l0) // B
	require.Equal(t, uint32(1+l0.index(d)), d.sealed.stale.Load())

	func() { // F
		defer func() { require.Equal(t, "boom", recover()) }()
		d.Flush()
	}()
	require.True(t, panicked.Load())
	require.Equal(t, int32(1), x.freed.Load()+y.freed.Load(), "F ran one free function, which panicked")
	back := l0.TakeAll()
	require.NotNil(t, back, "the rest is back on l0")
	putBack(l0, back)

	finishU()
	require.NoError(t, <-barrier)
	require.Equal(t, int32(1), a.freed.Load())
	require.Equal(t, int32(1), x.freed.Load())
	require.Equal(t, int32(1), y.freed.Load())
	require.NoError(t, d.Close())
}

// A Flush that joins the list in takeOld's window (stale stored, cur not
// yet switched) scans the current list in place, alongside a Retire's
// scan that entered it through enter: the taker then waits for both, and
// nothing is left on the list once it has been taken.
func TestInPlaceScanInTheSwitchWindow(t *testing.T) {
	d := New(WithThreshold(1<<20), WithMaxBatchAge(0))
	hp := d.Acquire()
	x, y := new(flushObj), new(flushObj)
	protectUnlinked(t, hp, x)
	Retire(d, x, freeFlushObj)
	Retire(d, y, freeFlushObj)
	require.NoError(t, d.flushShards(context.Background()))

	p := patience{ctx: context.Background()}
	require.NoError(t, d.sealed.lockTaker(&p))
	i := d.sealed.cur.Load()
	d.sealed.stale.Store(i + 1) // takeOld, first step
	li := &d.sealed.lists[i]
	f := d.sealed.enterStale() // F, in the window
	require.Same(t, li, f, "F joins the current, stale list")
	r := d.sealed.enter() // a Retire, on the same list
	require.Same(t, li, r)
	d.sealed.cur.Store(1 - i) // takeOld, the switch
	done := make(chan *retire.Batch, 1)
	go func() { l, _ := d.sealed.take(li, &p); done <- l }()
	time.Sleep(5 * time.Millisecond)
	select {
	case <-done:
		t.Fatal("the taker took the list while F and R used it")
	default:
	}
	r.leave()
	// F scans in place: keeps x (protected), frees y, puts x back on li.
	sw := d.sweeper()
	judged := li.judged.Load()
	pin.Pin()
	sw.phase = li.startJudging()
	d.sweep(sw, li.TakeAll(), li, true, 0)
	require.True(t, li.alone(judged))
	require.Equal(t, int32(1), y.freed.Load())
	f.leave()
	list := <-done
	require.NotNil(t, list, "x reached the taker")
	hp.Reset()
	d.sweepBack(list, 0)
	d.sealed.unlockTaker()
	require.Equal(t, int32(1), x.freed.Load())
	require.Zero(t, d.sealed.stale.Load())
	require.Nil(t, li.TakeAll(), "nothing stranded on the old list")
	require.NoError(t, d.Close())
}
