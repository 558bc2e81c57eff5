package epoch

import (
	"context"
	"sync"
	"testing"
	"time"
)

// A robust seal takes batches out of other slots (judgeStranded), and runs
// OnReclaim on them only later, without a lock. A Barrier whose flush the
// seal's slot has already honoured must still wait for it: the batch,
// retired before the Barrier, is in none of the places its sweep looks.
// (Found by review; Barrier returned while OnReclaim ran.)
func TestBarrierWaitsForBatchesOtherSlotsTook(t *testing.T) {
	c := New(WithRobust(), WithMaxBatchAge(0))
	var stranded sync.Map
	entered := make(chan struct{})
	var once sync.Once
	release := make(chan struct{})
	p := NewPool[int](c, OnReclaim(func(x *int) {
		if _, ok := stranded.Load(x); ok {
			once.Do(func() { close(entered) })
			<-release
		}
	}))
	a, h := c.Register(), c.Register()
	g := a.Enter()
	nodes := make([]*int, c.batchSize)
	for i := range nodes {
		nodes[i] = p.Get(g)
		stranded.Store(nodes[i], true)
	}
	g.Exit()
	g = a.Enter()
	for _, x := range nodes { // sealed whole at the last: held by pin
		p.Retire(g, x)
	}
	g.Exit()
	stuck := a.Enter() // a's slot: pinned, does not seal again

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Barrier(ctx) }()
	for c.flushReq.Load() == 0 || h.s.Value.flushed.Load() < c.flushReq.Load() {
		time.Sleep(time.Millisecond)
	}
	// h's slot has honoured the Barrier's flush; a's has not (stuck).
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		gh := h.Enter()
		for i := 0; i < 64*8; i++ {
			select {
			case <-entered:
				i = 64 * 8
				continue
			default:
			}
			p.Retire(gh, p.Get(gh))
		}
		gh.Exit()
	}()
	select {
	case <-entered:
	case <-time.After(5 * time.Second):
		close(release)
		wg.Wait()
		t.Fatal("h's seals never judged a's batch")
	}
	stuck.Exit() // a's slot honours the flush: nothing left in it
	select {
	case err := <-done:
		t.Errorf("Barrier returned (err=%v) while OnReclaim of a node retired before it is still running", err)
	case <-time.After(500 * time.Millisecond):
		close(release)
		<-done
	}
	select {
	case <-release:
	default:
		close(release)
	}
	wg.Wait()
	a.Unregister()
	h.Unregister()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}
