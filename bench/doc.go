// Package bench is the benchmark suite. Each benchmark is an exported
// function of a *testing.B so that the same code runs under `go test -bench`
// (bench_test.go wraps them) and inside cmd/reclaimbench (testing.Benchmark).
//
// Every measurement comes with a floor measured in the same run: the raw
// atomic operations the measured code cannot avoid, or the structure with
// its nodes left to the garbage collector. Results are quoted as ratios to
// the floor, never as absolute thresholds.
package bench
