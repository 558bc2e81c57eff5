package marked_test

import (
	"sync/atomic"
	"testing"

	"github.com/go-reclaim/reclaim/container/marked"
)

// pairPointer is the AtomicMarkableReference alternative: an immutable
// (pointer, mark) pair allocated per update. It is here only to compare.
type pairPointer[T any] struct{ v atomic.Pointer[pair[T]] }

type pair[T any] struct {
	p    *T
	mark bool
}

func (m *pairPointer[T]) Load() (*T, bool) {
	if x := m.v.Load(); x != nil {
		return x.p, x.mark
	}
	return nil, false
}

func (m *pairPointer[T]) CompareAndSwap(oldP *T, oldMark bool, newP *T, newMark bool) bool {
	cur := m.v.Load()
	if cur == nil && (oldP != nil || oldMark) || cur != nil && (cur.p != oldP || cur.mark != oldMark) {
		return false
	}
	return m.v.CompareAndSwap(cur, &pair[T]{newP, newMark})
}

type benchNode struct {
	_ marked.Pointer[benchNode]
	_ int
}

// BenchmarkCompareAndSwap flips the mark back and forth, as a delete marks
// a node's next field.
func BenchmarkCompareAndSwap(b *testing.B) {
	n := new(benchNode)
	b.Run("impl=interior", func(b *testing.B) {
		b.ReportAllocs()
		var m marked.Pointer[benchNode]
		m.Store(n, false)
		mark := false
		for b.Loop() {
			m.CompareAndSwap(n, mark, n, !mark)
			mark = !mark
		}
	})
	b.Run("impl=pair", func(b *testing.B) {
		b.ReportAllocs()
		var m pairPointer[benchNode]
		m.CompareAndSwap(nil, false, n, false)
		mark := false
		for b.Loop() {
			m.CompareAndSwap(n, mark, n, !mark)
			mark = !mark
		}
	})
}

func BenchmarkLoad(b *testing.B) {
	n := new(benchNode)
	b.Run("impl=interior", func(b *testing.B) {
		b.ReportAllocs()
		var m marked.Pointer[benchNode]
		m.Store(n, true)
		for b.Loop() {
			p, _ := m.Load()
			sink = p
		}
	})
	b.Run("impl=pair", func(b *testing.B) {
		b.ReportAllocs()
		var m pairPointer[benchNode]
		m.CompareAndSwap(nil, false, n, true)
		for b.Loop() {
			p, _ := m.Load()
			sink = p
		}
	})
}

var sink *benchNode
