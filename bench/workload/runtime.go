package workload

import "runtime/metrics"

// The runtime/metrics read around a run. CPU classes are the runtime's
// estimate as of the last completed collection, so a run's GC CPU share
// covers the run up to its last collection.
var runtimeMetrics = []string{
	"/gc/heap/allocs:objects",
	"/gc/heap/tiny/allocs:objects",
	"/gc/heap/allocs:bytes",
	"/gc/cycles/total:gc-cycles",
	"/cpu/classes/gc/total:cpu-seconds",
	"/cpu/classes/total:cpu-seconds",
	"/gc/heap/live:bytes",
	"/gc/scan/heap:bytes",
}

// runtimeCounters is one reading of runtimeMetrics.
type runtimeCounters struct {
	allocs, bytes, cycles uint64
	gcCPU, totalCPU       float64
	// Levels, not counters: the heap marked live by the last collection,
	// and the part of the heap a collection scans for pointers.
	heapLive, heapScan uint64
}

func readRuntime() runtimeCounters {
	s := make([]metrics.Sample, len(runtimeMetrics))
	for i, name := range runtimeMetrics {
		s[i].Name = name
	}
	metrics.Read(s)
	return runtimeCounters{
		// Mallocs in runtime.MemStats (what testing's allocs/op uses) counts
		// tiny objects too; so does this.
		allocs:   s[0].Value.Uint64() + s[1].Value.Uint64(),
		bytes:    s[2].Value.Uint64(),
		cycles:   s[3].Value.Uint64(),
		gcCPU:    s[4].Value.Float64(),
		totalCPU: s[5].Value.Float64(),
		heapLive: s[6].Value.Uint64(),
		heapScan: s[7].Value.Uint64(),
	}
}

// since returns the counters' growth from start to c.
func (c runtimeCounters) since(start runtimeCounters) runtimeCounters {
	return runtimeCounters{
		allocs:   c.allocs - start.allocs,
		bytes:    c.bytes - start.bytes,
		cycles:   c.cycles - start.cycles,
		gcCPU:    c.gcCPU - start.gcCPU,
		totalCPU: c.totalCPU - start.totalCPU,
		heapLive: c.heapLive,
		heapScan: c.heapScan,
	}
}
