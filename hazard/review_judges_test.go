package hazard

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// awaitJudges waits for every judge whose startJudging returned before the
// call, whatever phase flips came between its load of phase and its count
// (startJudging re-checks the phase after counting itself: a judge counted
// in a parity that an earlier flip already left would be missed by the
// next awaitJudges, which waits only for the other parity).
func TestAwaitJudgesWaitsForEveryJudgeCountedBefore(t *testing.T) {
	var l sealedList
	const judges = 3
	var gen [judges]atomic.Uint64 // odd while judge i is between startJudging and endJudging
	var stop atomic.Bool
	var wg sync.WaitGroup
	for i := range judges {
		wg.Go(func() {
			for !stop.Load() {
				p := l.startJudging()
				gen[i].Add(1)
				for range 50 { // hold the batches a moment
					if stop.Load() {
						break
					}
				}
				gen[i].Add(1)
				l.endJudging(p)
				runtime.Gosched()
			}
		})
	}
	missed := 0
	deadline := time.Now().Add(time.Second)
	if testing.Short() {
		deadline = time.Now().Add(200 * time.Millisecond)
	}
	rounds := 0
	for ; time.Now().Before(deadline); rounds++ {
		var before [judges]uint64
		for i := range judges {
			before[i] = gen[i].Load()
		}
		l.awaitJudges()
		for i := range judges {
			if b := before[i]; b%2 == 1 && gen[i].Load() == b {
				missed++
			}
		}
		if rounds%64 == 0 {
			runtime.Gosched()
		}
	}
	stop.Store(true)
	wg.Wait()
	t.Logf("%d rounds", rounds)
	if missed > 0 {
		t.Fatalf("awaitJudges returned %d times while a judge counted before the call still judged", missed)
	}
}

// alone reports false to a scan if another scan held batches of the list
// at its take, whenever that scan ended (endJudging counts it in judged
// before it stops counting in judges: the other order leaves a moment
// when neither count shows it).
func TestAloneSeesAScanThatHeldBatchesAtTheTake(t *testing.T) {
	var l sealedList
	const others = 1
	var gen [others]atomic.Uint64 // odd while scan i holds batches
	var stop atomic.Bool
	var wg sync.WaitGroup
	for i := range others {
		wg.Go(func() {
			for n := 0; !stop.Load(); n++ {
				p := l.startJudging()
				gen[i].Add(1)
				for range 20 {
					if stop.Load() {
						break
					}
				}
				gen[i].Add(1)
				l.endJudging(p)
				if n%1024 == 0 {
					runtime.Gosched()
				}
			}
		})
	}
	wrong, rounds, heldN, aloneN := 0, 0, 0, 0
	deadline := time.Now().Add(time.Second)
	if testing.Short() {
		deadline = time.Now().Add(200 * time.Millisecond)
	}
	for ; time.Now().Before(deadline); rounds++ {
		judged := l.judged.Load()
		p := l.startJudging() // the take
		held := false
		for i := range others {
			held = held || gen[i].Load()%2 == 1
		}
		l.endJudging(p) // the put-back
		if held {
			heldN++
		}
		if l.alone(judged) {
			aloneN++
		}
		if l.alone(judged) && held {
			wrong++
		}
	}
	stop.Store(true)
	wg.Wait()
	t.Logf("%d rounds, held at the take in %d, alone in %d", rounds, heldN, aloneN)
	if wrong > 0 {
		t.Fatalf("alone reported true %d times to a scan during whose take another scan held batches", wrong)
	}
}
