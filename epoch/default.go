package epoch

import "sync"

var defaultCollector = sync.OnceValue(func() *Collector {
	c := New()
	c.isDefault = true
	return c
})

// Default returns the process-wide Collector, made with the default options
// on first use, like crossbeam-epoch's default collector: small programs
// and libraries that share structures can use it without passing a
// Collector around. Guards of Default protect only what is retired through
// Default. It lives as long as the process: Close on it panics.
func Default() *Collector { return defaultCollector() }
