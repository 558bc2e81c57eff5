// Package workload is the engine of the benchmark suite: it runs one data
// structure under one reclamation scheme with a read/update mix, a key
// range and a number of goroutines, and measures what an adopter needs to
// compare schemes: throughput, allocations, pending objects, garbage
// collector cost and operation latency.
//
// A Variant is a structure (stack, queue, set, map) paired with a scheme:
// the library's containers in their GC-only, epoch (with Pool) and hazard
// variants, and the Go alternatives a user would pick instead (a buffered
// channel, a mutex-guarded slice or map, sync.Map, xsync). Run measures one
// run of a prefilled Instance; Robustness stalls one reader while others
// churn and samples pending objects over time. cmd/reclaimbench composes
// runs into the suite and writes the report.
//
// Every measurement is taken in-process with the process otherwise idle:
// a forced collection before each run, allocation and GC counters read
// from runtime/metrics around it, latency sampled on one operation in 63 (an odd count, so that a stack's
// or queue's timed operations alternate between push and pop).
package workload
