package epoch_test

import "sync/atomic"

type atomicIntPtr = atomic.Pointer[int]

type item struct {
	value int
}
