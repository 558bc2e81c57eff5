//go:build linux && (amd64 || arm64) && !race

package fence

import "golang.org/x/sys/unix"

const (
	cmdPrivateExpedited         = 1 << 3
	cmdRegisterPrivateExpedited = 1 << 4
)

// available registers the process for private expedited membarrier; it
// fails on kernels before 4.14, under seccomp filters and on gVisor.
func available() bool {
	_, _, errno := unix.Syscall(unix.SYS_MEMBARRIER, cmdRegisterPrivateExpedited, 0, 0)
	return errno == 0
}

// membarrier never fails once registration succeeded; if it did, silence
// would break every ordering argument, so it panics. It is a raw system
// call (see Heavy).
func membarrier() {
	if _, _, errno := unix.RawSyscall(unix.SYS_MEMBARRIER, cmdPrivateExpedited, 0, 0); errno != 0 {
		panic("reclaim: membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) failed after registration: " + errno.Error())
	}
}
