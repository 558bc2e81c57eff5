package stress_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/stress"
)

func TestCanary(t *testing.T) {
	var c stress.Canary
	require.False(t, c.Poisoned(), "the zero value is healthy")
	require.True(t, stress.CheckRead(t, &c))
	c.Poison()
	require.True(t, c.Poisoned())

	got := stress.Capture(t, func(tb testing.TB) { stress.CheckRead(tb, &c) })
	require.True(t, got.Failed())
	require.Regexp(t, `^use after reclaim: read a poisoned \*stress.Canary at .*/poison_test.go:\d+$`, got.Messages()[0])
}

func TestPoisonBytes(t *testing.T) {
	for _, n := range []int{0, 3, 8, 13, 64} {
		b := make([]byte, n)
		require.True(t, stress.CheckBytes(t, b), "len %d: zeros are not poison", n)
		stress.PoisonBytes(b)
		got := stress.Capture(t, func(tb testing.TB) { stress.CheckBytes(tb, b) })
		require.Equal(t, n > 0, got.Failed(), "len %d", n)
	}
	b := make([]byte, 24)
	stress.PoisonBytes(b[8:16]) // one aligned poisoned word is enough
	require.True(t, stress.Capture(t, func(tb testing.TB) { stress.CheckBytes(tb, b) }).Failed())
	short := []byte{stress.PoisonByte, 1}
	require.True(t, stress.CheckBytes(t, short), "a short buffer is poison only if all of it is")
	require.Equal(t, uint64(0xDBDBDBDBDBDBDBDB), stress.PoisonWord)
}
