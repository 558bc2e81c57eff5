package hashmap_test

import (
	"testing"

	"github.com/go-reclaim/reclaim/container/internal/ctest"
)

// benchKeys is both the key range and the bucket count: the map holds the
// even keys, and the benchmarks put and delete odd ones. They run from one
// goroutine through the test adapters: under epoch each operation enters
// and exits a pooled guard.
const benchKeys = 1024

func benchMap(b *testing.B, sc ctest.Scheme, op func(m kv, k int)) {
	m, done := open(sc, benchKeys)()
	defer done()
	for k := 0; k < benchKeys; k += 2 {
		m.Put(k, k)
	}
	ctest.Loop(b, m, benchKeys, op)
}

// BenchmarkPutDelete inserts an absent key and deletes it.
func BenchmarkPutDelete(b *testing.B) {
	ctest.Bench(b, func(b *testing.B, sc ctest.Scheme) {
		benchMap(b, sc, func(m kv, k int) { m.Put(k|1, k); m.Delete(k | 1) })
	})
}

// BenchmarkReplace puts a present key, replacing its node.
func BenchmarkReplace(b *testing.B) {
	ctest.Bench(b, func(b *testing.B, sc ctest.Scheme) {
		benchMap(b, sc, func(m kv, k int) { m.Put(k&^1, k) })
	})
}

// BenchmarkGet looks up keys, half of them present.
func BenchmarkGet(b *testing.B) {
	ctest.Bench(b, func(b *testing.B, sc ctest.Scheme) {
		benchMap(b, sc, func(m kv, k int) { m.Get(k) })
	})
}
