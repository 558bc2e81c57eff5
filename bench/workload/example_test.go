package workload_test

import (
	"fmt"

	"github.com/go-reclaim/reclaim/bench/workload"
)

// One run of the Treiber stack on epoch.Pool: two goroutines, each pushing
// and popping 10,000 times on a stack prefilled for the small key range.
func ExampleRun() {
	var stack *workload.Structure
	for _, s := range workload.Structures() {
		if s.Name == "stack" {
			stack = s
		}
	}
	v, _ := stack.Variant(workload.EpochPool)
	cfg := workload.Config{
		Structure:    stack,
		Keys:         stack.KeyRanges[0].N,
		Goroutines:   2,
		OpsPerWorker: 10_000,
		Seed:         1,
	}
	inst := v.New(workload.Options{Capacity: stack.Capacity(cfg.Keys, cfg.Goroutines)})
	workload.Prefill(inst, cfg)
	res, err := workload.Run(inst, cfg)
	if err != nil {
		panic(err)
	}
	if err := inst.Close(); err != nil {
		panic(err)
	}
	fmt.Println(v.Name(), res.Ops, "operations")
	fmt.Println("pending objects counted:", res.Pending != nil)
	// Output:
	// stack/epoch-pool 20000 operations
	// pending objects counted: true
}

// The read/update mixes are written as in reclaimbench's -workloads flag.
func ExampleParseMix() {
	m, err := workload.ParseMix("90/10")
	fmt.Println(m.Read, err)
	// Output: 90 <nil>
}
