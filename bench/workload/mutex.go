package workload

import "sync"

// newMutexStack is a slice guarded by a sync.Mutex, pushed and popped at
// its end.
func newMutexStack(o Options) *Instance { return newMutexSlice(o, false) }

// newMutexQueue is a slice guarded by a sync.Mutex, appended at the end and
// resliced at the front, as Go code usually writes a queue: append copies
// the live part into a new array whenever the old one is used up.
func newMutexQueue(o Options) *Instance { return newMutexSlice(o, true) }

// newMutexSlice pops from the front if fifo, else from the end.
func newMutexSlice(o Options, fifo bool) *Instance {
	var mu sync.Mutex
	s := make([]uint64, 0, o.Capacity)
	return shared(Worker{
		Insert: func(k uint64) bool {
			mu.Lock()
			s = append(s, k)
			mu.Unlock()
			return true
		},
		Delete: func(uint64) bool {
			mu.Lock()
			defer mu.Unlock()
			switch {
			case len(s) == 0:
				return false
			case fifo:
				s = s[1:]
			default:
				s = s[:len(s)-1]
			}
			return true
		},
	})
}

// newMutexMap is a Go map guarded by a sync.RWMutex: lookups share the
// read lock, which is what a user picks for a read-mostly map.
func newMutexMap(o Options) *Instance {
	var mu sync.RWMutex
	m := make(map[uint64]uint64, o.Capacity)
	return shared(Worker{
		Read: func(k uint64) bool {
			mu.RLock()
			_, ok := m[k]
			mu.RUnlock()
			return ok
		},
		Insert: func(k uint64) bool {
			mu.Lock()
			_, ok := m[k]
			m[k] = k
			mu.Unlock()
			return !ok
		},
		Delete: func(k uint64) bool {
			mu.Lock()
			_, ok := m[k]
			delete(m, k)
			mu.Unlock()
			return ok
		},
	})
}
