package hazard

import (
	"context"
	"runtime"
	"testing"
	"time"
)

// takeOld marks the old list stale before it switches cur: a Flush whose
// scan found the new current list then finds the old one stale (and scans
// it in place while the taker waits for its users). An observer that reads
// cur and then stale must never see the switch without the stale mark
// while the taker waits for a user of the old list.
func TestSwitchIsNeverSeenWithoutTheStaleMark(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("needs two processors")
	}
	rounds, seen := 200_000, 0
	if testing.Short() {
		rounds = 20_000
	}
	for round := range rounds {
		var s sealedLists
		s.init()
		u := s.enter() // a user the taker waits for
		c0 := s.cur.Load()
		started := make(chan struct{})
		taken := make(chan struct{})
		go func() {
			p := patience{ctx: context.Background()}
			if err := s.lockTaker(&p); err != nil {
				panic(err)
			}
			close(started)
			s.takeOld(&p)
			s.unlockTaker()
			close(taken)
		}()
		<-started
		for deadline := time.Now().Add(5 * time.Second); ; {
			c := s.cur.Load()
			st := s.stale.Load()
			if c != c0 {
				if st == 0 {
					u.leave()
					<-taken
					t.Fatalf("round %d: cur switched while no list was stale", round)
				}
				seen++
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("no switch")
			}
		}
		u.leave()
		<-taken
	}
	t.Logf("%d rounds", seen)
}
