package epoch

import (
	"fmt"
	"time"
)

// Option configures a Collector.
type Option func(*config)

type config struct {
	batchSize int
	tracking  bool
	robust    bool
	maxAge    time.Duration
}

// DefaultBatchSize is the batch size used without WithBatchSize.
const DefaultBatchSize = 64

// WithBatchSize sets how many objects a participant slot collects before it
// hands them to the collector as one batch and tries to advance the epoch.
// Larger batches amortize the scan of all slots over more retires; smaller
// ones reclaim sooner. n must be at least 1; WithBatchSize panics otherwise.
func WithBatchSize(n int) Option {
	if n < 1 {
		panic(fmt.Sprintf("epoch: WithBatchSize(%d): the batch size must be at least 1", n))
	}
	return func(c *config) { c.batchSize = n }
}

// WithGuardTracking makes every Enter record the time and the call stack at
// which the guard was opened, so that Stats can report exactly how old the
// oldest open guard is and where it was entered, and returns a new Guard
// from every Enter, so that every use of a guard after its Exit panics (see
// Guard). It is a debugging aid: it allocates and reads the clock on every
// Enter.
func WithGuardTracking() Option {
	return func(c *config) { c.tracking = true }
}

// DefaultMaxBatchAge is the maximum batch age used without WithMaxBatchAge.
const DefaultMaxBatchAge = 10 * time.Millisecond

// WithMaxBatchAge bounds how long a retired object can wait in a partially
// filled batch: once a slot's open batch is older than about d (between d
// and 2d), a timer hands it to the collector, advances the epoch as far as
// open guards allow and reclaims what has expired (Collector.Flush), and it
// comes back every d while retired objects are pending. So an object
// retired with no further activity is reclaimed within a few d after the
// last guard that could hold it exits, without a Barrier: what RCU-style
// snapshots and resources (files, cgo handles) need.
//
// The timer runs only while objects are pending, on a goroutine of its
// own, and stops at Close. Free functions may then run on that goroutine,
// concurrently with the program; a panic there is caught and re-raised,
// with its value, by the next Retire that fills a batch, Flush, Barrier or
// Close on the Collector. d = 0 turns aging off:
// batches are then handed over only when full, at Flush, Barrier or Close.
// WithMaxBatchAge panics if d is negative.
func WithMaxBatchAge(d time.Duration) Option {
	if d < 0 {
		panic(fmt.Sprintf("epoch: WithMaxBatchAge(%v): the age must not be negative", d))
	}
	return func(c *config) { c.maxAge = d }
}

// WithRobust selects the robust mode: interval-based reclamation, in which
// a guard holds back only the objects that were alive while it could load
// them, so that a goroutine descheduled or stalled inside a guard no longer
// stops reclamation. Pending memory then has a bound in the number of open
// guards and the size of the structure (see the package documentation),
// which is what a program with more goroutines than processors needs.
//
// The contract changes: every load of a shared pointer that is then
// dereferenced must go through Load or Guard.Reserve (for a marked pointer,
// marked.Pointer.TryReserve), and, as with hazard pointers, a pointer must
// be shown reachable after it is reserved: a traversal may not follow a
// link out of a node that may already be unlinked. Objects are bounded only
// when their birth era is known: Pool keeps it for every node (and in this
// mode takes back only nodes of its own Get); objects retired with Retire or
// Defer are held back as in the classic mode.
func WithRobust() Option {
	return func(c *config) { c.robust = true }
}

// Robust reports whether c was created WithRobust.
func (c *Collector) Robust() bool { return c.robust }
