// Package bench holds the microbenchmarks of the benchmark suite. Each is
// an exported function of a *testing.B so that the same code runs under
// `go test -bench` (the *_bench_test.go files wrap them) and inside
// cmd/reclaimbench (testing.Benchmark). The workloads (structures x schemes
// x read/update mixes x goroutines) are in package bench/workload.
//
// Every measurement comes with a floor measured in the same run: the raw
// atomic operations the measured code cannot avoid, or the structure with
// its nodes left to the garbage collector. Results are quoted as ratios to
// the floor, never as absolute thresholds.
package bench
