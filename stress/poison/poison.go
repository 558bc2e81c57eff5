// Package poison marks reclaimed objects so that a late reader can tell:
// a Canary to embed in a node type, and poisoning for byte buffers. It is
// the part of the stress harness that production types may depend on: it
// imports nothing but the standard library's encoding/binary, so a
// container's node type can embed a Canary outside its tests, at the cost
// of one word, while its stress tests (package stress) poison and check it.
//
// stress.Canary, stress.Poisonable, stress.PoisonWord and stress.PoisonByte
// are aliases of the names here.
package poison

import "encoding/binary"

// The patterns written over reclaimed objects: recognizable in a debugger,
// and not a plausible pointer, length or small integer.
const (
	Byte byte   = 0xDB
	Word uint64 = 0xDBDBDBDBDBDBDBDB
)

// Poisonable is an object that a free function can poison and a reader can
// check. Canary is the usual implementation; a type that embeds a Canary
// is Poisonable through it.
type Poisonable interface {
	Poison()
	Poisoned() bool
}

// Canary is a word to embed in a node type. Its zero value is healthy, so
// new(T) and a recycled node zeroed by a pool are healthy; Poison
// overwrites it with Word.
//
// Both methods use plain, non-atomic memory accesses on purpose: a reader
// that checks the canary of a node it should no longer hold races with the
// free function that poisons it, and the race detector can report that
// pair of accesses, with both stacks, even when the check happens to run
// before the poison (see package stress for when it does).
type Canary struct {
	word uint64
}

// Poison marks the object reclaimed.
func (c *Canary) Poison() { c.word = Word }

// Poisoned reports whether Poison ran, or the word holds garbage.
func (c *Canary) Poisoned() bool { return c.word != 0 }

// Bytes fills b with Byte: the free function of a buffer.
func Bytes(b []byte) {
	for i := range b {
		b[i] = Byte
	}
}

// InBytes reports whether b holds poison: an aligned 8-byte word of Byte,
// or, if b is shorter than that, nothing else. Data that may legitimately
// contain eight 0xDB bytes in a row needs its own Canary.
func InBytes(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	if len(b) < 8 {
		for _, x := range b {
			if x != Byte {
				return false
			}
		}
		return true
	}
	for ; len(b) >= 8; b = b[8:] {
		if binary.LittleEndian.Uint64(b) == Word {
			return true
		}
	}
	return false
}
