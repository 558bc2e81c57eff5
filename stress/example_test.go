package stress_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-reclaim/reclaim/container/stack"
	"github.com/go-reclaim/reclaim/epoch"
	"github.com/go-reclaim/reclaim/stress"
)

// Examples run without a *testing.T, so each wraps its test in
// stress.Capture(nil, ...); in a test, use t directly.

// Stress an epoch-based stack: four rounds, each on a fresh stack, of 500
// random pushes and pops (and a stalled guard now and then) on
// 4×GOMAXPROCS goroutines; each round's history is checked for
// linearizability and every value is accounted for.
func Example() {
	got := stress.Capture(nil, func(t testing.TB) {
		h := stress.New(t, stress.Ops(500))
		hist := stress.NewHistory(h, stress.StackModel())
		total := int64(0)
		for range 4 {
			c := epoch.New()
			s := stack.NewEpoch[int](c)
			mix := stress.StackMix(hist,
				func(w *stress.Worker, v int) { g := c.Enter(); defer g.Exit(); s.Push(g, v) },
				func(w *stress.Worker) (int, bool) { g := c.Enter(); defer g.Exit(); return s.Pop(g) })
			mix = append(mix, stress.StallGuard(c, time.Millisecond))
			total += h.Run(mix).Ops
			stress.Shutdown(h, c.Close)
		}
		fmt.Println("operations:", total)
	})
	fmt.Println("failed:", got.Failed())
	// Output:
	// operations: 2000
	// failed: false
}

// leakyStack loses the element under the top on every tenth pop.
type leakyStack struct {
	mu   sync.Mutex
	s    []int
	pops int
}

func (s *leakyStack) push(_ *stress.Worker, v int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.s = append(s.s, v)
}

func (s *leakyStack) pop(*stress.Worker) (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.s) == 0 {
		return 0, false
	}
	v := s.s[len(s.s)-1]
	s.s = s.s[:len(s.s)-1]
	if s.pops++; s.pops%10 == 0 && len(s.s) > 0 {
		s.s = s.s[:len(s.s)-1] // the bug
	}
	return v, true
}

// Capture proves that a harness catches a bug: the test it runs fails,
// and the failures are there to inspect.
func ExampleCapture() {
	got := stress.Capture(nil, func(t testing.TB) {
		s := new(leakyStack)
		stress.New(t, stress.Ops(1000)).Run(stress.StackMix(nil, s.push, s.pop))
	})
	fmt.Println("caught:", got.Failed())
	fmt.Println(strings.Contains(got.Messages()[0], "conservation violated: lost"))
	// Output:
	// caught: true
	// true
}

type node struct {
	stress.Canary // poisoned by the ledger on reclamation
	value         int
}

// A Ledger follows each object through its life and reports the first
// step out of order, with where the previous step happened.
func ExampleLedger() {
	got := stress.Capture(nil, func(t testing.TB) {
		l := stress.NewLedger[node](t, nil)
		n := &node{value: 1}
		l.Alloc(n)
		l.Retire(n)
		l.Reclaim(n) // the free function: records, then poisons
		fmt.Println("poisoned:", n.Poisoned())
		fmt.Printf("%+v\n", l.Stats())
		l.Reclaim(n) // a bug: reclaimed twice
	})
	msg := got.Messages()[0]
	fmt.Println(msg[:strings.Index(msg, " 0x")], "...", msg[strings.Index(msg, "reclaimed twice"):strings.Index(msg, "\n")])
	// Output:
	// poisoned: true
	// {Allocated:1 Retired:1 Reclaimed:1 Pending:0 Violations:0}
	// ledger: *stress_test.node ... reclaimed twice
}

// CheckRead after every read of a shared node turns a use after reclaim
// into a failure (and, under -race, into a data race report).
func ExampleCheckRead() {
	got := stress.Capture(nil, func(t testing.TB) {
		var n node
		fmt.Println(stress.CheckRead(t, &n))
		n.Poison()
		fmt.Println(stress.CheckRead(t, &n))
	})
	fmt.Println(strings.HasPrefix(got.Messages()[0], "use after reclaim: read a poisoned *stress_test.node at "))
	// Output:
	// true
	// false
	// true
}

// CheckSequential compares a container with a model on rapid-generated
// operation sequences, before any concurrency.
func ExampleCheckSequential() {
	got := stress.Capture(nil, func(t testing.TB) {
		stress.CheckSequential(t, stress.StackModel(), func() func(stress.Input) stress.Output {
			var s stack.GC[int]
			return func(in stress.Input) stress.Output {
				if in.Kind == stress.Push {
					s.Push(in.Value)
					return stress.Output{}
				}
				v, ok := s.Pop()
				return stress.Output{Value: v, OK: ok}
			}
		})
	})
	fmt.Println("failed:", got.Failed())
	// Output: failed: false
}

// A History can be written by hand in a Finally operation, which runs
// alone after the workers; here a pop returns a value that was under the
// top.
func ExampleHistory() {
	got := stress.Capture(nil, func(t testing.TB) {
		h := stress.New(t, stress.Ops(1))
		hist := stress.NewHistory(h, stress.StackModel())
		h.Run(stress.Mix{
			{Name: "idle", Weight: 1, Do: func(*stress.Worker) {}},
			stress.Finally("record", func(w *stress.Worker) {
				hist.Call(w, stress.Input{Kind: stress.Push, Value: 1}).Return(stress.Output{})
				hist.Call(w, stress.Input{Kind: stress.Push, Value: 2}).Return(stress.Output{})
				hist.Call(w, stress.Input{Kind: stress.Pop}).Return(stress.Output{Value: 1, OK: true})
			}),
		})
	})
	fmt.Println(strings.Split(got.Messages()[0], "\n")[0])
	// Output: stress: the history of 3 operations is not linearizable against the stack model
}

// RunChild proves that the race detector sees a planted data race. A race
// detected in the test process fails the running test (even inside
// Capture), so the racy test runs only in a child process and the parent
// checks what the child printed. The two functions below are the two
// tests, as they would appear in a _test.go file.
func ExampleRunChild() {
	// func TestPlantedRace(t *testing.T)
	_ = func(t *testing.T) {
		if !stress.InChild() {
			t.Skip("run by TestDetectorSeesPlantedRace")
		}
		var n node
		done := make(chan struct{})
		go func() { n.Poison(); close(done) }() // the free function
		stress.CheckRead(t, &n)                 // a late reader: no synchronization with the poisoning
		<-done
	}
	// func TestDetectorSeesPlantedRace(t *testing.T)
	_ = func(t *testing.T) {
		if !stress.RaceEnabled {
			t.Skip("needs go test -race")
		}
		got := stress.RunChild(t, "TestPlantedRace")
		if !got.Raced {
			t.Errorf("the race detector missed the planted race:\n%s", got.Output)
		}
	}
}
