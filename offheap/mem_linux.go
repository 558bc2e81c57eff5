//go:build linux

package offheap

import "golang.org/x/sys/unix"

// mapMemory reserves n bytes of zeroed, anonymous, private memory from the
// kernel. MAP_NORESERVE: pages are committed when first touched, so a large
// maximum costs address space, not memory, until it is used.
//
// Blocks of 2 MiB and more are advised to use transparent huge pages
// (where the kernel leaves THP to madvise, as most distributions do): a
// big table or slab read at random addresses otherwise pays a page walk,
// a TLB miss, on top of the cache miss of nearly every access. The advice
// is only advice: where it fails, the mapping works with small pages.
func mapMemory(n int) ([]byte, error) {
	b, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE,
		unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE)
	if err == nil && n >= hugePage {
		_ = unix.Madvise(b, unix.MADV_HUGEPAGE)
	}
	return b, err
}

const hugePage = 2 << 20

// unmapMemory returns the memory to the kernel.
func unmapMemory(b []byte) error { return unix.Munmap(b) }
