package bench

import (
	"runtime"
	"sync"
	"testing"

	"github.com/go-reclaim/reclaim/epoch"
)

// What a guard costs between cache misses. A lookup in a map too large for
// the caches waits for memory, and when lookups are independent the
// processor overlaps the misses of several, as far as its window of
// in-flight instructions and stores reaches: every instruction and store
// that a guard adds between two lookups shrinks that overlap, so a guard
// can cost a memory-bound loop far more than its own time in a tight loop
// (EpochHandleEnterExit). These benchmarks measure it against a floor
// without a guard.

// missNode is a node of missTable: its key and a pointer to another node,
// so that a lookup makes two dependent cache misses, as a map's bucket and
// entry do.
type missNode struct {
	key  uint64
	next *missNode
}

const missNodes = 1 << 22 // 64 MiB of nodes and 32 MiB of pointers

// missTable returns the nodes, in random order, each pointing to another,
// built on first use and kept for the next *Misses benchmark until
// FreeMissTable.
func missTable() []*missNode {
	misses.Lock()
	defer misses.Unlock()
	if misses.table == nil {
		misses.table = buildMissTable()
	}
	return misses.table
}

// misses holds the table the *Misses benchmarks share (96 MiB, a second to
// build).
var misses struct {
	sync.Mutex
	table []*missNode
}

// FreeMissTable drops the table of the *Misses benchmarks. A process that
// measures anything else after them calls it: the table's 96 MiB of
// pointers would stay live, a ballast that makes the garbage collector run
// rarer and mark more (cmd/reclaimbench's workloads after its
// microbenchmarks).
func FreeMissTable() {
	misses.Lock()
	misses.table = nil
	misses.Unlock()
	runtime.GC()
}

func buildMissTable() []*missNode {
	nodes := make([]missNode, missNodes)
	table := make([]*missNode, missNodes)
	x := uint64(0x9e3779b97f4a7c15)
	for i := range table {
		x = xorshift(x)
		table[i] = &nodes[x%missNodes]
		nodes[i].key = uint64(i)
		nodes[i].next = &nodes[(x>>32)%missNodes]
	}
	return table
}

func xorshift(x uint64) uint64 {
	x ^= x << 13
	x ^= x >> 7
	x ^= x << 17
	return x
}

// Misses is the floor of the *Misses benchmarks: each iteration looks up a
// random entry of a table far larger than the caches and the node it
// points to. Iterations are independent, so their misses overlap.
func Misses(b *testing.B) {
	t := missTable()
	x, sum := uint64(1), uint64(0)
	for b.Loop() {
		x = xorshift(x)
		n := t[x%missNodes]
		sum += n.next.key
	}
	runtime.KeepAlive(sum) // keeps the loads
}

// EpochHandleEnterExitMisses is Misses with each lookup under a guard of a
// Handle, as a map's reads are.
func EpochHandleEnterExitMisses(b *testing.B) { guardedMisses(b, false) }

// EpochEnterExitMisses is Misses with each lookup under a pooled guard
// (Collector.Enter).
func EpochEnterExitMisses(b *testing.B) { guardedMisses(b, true) }

func guardedMisses(b *testing.B, pooled bool) {
	c := epoch.New()
	defer c.Close()
	h := c.Register()
	defer h.Unregister()
	t := missTable()
	x, sum := uint64(1), uint64(0)
	for b.Loop() {
		x = xorshift(x)
		var g *epoch.Guard
		if pooled {
			g = c.Enter()
		} else {
			g = h.Enter()
		}
		n := t[x%missNodes]
		sum += n.next.key
		g.Exit()
	}
	runtime.KeepAlive(sum) // keeps the loads
}
