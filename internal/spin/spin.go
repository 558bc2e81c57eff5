// Package spin is exponential backoff for compare-and-swap retry loops: a
// goroutine that lost a race pauses briefly (PAUSE instructions, no
// scheduler involvement) so the winner's cache line is not stolen back at
// once.
package spin

import _ "unsafe" // for go:linkname

//go:linkname procyield runtime.procyield
func procyield(cycles uint32)

// Backoff is the state of one retry loop; the zero value is ready.
type Backoff struct{ n uint32 }

const maxPause = 128

// Pause waits before the next attempt, twice as long as the previous time,
// up to maxPause PAUSE instructions.
func (b *Backoff) Pause() {
	if b.n == 0 {
		b.n = 4
	} else if b.n < maxPause {
		b.n *= 2
	}
	procyield(b.n)
}
