package stress

import (
	"encoding/binary"
	"fmt"
	"runtime"
)

// Poison patterns written over reclaimed objects: recognizable in a
// debugger, and not a plausible pointer, length or small integer.
const (
	PoisonByte byte   = 0xDB
	PoisonWord uint64 = 0xDBDBDBDBDBDBDBDB
)

// Reporter receives failures: a *testing.T, a *Harness or a *Worker.
type Reporter interface {
	Errorf(format string, args ...any)
}

// Poisonable is an object that a free function can poison and a reader can
// check. Canary is the usual implementation.
type Poisonable interface {
	Poison()
	Poisoned() bool
}

// Canary is a word to embed in a node type under test. Its zero value is
// healthy, so new(T) and a recycled node zeroed by epoch.Pool are healthy;
// Poison overwrites it with PoisonWord.
//
// Both methods use plain, non-atomic memory accesses on purpose: a reader
// that checks the canary of a node it should no longer hold races with the
// free function that poisons it, and under -race the race detector reports
// that pair of accesses, with both stacks, even when the check happens to
// run before the poison.
type Canary struct {
	word uint64
}

// Poison marks the object reclaimed.
func (c *Canary) Poison() { c.word = PoisonWord }

// Poisoned reports whether Poison ran, or the word holds garbage.
func (c *Canary) Poisoned() bool { return c.word != 0 }

// CheckRead is the check after a read: if obj is poisoned, the caller used
// an object after its reclamation, and CheckRead reports that to r (with
// the caller's position) and returns false.
func CheckRead(r Reporter, obj Poisonable) bool {
	if !obj.Poisoned() {
		return true
	}
	r.Errorf("use after reclaim: read a poisoned %T at %s", obj, caller(2))
	return false
}

// PoisonBytes fills b with PoisonByte: the free function of a buffer.
func PoisonBytes(b []byte) {
	for i := range b {
		b[i] = PoisonByte
	}
}

// CheckBytes reports to r and returns false if b holds poison: an aligned
// 8-byte word of PoisonByte, or, if b is shorter than that, nothing else.
// Data that may legitimately contain eight 0xDB bytes in a row needs its
// own canary.
func CheckBytes(r Reporter, b []byte) bool {
	if !hasPoison(b) {
		return true
	}
	r.Errorf("use after reclaim: read a poisoned buffer (len %d) at %s", len(b), caller(2))
	return false
}

func hasPoison(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	if len(b) < 8 {
		for _, x := range b {
			if x != PoisonByte {
				return false
			}
		}
		return true
	}
	for ; len(b) >= 8; b = b[8:] {
		if binary.LittleEndian.Uint64(b) == PoisonWord {
			return true
		}
	}
	return false
}

// caller is a source position on the stack, skip frames up from caller
// itself: caller(2) is where the function that calls caller was called.
func caller(skip int) string {
	_, file, line, ok := runtime.Caller(skip)
	if !ok {
		return "unknown position"
	}
	return fmt.Sprintf("%s:%d", file, line)
}
