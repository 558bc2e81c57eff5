//go:build amd64 || arm64

package goroutine

// getg returns the address of the calling goroutine's runtime record.
//
//go:noescape
func getg() uintptr
