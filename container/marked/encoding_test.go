package marked_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/container/marked"
)

// oddField is a struct whose zero-size last field lies at an odd address.
type oddField struct {
	_ byte
	z struct{}
}

// rejected stores p unmarked and requires the panic that names the
// mistake: an unmarked pointer to a T smaller than 2 bytes or byte-aligned
// may be odd, and would read back as (p-1, marked).
func rejected[T any](t *testing.T, p *T) {
	t.Helper()
	var m marked.Pointer[T]
	require.PanicsWithValue(t, panicMsg, func() { m.Store(p, false) })
	require.PanicsWithValue(t, panicMsg, func() { m.CompareAndSwap(nil, false, p, false) })
	got, mark := m.Load()
	require.Nil(t, got, "a rejected pointer was stored")
	require.False(t, mark)
}

// Pointers to a byte, a [2]byte and a zero-size field at odd addresses:
// before Store rejected unmarked pointers to such types, Load returned a
// pointer to the neighbouring byte, reported as marked.
func TestUnmarkedOddAddress(t *testing.T) {
	var bytes [4]byte
	t.Run("byte", func(t *testing.T) { rejected(t, &bytes[1]) })
	buf := new([6]byte)
	odd := (*[2]byte)(buf[1:3]) // a [2]byte at an odd address
	t.Run("[2]byte", func(t *testing.T) { rejected(t, odd) })
	var f oddField
	t.Run("struct{}", func(t *testing.T) { rejected(t, &f.z) })
	t.Run("even address too", func(t *testing.T) { rejected(t, &bytes[0]) })
}

// edge is a T at the very end of its object, and inside a larger one.
type (
	edge struct {
		_ uint16
	}
	holder struct {
		_    [3]uint64
		last edge
	}
)

var global edge

// Marking adds 1 to the address and unmarking subtracts it again; under
// -race checkptr checks that both stay inside the object. The T here is
// the last two bytes of its object (a field at the end of a struct, the
// last element of a slice), a global, and a T from the tiny allocator (a
// 2-byte object without pointers), marked and unmarked, through every
// operation.
func TestEncodingAtObjectEdges(t *testing.T) {
	h := new(holder)
	s := make([]edge, 5)
	for name, p := range map[string]*edge{
		"last field": &h.last, "last element": &s[len(s)-1], "global": &global, "tiny": new(edge),
	} {
		t.Run(name, func(t *testing.T) {
			var m marked.Pointer[edge]
			m.Store(p, true)
			got, mark := m.Load()
			require.Same(t, p, got)
			require.True(t, mark)
			require.True(t, m.CompareAndSwap(p, true, p, false))
			require.True(t, m.TryMark(p))
			require.True(t, m.CompareAndSwap(p, true, nil, true))
			got, mark = m.Load()
			require.Nil(t, got)
			require.True(t, mark)
			require.True(t, m.CompareAndSwap(nil, true, p, false))
			got, mark = m.Load()
			require.Same(t, p, got)
			require.False(t, mark)
		})
	}
}
