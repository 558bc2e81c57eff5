package hazard

// SealedCur reports which of the two sealed lists is current, so that a
// test can see that a Barrier or Close has switched lists and is waiting
// for the goroutines still using the old one.
func SealedCur(d *Domain) uint32 { return d.sealed.cur.Load() }

// CalledFromFree reports what Close sees: whether the calling goroutine
// runs a free function of some Domain.
func CalledFromFree() bool { return calledFromFree() }

// DrainBatches is how many judged batches a scan takes at a time to run
// their free functions: what a scan stuck or descheduled in one holds back.
const DrainBatches = drainBatches
