package workload

import (
	"sync"
	"time"
)

// Sample is one reading of an instance's pending objects.
type Sample struct {
	At      time.Duration // since the run started
	Pending uint64
}

// Pending summarizes the pending objects sampled during a run.
type Pending struct {
	Peak    uint64
	Mean    float64
	Last    uint64
	Samples int
}

// sampler reads an instance's pending count on a ticker while a run goes
// on. It runs on a goroutine of its own, so it takes a share of the CPU;
// an epoch Stats call scans the participant slots and takes no lock, a
// hazard one scans the hazard slots.
type sampler struct {
	pending func() uint64
	start   time.Time
	limit   uint64        // over is closed once pending exceeds it; 0: never
	over    chan struct{} // nil when there is no limit
	keep    bool          // keep every sample in series

	stop   chan struct{}
	done   sync.WaitGroup
	sum    float64
	stats  Pending
	series []Sample
}

// startSampler samples now and then every interval until finish.
func startSampler(pending func() uint64, every time.Duration, limit uint64, keep bool) *sampler {
	s := &sampler{pending: pending, start: time.Now(), limit: limit, keep: keep, stop: make(chan struct{})}
	if limit > 0 {
		s.over = make(chan struct{})
	}
	s.sample()
	s.done.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		closed := false
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
				if s.sample() && !closed {
					close(s.over)
					closed = true
				}
			}
		}
	})
	return s
}

// sample records one reading and reports whether it went over the limit.
func (s *sampler) sample() bool {
	v := s.pending()
	s.stats.Samples++
	s.stats.Peak = max(s.stats.Peak, v)
	s.stats.Last = v
	s.sum += float64(v)
	if s.keep {
		s.series = append(s.series, Sample{At: time.Since(s.start), Pending: v})
	}
	return s.limit > 0 && v > s.limit
}

// finish stops sampling after a last reading.
func (s *sampler) finish() (Pending, []Sample) {
	close(s.stop)
	s.done.Wait()
	s.sample()
	s.stats.Mean = s.sum / float64(s.stats.Samples)
	return s.stats, s.series
}

// overLimit is closed once pending exceeds the limit (nil: never).
func (s *sampler) overLimit() <-chan struct{} {
	if s == nil {
		return nil
	}
	return s.over
}
