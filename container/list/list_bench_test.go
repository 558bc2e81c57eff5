package list_test

import (
	"testing"

	"github.com/go-reclaim/reclaim/container/internal/ctest"
)

// benchKeys is the key range: the list holds the even keys, and the
// benchmarks insert and delete odd ones, so an operation passes about
// benchKeys/4 nodes. They run from one goroutine through the test
// adapters: under epoch each operation enters and exits a pooled guard.
const benchKeys = 128

func benchSet(b *testing.B, sc ctest.Scheme, op func(s set, k int)) {
	s, done := open(sc)()
	defer done()
	for k := 0; k < benchKeys; k += 2 {
		s.Insert(k)
	}
	ctest.Loop(b, s, benchKeys, op)
}

// BenchmarkInsertDelete inserts an absent key and deletes it.
func BenchmarkInsertDelete(b *testing.B) {
	ctest.Bench(b, func(b *testing.B, sc ctest.Scheme) {
		benchSet(b, sc, func(s set, k int) { s.Insert(k | 1); s.Delete(k | 1) })
	})
}

// BenchmarkContains looks up keys, half of them present.
func BenchmarkContains(b *testing.B) {
	ctest.Bench(b, func(b *testing.B, sc ctest.Scheme) {
		benchSet(b, sc, func(s set, k int) { s.Contains(k) })
	})
}
