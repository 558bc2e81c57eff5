package queue_test

import (
	"testing"

	"github.com/go-reclaim/reclaim/container/internal/ctest"
)

// BenchmarkEnqueueDequeue is one Enqueue and one Dequeue on a queue that
// holds a few values, from one goroutine, through the test adapters: under
// epoch each operation enters and exits a pooled guard.
func BenchmarkEnqueueDequeue(b *testing.B) {
	ctest.Bench(b, func(b *testing.B, sc ctest.Scheme) {
		q, done := open(sc)()
		defer done()
		for i := range 8 {
			q.Enqueue(i)
		}
		for b.Loop() {
			q.Enqueue(1)
			q.Dequeue()
		}
	})
}
