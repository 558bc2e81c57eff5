// Package ctest runs the workers of the container packages' concurrent
// tests.
package ctest

import (
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"sync"
	"time"
)

// Timeout bounds how long the workers of one Run may take; the tests take
// well under a second each.
const Timeout = 20 * time.Second

// Run runs fn(w, r) on workers goroutines, w counting from 0, each with a
// random source seeded by w and seed so that a failing schedule's choices
// repeat, and waits for them. If they have not all returned within Timeout
// it panics with every goroutine's stack: a livelock, or a cycle that a bug
// made in a list, then fails fast instead of hanging the test binary.
// Model runs have the same watchdog.
func Run(workers int, seed uint64, fn func(w int, r *rand.Rand)) {
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() { fn(w, rand.New(rand.NewPCG(uint64(w), seed))) })
	}
	stop := Watchdog(fmt.Sprintf("%d workers", workers))
	defer stop()
	wg.Wait()
}

// Watchdog panics, with every goroutine's stack, if the returned stop
// function has not been called within Timeout.
func Watchdog(what string) (stop func()) {
	t := time.AfterFunc(Timeout, func() {
		debug.SetTraceback("all")
		panic(fmt.Sprintf("ctest: %s still running after %v: livelock or corrupt structure", what, Timeout))
	})
	return func() { t.Stop() }
}
