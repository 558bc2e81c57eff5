package stack_test

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/go-reclaim/reclaim/container/stack"
	"github.com/go-reclaim/reclaim/epoch"
	"github.com/go-reclaim/reclaim/hazard"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// variant adapts each stack to one push/pop interface for the tests.
type variant struct {
	name  string
	push  func(v int)
	pop   func() (int, bool)
	close func() error
}

func variants() []func() variant {
	return []func() variant{
		func() variant {
			var s stack.GC[int]
			return variant{"GC", s.Push, s.Pop, func() error { return nil }}
		},
		func() variant { return epochVariant("Epoch") },
		func() variant { return epochVariant("EpochRobust", epoch.WithRobust()) },
		func() variant {
			d := hazard.New(hazard.WithThreshold(8))
			s := stack.NewHazard[int](d)
			return variant{"Hazard", s.Push,
				func() (int, bool) { hp := d.Acquire(); defer hp.Release(); return s.Pop(hp) },
				d.Close}
		},
	}
}

// epochVariant is Epoch on a collector of small batches with opts.
func epochVariant(name string, opts ...epoch.Option) variant {
	c := epoch.New(append([]epoch.Option{epoch.WithBatchSize(4)}, opts...)...)
	s := stack.NewEpoch[int](c)
	return variant{name,
		func(v int) { g := c.Enter(); s.Push(g, v); g.Exit() },
		func() (int, bool) { g := c.Enter(); defer g.Exit(); return s.Pop(g) },
		c.Close}
}

func TestLIFO(t *testing.T) {
	for _, mk := range variants() {
		v := mk()
		t.Run(v.name, func(t *testing.T) {
			for round := range 3 { // later rounds reuse recycled nodes
				for i := range 100 {
					v.push(round*100 + i)
				}
				for i := 99; i >= 0; i-- {
					got, ok := v.pop()
					require.True(t, ok)
					require.Equal(t, round*100+i, got)
				}
				_, ok := v.pop()
				require.False(t, ok, "empty stack")
			}
			require.NoError(t, v.close())
		})
	}
}

// Every value pushed concurrently is popped exactly once.
func TestConcurrentExactlyOnce(t *testing.T) {
	const goroutines, per = 8, 2000
	for _, mk := range variants() {
		v := mk()
		t.Run(v.name, func(t *testing.T) {
			seen := make([]int32, goroutines*per)
			var mu sync.Mutex
			var wg sync.WaitGroup
			for g := range goroutines {
				wg.Go(func() {
					for i := range per {
						v.push(g*per + i)
						if x, ok := v.pop(); ok {
							mu.Lock()
							seen[x]++
							mu.Unlock()
						}
					}
				})
			}
			wg.Wait()
			for x, ok := v.pop(); ok; x, ok = v.pop() {
				seen[x]++
			}
			for x, n := range seen {
				require.Equalf(t, int32(1), n, "value %d popped %d times", x, n)
			}
			require.NoError(t, v.close())
		})
	}
}
