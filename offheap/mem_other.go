//go:build !linux

package offheap

import "unsafe"

// mapMemory, on systems other than Linux, allocates a pointer-free block on
// the Go heap: the garbage collector never scans it (it holds no pointers),
// but it counts in the heap size and is freed by the collector after
// unmapMemory drops it rather than returned to the OS at once.
func mapMemory(n int) ([]byte, error) {
	words := make([]uint64, (n+7)/8) // 8-byte aligned
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(words))), n), nil
}

func unmapMemory([]byte) error { return nil }
