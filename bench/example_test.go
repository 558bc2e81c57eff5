package bench_test

import (
	"fmt"
	"testing"

	"github.com/go-reclaim/reclaim/bench"
)

// A case of the suite is quoted as a ratio to its floor, measured in the
// same run, as cmd/reclaimbench does.
func Example() {
	byName := map[string]bench.Case{}
	for _, c := range bench.Suite {
		byName[c.Name] = c
	}
	c := byName["EpochHandleEnterExit"]
	floor := byName[c.Floor]
	fmt.Printf("%s against %s, goal %s\n", c.Name, floor.Name, c.Goal)

	nsPerOp := func(r testing.BenchmarkResult) float64 { return float64(r.T.Nanoseconds()) / float64(r.N) }
	ratio := nsPerOp(testing.Benchmark(c.Run)) / nsPerOp(testing.Benchmark(floor.Run))
	fmt.Println("measured:", ratio > 0) // a real report prints the ratio
	// Output:
	// EpochHandleEnterExit against AnnounceClear, goal <= 0.5x
	// measured: true
}
