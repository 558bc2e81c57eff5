package workload

import "sync"

// newSyncMap is a sync.Map. Its keys and values are interfaces: storing a
// uint64 of 256 or more allocates, a cost its users pay too.
func newSyncMap(Options) *Instance {
	var m sync.Map
	return shared(Worker{
		Read:   func(k uint64) bool { _, ok := m.Load(k); return ok },
		Insert: func(k uint64) bool { _, loaded := m.Swap(k, k); return !loaded },
		Delete: func(k uint64) bool { _, ok := m.LoadAndDelete(k); return ok },
	})
}
