package epoch

import "fmt"

// Option configures a Collector.
type Option func(*config)

type config struct {
	batchSize int
	tracking  bool
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
// oldest open guard is and where it was entered. It is a debugging aid: it
// allocates and reads the clock on every Enter.
func WithGuardTracking() Option {
	return func(c *config) { c.tracking = true }
}
