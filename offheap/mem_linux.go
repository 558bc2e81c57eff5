//go:build linux

package offheap

import "golang.org/x/sys/unix"

// mapMemory reserves n bytes of zeroed, anonymous, private memory from the
// kernel. MAP_NORESERVE: pages are committed when first touched, so a large
// maximum costs address space, not memory, until it is used.
func mapMemory(n int) ([]byte, error) {
	return unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE,
		unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE)
}

// unmapMemory returns the memory to the kernel.
func unmapMemory(b []byte) error { return unix.Munmap(b) }
