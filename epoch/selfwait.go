package epoch

import "runtime"

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

// goid returns the calling goroutine's id, read from the header of its
// stack trace ("goroutine 42 [running]:"). It costs about a microsecond:
// only guard tracking, a debugging aid, uses it.
func goid() uint64 {
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
