// Package stress is a harness for testing lock-free data structures and
// their memory reclamation under go test -race. It runs many goroutines
// doing random operations with injected yield points, follows every object
// through allocation, retirement and reclamation, poisons reclaimed objects
// (their Canary word: poison the rest in the free function too),
// checks histories for linearizability with porcupine, injects faults, and
// checks for leaked goroutines. Every failure carries the seed that replays
// it.
//
// # Usage
//
// A container author writes an ordinary test:
//
//	func TestStack(t *testing.T) {
//		h := stress.New(t, stress.Ops(500))             // seed, config, leak check
//		c := epoch.New(epoch.WithBatchSize(4))           // small batches: reclaim while the workers run
//		s := mystack.New[int](c)
//		hist := stress.NewHistory(h, stress.StackModel()) // checked after each Run
//		mix := stress.StackMix(hist,
//			func(w *stress.Worker, v int) { g := c.Enter(); defer g.Exit(); s.Push(g, v) },
//			func(w *stress.Worker) (int, bool) { g := c.Enter(); defer g.Exit(); return s.Pop(g) })
//		mix = append(mix, stress.StallGuard(c, time.Millisecond))
//		h.Run(mix)
//		stress.Shutdown(h, c.Close)
//	}
//
// Run starts Goroutines workers (default 4×GOMAXPROCS) that draw operations
// from the Mix by Weight until the Run's Ops or Duration is used up, then
// runs the Finally operations (StackMix's drain checks that every value
// pushed was popped exactly once), then checks the History. A Run of more
// operations than HistorySize (500) is split into rounds, each ended by
// the drain and checked on its own, which keeps checks fast; call Run
// again on a fresh structure for more rounds on a new structure.
//
// A failure reads, for example:
//
//	worker 3, pop #41: use after reclaim: read a poisoned *mystack.node at /src/mystack/stack.go:57
//	seed=8121; rerun with STRESS_SEED=8121 go test -race -run '^TestStack$' ./mystack
//
// # Replaying a seed
//
// The seed comes from -stress.seed, else STRESS_SEED, else the Seed option,
// else it is random. Each worker draws from its own PCG stream, seeded by
// the seed, the Run's index and the worker's ID, so a replay repeats every
// worker's sequence of random draws. Goroutine interleavings are not
// replayed (the Go scheduler decides them), and a worker that yields or
// draws inside a retry loop draws as often as its loop retries, so with
// several workers the operations, values and yield points drawn after the
// first contention differ between runs of one seed: a replay makes a race
// likely again rather than certain. In a RunChild child, set the child's
// environment too (the printed command alone runs the parent). STRESS_SCALE (or
// -stress.scale) multiplies every Run's Ops and Duration, for soak runs.
//
// # Objects: Ledger and poison
//
// To see the structure's reclamation, wire a Ledger into it: Alloc when a
// node is allocated or reused, Retire just before it is retired, and
// Reclaim as (or in) the free function, which records the reclamation and
// then poisons the node. Embed a Canary in the node type and call CheckRead
// after reading a node: a read of a reclaimed node reports a use after
// reclaim, at the read (adapters marked with Helper are skipped), with
// where the Ledger saw the node retired and reclaimed. PoisonBytes and
// CheckBytes do the same for buffers. Canary lives in package
// stress/poison (stress.Canary is an alias), which imports no test
// dependencies, so a production node type can embed it.
//
// CheckRead sees a use after reclaim when the read comes after the
// poisoning. The Canary's accesses are plain memory accesses, so under
// -race (RaceEnabled) the poisoning write and a late read also form a data
// race, which the race detector reports with both stacks even when the
// read came first, provided nothing else orders the two accesses. Two
// things do: any lock or atomic operation that both goroutines pass
// through between the write and the read (keep the structure's own
// synchronization and the test's bookkeeping out of that window), and
// coverage: go test -race -cover counts coverage with atomic counters,
// which the race detector takes for synchronization, so in the packages
// being covered it misses most such races. CheckRead's own check does not
// depend on either. A race detected in the test process fails the running
// test, even inside Capture: to prove that a planted race is detected, run
// it in a child process with RunChild, which rebuilds the test binary
// without coverage when coverage is on.
//
// # Hooks in a container's own package
//
// Worker.Yield, Ledger and CheckRead take the harness's types, and package
// stress imports testing, so a container's production package should not
// import it. Give the container an optional hook instead, nil outside
// tests, declared in its own package with the methods it needs:
//
//	type tracer interface {
//		Yield()  // *stress.Worker has it
//		Helper() // reports then skip the container's own helper functions
//		Errorf(format string, args ...any)
//	}
//
// write its yield points as if tr != nil { tr.Yield() }, embed
// stress/poison's Canary (which imports nothing from testing) in the node
// type and check Poisoned after a read, and let the test pass its
// *stress.Worker as the hook of each operation (an unexported variant of
// each operation, which the exported one calls with a nil hook, keeps the
// production API clean). The package's Examples keep the structure in the
// test for brevity.
//
// # Faults
//
// Stall, StallGuard and StallProtect hold an epoch guard or a hazard
// protection for a while as one more operation of the mix, so other workers
// retire and reclaim around a stalled reader. Abandon and AbandonHandle run
// work on a goroutine that exits with garbage pending. PanicAfter makes a
// free function panic after it ran; workers recover such panics, Shutdown
// retries a Close they escape from, and the Ledger checks that every object
// was still reclaimed exactly once. An operation that such a panic
// interrupts never returns, so a History of its round is not checked (the
// round is logged as skipped), and the mixes' final drain allows one lost
// value per panic: check linearizability in Runs without PanicAfter.
//
// # Linearizability
//
// A History records each operation's call and return time, input and
// output (History.Call, Call.Return; the ready-made StackMix, QueueMix,
// SetMix and MapMix do it for you) and is checked by porcupine against a
// sequential Model: StackModel, QueueModel, SetModel and MapModel, or a
// custom porcupine model. A violation reports the longest linearizable
// prefix and writes porcupine's visualization to the test's ArtifactDir
// (keep it with go test -artifacts). An operation or output the model does
// not take is reported as a configuration error, not as a violation.
// CheckSequential checks a container, or a model, sequentially with rapid.
//
// # What the harness is proven to catch
//
// Its own tests plant each of these bugs in a small Treiber stack and
// require that the harness reports it, under -race on a 2-core machine,
// well within 20 seconds (in practice within milliseconds), while the same
// stack without the bug passes. They run the collectors with small batches
// and thresholds (epoch.WithBatchSize(4), hazard.WithThreshold(8)), so that
// objects are reclaimed while the workers run; with the default sizes a
// Run of a few hundred operations reclaims almost nothing before Close, and
// the same bugs took seconds or went unnoticed: configure the structure
// under test the same way. The planted bugs, and what reports them:
//
//   - reclaiming without a grace period (the free function runs at once,
//     not through the collector): a use after reclaim;
//   - retiring a node that is still reachable: a use after reclaim, a
//     double retire, or a reachable node that is retired;
//   - a hazard-pointer protect that publishes without re-validating: a use
//     after reclaim;
//   - a double retire, seen by the ledger ("retired twice") or only through
//     the free function ("reclaimed twice");
//   - a pop that drops an element: conservation, and porcupine on its own;
//
// and a late read of a poisoned Canary is reported by the race detector as
// well (in a child process without coverage, see above). The harness cannot see reclamation it is not told about: a
// container whose nodes never pass through a Ledger and a Canary is checked
// only through its values (conservation and linearizability).
//
// # Leaks and configuration errors
//
// New records the goroutines that exist and, when the test ends, reports
// any new one still running (goleak), so do not combine it with
// t.Parallel unless NoLeakCheck is given. Invalid options, mixes and models
// fail the test with a message that names them; the harness does not panic.
package stress
