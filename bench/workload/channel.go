package workload

// newChan is a buffered channel used as a queue (or, in its users' hands,
// as a stack that does not mind FIFO order): send and receive never block,
// as a lock-free push and pop never do.
func newChan(o Options) *Instance {
	ch := make(chan uint64, o.Capacity)
	return shared(Worker{
		Insert: func(k uint64) bool {
			select {
			case ch <- k:
				return true
			default:
				return false
			}
		},
		Delete: func(uint64) bool {
			select {
			case <-ch:
				return true
			default:
				return false
			}
		},
	})
}
