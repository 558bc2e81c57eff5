package hazard

import "sync"

var defaultDomain = sync.OnceValue(func() *Domain {
	d := New()
	d.isDefault = true
	return d
})

// Default returns the process-wide Domain, made with New's defaults on
// first use, like haphazard's Domain::global(): small programs and
// libraries that share structures protect and retire through it without
// passing a Domain around. Every call returns the same Domain, safe for
// concurrent use like any other. Objects retired through it are reclaimed
// by its scans, Flush, Barrier and its aging timer (DefaultMaxBatchAge),
// never by Close: the Domain is shared by the whole process, so Close
// panics. Its shards are sized for GOMAXPROCS at first use.
func Default() *Domain { return defaultDomain() }
