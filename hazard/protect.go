package hazard

import (
	"sync/atomic"
	"unsafe"

	"github.com/go-reclaim/reclaim/internal/fence"
	"github.com/go-reclaim/reclaim/internal/release"
)

// Protect loads *src and protects the result: it loads, publishes the
// address in hp, and re-loads until two loads agree. The returned object
// is safe to use until hp is reset, released or protects something else: an
// object retired after the re-load is not reclaimed before that.
//
// Memory order: a scan of the slots first takes a heavy fence that began
// after every object it is about to reclaim was unlinked (in the
// asymmetric mode, where the publication is a release store; otherwise the
// publication is sequentially consistent), so either the scan sees the
// publication, or the re-load comes after that fence and so after the
// unlink: the re-load then fails and Protect retries.
//
// Protect panics if hp was released.
func Protect[T any](hp *Pointer, src *atomic.Pointer[T]) *T {
	s := hp.active(releasedProtect)
	// atomic.LoadPointer on src's word, rather than src.Load, keeps
	// Protect within the inlining budget: a call was a third of a
	// protection's cost. (An atomic.Pointer[T] is that word only.)
	a := (*unsafe.Pointer)(unsafe.Pointer(src))
	p := atomic.LoadPointer(a)
	for {
		publish(s, p)
		q := atomic.LoadPointer(a)
		if q == p {
			return (*T)(p)
		}
		p = q
	}
}

// TryProtect protects p, which the caller loaded from src earlier, and
// validates it: it reports whether src still holds p after the publication.
// If it does, p is protected as by Protect; if not, p may already have been
// retired and must not be used (the caller usually reloads and retries).
// TryProtect panics if hp was released.
func TryProtect[T any](hp *Pointer, p *T, src *atomic.Pointer[T]) bool {
	publish(hp.active(releasedTryProtect), unsafe.Pointer(p))
	return src.Load() == p
}

// publish stores p in s for the scans: a release store in the asymmetric
// mode, a sequentially consistent one otherwise (fence.Announce64's rule).
// It lives here, not in internal/fence, because an instantiation of
// Protect or TryProtect compiled in another package did not inline a
// function of internal/fence: a call per protection, 13% of the hazard
// list's Contains.
func publish(s *slot, p unsafe.Pointer) {
	if fence.Asymmetric {
		release.StoreUintptr(&s.Value.addr, uintptr(p))
	} else {
		atomic.StoreUintptr((*uintptr)(unsafe.Pointer(&s.Value.addr)), uintptr(p))
	}
}

// Reset clears hp's protection: the object it protected may be reclaimed
// from now on. Every access made through hp before Reset is synchronized
// before that object's free function. Reset is a release store, never a
// locked instruction. Reset panics
// if hp was released.
func (hp *Pointer) Reset() {
	reset(hp.active(releasedReset))
}

func reset(s *slot) { release.StoreUintptr(&s.Value.addr, 0) }
