package stress_test

import (
	"fmt"
	"runtime"
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
	require.Regexp(t, `^use after reclaim: read a poisoned \*poison.Canary at .*/poison_test.go:\d+$`, got.Messages()[0])
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

// checkNode is a container's adapter around CheckRead, marked as a helper.
func checkNode(r stress.Reporter, n *node) bool {
	stress.Helper()
	return stress.CheckRead(r, n)
}

// readHere reads n through the adapter and returns the line of the read.
func readHere(r stress.Reporter, n *node) (line int) {
	_, _, line, _ = runtime.Caller(0)
	checkNode(r, n)
	return line + 1
}

func retireHere(l *stress.Ledger[node], n *node)    { l.Retire(n) }
func reclaimNow(l *stress.Ledger[node], n *node)    { l.Reclaim(n) }
func unhelpedCheck(r stress.Reporter, n *node) bool { return stress.CheckRead(r, n) }

// A use after reclaim names the read (not the adapter around CheckRead,
// which Helper marks) and where the Ledger saw the object retired and
// reclaimed.
func TestCheckReadTellsTheStory(t *testing.T) {
	var line int
	got := stress.Capture(t, func(tb testing.TB) {
		l := stress.NewLedger[node](tb, nil)
		n := new(node)
		l.Alloc(n)
		retireHere(l, n)
		reclaimNow(l, n)
		line = readHere(tb, n)
	})
	require.True(t, got.Failed())
	msg := got.Messages()[0]
	require.Regexp(t, `^use after reclaim: read a poisoned \*stress_test.node at \S*/poison_test.go:`+fmt.Sprint(line)+`\n`, msg)
	require.Regexp(t, `(?s)last retired at\n\tgithub.com/go-reclaim/reclaim/stress_test.retireHere\n.*last reclaimed at\n\tgithub.com/go-reclaim/reclaim/stress_test.reclaimNow\n`, msg)

	// Without Helper, the adapter is the site.
	got = stress.Capture(t, func(tb testing.TB) {
		n := new(node)
		n.Poison()
		unhelpedCheck(tb, n)
	})
	require.Regexp(t, `at \S*/poison_test.go:\d+$`, got.Messages()[0])
	require.NotContains(t, got.Messages()[0], "last retired", "no ledger tracks it")
}

// Worker.Helper marks an adapter too (require's functions call it).
func TestWorkerHelperMarksAdapters(t *testing.T) {
	var line int
	got := stress.Capture(t, func(tb testing.TB) {
		h := stress.New(tb, stress.Ops(1), stress.Goroutines(1))
		n := new(node)
		n.Poison()
		h.Run(stress.Mix{{Name: "read", Weight: 1, Do: func(w *stress.Worker) { line = workerRead(w, n) }}})
	})
	require.Contains(t, got.Messages()[0], "poison_test.go:"+fmt.Sprint(line)+"\n")
}

func workerCheck(w *stress.Worker, n *node) bool {
	w.Helper()
	return stress.CheckRead(w, n)
}

func workerRead(w *stress.Worker, n *node) (line int) {
	_, _, line, _ = runtime.Caller(0)
	workerCheck(w, n)
	return line + 1
}
