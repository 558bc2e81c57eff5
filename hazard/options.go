package hazard

import "fmt"

// Option configures a Domain.
type Option func(*config)

type config struct {
	threshold int
	perSlot   int
}

// Defaults: a scan runs once DefaultThreshold objects are pending, or
// DefaultPerSlot per hazard slot if that is more (folly's values).
const (
	DefaultThreshold = 1000
	DefaultPerSlot   = 2
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

// WithThresholdPerSlot sets how many pending objects per hazard slot
// trigger a scan when that is more than WithThreshold's value. With k >= 2 a
// scan always reclaims at least half of what it looks at, since at most one
// object per slot can be protected. k must be at least 2.
func WithThresholdPerSlot(k int) Option {
	if k < 2 {
		panic(fmt.Sprintf("hazard: WithThresholdPerSlot(%d): the factor must be at least 2", k))
	}
	return func(c *config) { c.perSlot = k }
}
