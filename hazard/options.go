package hazard

import (
	"fmt"
	"time"
)

// Option configures a Domain.
type Option func(*config)

type config struct {
	threshold int
	perSlot   int
	maxAge    time.Duration
}

// Defaults: a scan runs once DefaultThreshold objects are pending, or
// DefaultPerSlot per hazard pointer held if that is more (folly's values),
// and an object waits at most about DefaultMaxBatchAge in a processor's
// open batch.
const (
	DefaultThreshold   = 1000
	DefaultPerSlot     = 2
	DefaultMaxBatchAge = 10 * time.Millisecond
)

// batchSize is how many retired objects a processor's shard collects
// before it hands them to the domain.
const batchSize = 64

// WithThreshold sets the minimum number of pending objects that triggers a
// scan of the hazard slots. Smaller values bound memory tighter and scan
// more often. n must be at least 1.
func WithThreshold(n int) Option {
	if n < 1 {
		panic(fmt.Sprintf("hazard: WithThreshold(%d): the threshold must be at least 1", n))
	}
	return func(c *config) { c.threshold = n }
}

// WithThresholdPerSlot sets how many pending objects per hazard pointer
// held trigger a scan when that is more than WithThreshold's value. Since
// each Pointer protects at most one object, a scan that starts with at
// least k per Pointer then held reclaims at least (k-1)/k of what it
// looks at. The count of Pointers is the one the latest scan made, so a
// burst of Acquires raises the threshold from the next scan on. k must be
// at least 2.
func WithThresholdPerSlot(k int) Option {
	if k < 2 {
		panic(fmt.Sprintf("hazard: WithThresholdPerSlot(%d): the factor must be at least 2", k))
	}
	return func(c *config) { c.perSlot = k }
}

// WithMaxBatchAge bounds how long a retired object may wait for a scan when
// nothing else happens: a timer, armed by Retire while work is pending,
// runs Flush every age until nothing is pending, so an object retired with
// no further calls is reclaimed about one age after it was retired or
// after no hazard pointer protects it any more, whichever is later (plus
// the time the timer's goroutine waits to be scheduled). Its free function
// then runs on the timer's goroutine, concurrently with the program's
// goroutines, and a panic there is raised again by the next Retire that
// seals a batch, Flush, Barrier or Close. The timer starts no goroutine
// while idle and stops at Close. The default is DefaultMaxBatchAge; 0
// disables aging (objects then wait for a full batch, Flush, Barrier or
// Close). age must not be negative.
func WithMaxBatchAge(age time.Duration) Option {
	if age < 0 {
		panic(fmt.Sprintf("hazard: WithMaxBatchAge(%v): the age must not be negative (0 disables aging)", age))
	}
	return func(c *config) { c.maxAge = age }
}
