package refcount_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/refcount"
)

// counter counts destructor runs.
type counter struct{ n atomic.Int32 }

func (c *counter) destroy(*int)    { c.n.Add(1) }
func (c *counter) runs() int32     { return c.n.Load() }
func (c *counter) destroyed() bool { return c.n.Load() > 0 }

// barrier releases every reference AtomicArcs have given up.
func barrier(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, refcount.Barrier(ctx))
}

// tracked turns tracking on for the rest of the test, and checks at its
// end that no tracked handle is left (unless an earlier failed test left
// some: then that test has reported them).
func tracked(t *testing.T) {
	t.Helper()
	was := refcount.SetTracking(true)
	leftOver := refcount.Find() != nil
	t.Cleanup(func() {
		refcount.SetTracking(was)
		if !t.Failed() && !leftOver {
			refcount.VerifyNone(t)
		}
	})
}

// eachMode runs f as two subtests: untracked and tracked.
func eachMode(t *testing.T, f func(t *testing.T)) {
	t.Run("untracked", f)
	t.Run("tracked", func(t *testing.T) {
		tracked(t)
		f(t)
	})
}

// panicMessage returns what f panics with ("" if it does not panic).
func panicMessage(f func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg, _ = r.(string)
			if msg == "" {
				msg = "non-string panic"
			}
		}
	}()
	f()
	return ""
}
