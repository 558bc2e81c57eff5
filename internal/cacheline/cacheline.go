// Package cacheline provides padding that keeps hot, independently written
// words on separate cache lines.
package cacheline

// Size is the padding granularity in bytes. It is two 64-byte lines because
// x86 spatial prefetchers pull adjacent line pairs, so 64 bytes of padding
// still lets two writers contend (crossbeam-utils pads to 128 for the same
// reason).
const Size = 128

// Pad is placed between fields that different goroutines write.
type Pad [Size]byte
