//go:build !(linux && (amd64 || arm64)) || race

package fence

func available() bool { return false }

func membarrier() { panic("reclaim: no asymmetric fence on this platform") }
