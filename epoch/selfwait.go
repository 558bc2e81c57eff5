package epoch

import (
	"runtime"

	"github.com/go-reclaim/reclaim/internal/goroutine"
)

// checkNotInGuard panics if the calling goroutine has a guard of c open,
// which Barrier would wait for forever. Only guards entered with
// WithGuardTracking record their goroutine.
func (c *Collector) checkNotInGuard() {
	me := goid()
	for s := range c.slots.All() {
		p := &s.Value
		if p.word.Load() == 0 {
			continue
		}
		if site := p.site.Load(); site != nil && site.goid == me {
			panic("epoch: Barrier called inside a guard of the same Collector on this goroutine: it would wait for its own guard to exit\n\nthe guard was entered at:\n" + site.String())
		}
	}
}

// goid identifies the calling goroutine for checkNotInGuard: by
// goroutine.Current where goroutines can be told apart cheaply (amd64,
// arm64), else by the id read from the header of its stack trace, which
// costs about a microsecond and takes the runtime's print lock (so that
// tracked guards entered on many goroutines at once wait for each other:
// the stack robustness run of reclaimbench, two goroutines churning with
// tracking, did 0.16 Mops/s with this in every Enter, 40% of the time in
// the lock). goroutine.Current's ids are those of live goroutines: a
// goroutine that exited with a guard open may leave its id to a new one,
// whose Barrier then reports that guard as its own, where it would
// otherwise wait for it for ever.
func goid() uint64 {
	if id := goroutine.Current(); id != 0 {
		return uint64(id)
	}
	return stackGoid()
}

// stackGoid returns the calling goroutine's id, read from the header of
// its stack trace ("goroutine 42 [running]:").
func stackGoid() uint64 {
	var buf [32]byte
	b := buf[:runtime.Stack(buf[:], false)]
	const prefix = "goroutine "
	if len(b) < len(prefix) {
		return 0
	}
	var id uint64
	for _, ch := range b[len(prefix):] {
		if ch < '0' || ch > '9' {
			break
		}
		id = id*10 + uint64(ch-'0')
	}
	return id
}
