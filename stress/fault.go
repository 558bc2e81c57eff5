package stress

import (
	"fmt"
	"runtime/debug"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-reclaim/reclaim/epoch"
	"github.com/go-reclaim/reclaim/hazard"
)

// InjectedPanic is the value PanicAfter's free functions panic with.
// Workers recover it and go on (Result.Panics counts them); Shutdown
// retries the close it escaped from.
type InjectedPanic struct{ What string }

func (p InjectedPanic) String() string { return "stress: injected panic in " + p.What }

// PanicAfter returns a free function that runs free and then panics with an
// InjectedPanic, for checking that a panicking free function corrupts
// nothing: the panic reaches whichever goroutine ran the reclamation (a
// Retire inside some worker's operation, a Barrier or Close), and every
// object must still be reclaimed exactly once, which a Ledger checks.
//
// Operations that may run reclamation must then release what they hold
// with defer (g.Exit, hp.Release), since the panic unwinds through them.
func PanicAfter[T any](free func(*T)) func(*T) {
	return func(p *T) {
		free(p)
		panic(InjectedPanic{What: fmt.Sprintf("free(%T)", p)})
	}
}

// Shutdown calls closeFn (a Collector's or Domain's Close, or a Barrier)
// again each time an injected panic escapes from it, until it returns; a
// non-nil error is reported to tb. Other panics propagate.
func Shutdown(tb testing.TB, closeFn func() error) error {
	tb.Helper()
	for {
		err, again := closeOnce(closeFn)
		if again {
			continue
		}
		if err != nil {
			tb.Errorf("stress: Shutdown: %v", err)
		}
		return err
	}
}

func closeOnce(closeFn func() error) (err error, again bool) {
	defer func() {
		if p := recover(); p != nil {
			if _, ok := p.(InjectedPanic); !ok {
				panic(p)
			}
			again = true
		}
	}()
	return closeFn(), false
}

// Stall returns an operation that takes something and sits on it: it calls
// hold, sleeps for d (ending early if the Run stops), then calls the
// function hold returned, which should give it back and may check that
// what it held is still intact. Use it for a reader stalled inside a guard
// or holding a protection while the other workers retire and reclaim. Its
// Weight is 1; d must be positive.
func Stall(name string, d time.Duration, hold func(w *Worker) (release func())) Op {
	op := Op{Name: name, Weight: 1, Do: func(w *Worker) {
		release := hold(w)
		sleep(w, d)
		if release != nil {
			release()
		}
	}}
	switch {
	case d <= 0:
		op.err = fmt.Sprintf("stall duration %v must be positive", d)
	case hold == nil:
		op.err = "nil hold function"
	}
	return op
}

// StallGuard returns a Stall ("stall-guard") that holds an epoch guard of
// c open for d: nothing retired meanwhile may be reclaimed until it exits.
func StallGuard(c *epoch.Collector, d time.Duration) Op {
	return Stall("stall-guard", d, func(*Worker) func() { return c.Enter().Exit })
}

// StallProtect returns a Stall ("stall-protect") that protects the object
// at src with a hazard pointer of dom for d, then checks, if *T is
// Poisonable, that it was not reclaimed meanwhile.
func StallProtect[T any](dom *hazard.Domain, src *atomic.Pointer[T], d time.Duration) Op {
	return Stall("stall-protect", d, func(w *Worker) func() {
		hp := dom.Acquire()
		p := hazard.Protect(hp, src)
		return func() {
			if obj, ok := any(p).(Poisonable); ok && p != nil {
				CheckRead(w, obj)
			}
			hp.Release()
		}
	})
}

// sleep sleeps for d in short steps, returning early if the Run stops.
func sleep(w *Worker, d time.Duration) {
	end := time.Now().Add(d)
	for step := time.Millisecond; !w.Stopped(); {
		left := time.Until(end)
		if left <= 0 {
			return
		}
		time.Sleep(min(left, step))
	}
}

// Abandon returns an operation ("name", Weight 1) that runs fn on a new
// goroutine and waits for that goroutine to exit: for goroutines that
// leave pending garbage behind them (a partial retire batch, a Handle
// never unregistered). fn gets the calling worker, which waits meanwhile.
func Abandon(name string, fn func(w *Worker)) Op {
	op := Op{Name: name, Weight: 1, Do: func(w *Worker) {
		done := make(chan any)
		go func() {
			defer func() {
				p := recover()
				if _, injected := p.(InjectedPanic); p != nil && !injected {
					p = fmt.Sprintf("%v\n%s", p, debug.Stack()) // keep this goroutine's stack
				}
				done <- p
			}()
			fn(w)
		}()
		if p := <-done; p != nil {
			panic(p) // again in the worker, which recovers or reports it
		}
	}}
	if fn == nil {
		op.err = "nil function"
	}
	return op
}

// AbandonHandle returns an Abandon ("abandon-handle") whose goroutine
// registers a Handle on c, opens a guard, calls retire with it, closes the
// guard and exits without Unregister: the objects retired sit in the
// Handle's unfinished batch, which Barrier or Close must still reclaim.
func AbandonHandle(c *epoch.Collector, retire func(w *Worker, g *epoch.Guard)) Op {
	op := Abandon("abandon-handle", func(w *Worker) {
		g := c.Register().Enter()
		defer g.Exit()
		retire(w, g)
	})
	if retire == nil {
		op.err = "nil retire function"
	}
	return op
}
