package hazard_test

// The zero values (from an independent review of mustBeMade, checkOpen and
// Registry.Get on nil): every entry point on a zero Domain (and on zero
// Pointers, Arrays and Pools) panics naming the mistake, never with a nil
// dereference or a fatal error (a panic while pinned to a processor, which
// kills the process: each case runs in a child process); and the checks
// never fire on a made Domain.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/go-reclaim/reclaim/hazard"
)

var zeroCases = map[string]func(){
	"Domain.Acquire":      func() { var d hazard.Domain; d.Acquire() },
	"Domain.AcquireArray": func() { var d hazard.Domain; d.AcquireArray(2) },
	"Retire":              func() { var d hazard.Domain; hazard.Retire(&d, new(int), func(*int) {}) },
	"Reclaim":             func() { var d hazard.Domain; hazard.Reclaim(&d, new(int), func(*int) {}) },
	"Domain.Close":        func() { var d hazard.Domain; _ = d.Close() },
	"Domain.Stats":        func() { var d hazard.Domain; d.Stats() },
	"Domain.Flush":        func() { var d hazard.Domain; d.Flush() },
	"Domain.Barrier":      func() { var d hazard.Domain; _ = d.Barrier(context.Background()) },
	"Domain.Threshold":    func() { var d hazard.Domain; d.Threshold() },
	"NewPool":             func() { var d hazard.Domain; hazard.NewPool[int](&d) },
	"Pointer.Protect": func() {
		var hp hazard.Pointer
		hazard.Protect(&hp, new(atomic.Pointer[int]))
	},
	"Pointer.TryProtect": func() {
		var hp hazard.Pointer
		hazard.TryProtect(&hp, new(int), new(atomic.Pointer[int]))
	},
	"Pointer.Reset":   func() { var hp hazard.Pointer; hp.Reset() },
	"Pointer.Release": func() { var hp hazard.Pointer; hp.Release() },
	"Array.At":        func() { var a hazard.Array; a.At(0) },
	"Pool.Get":        func() { var p hazard.Pool[int]; p.Get() },
	"Pool.Retire":     func() { var p hazard.Pool[int]; p.Retire(new(int)) },
	// Pools made with OnReclaim take the other Retire path.
	"Pool(OnReclaim) on zero Domain": func() {
		var d hazard.Domain
		hazard.NewPool(&d, hazard.OnReclaim(func(*int) {}))
	},
}

// The child: runs the case named by RECLAIM_TEST_ZERO_CASE and prints how it
// panicked (or returned).
func TestZeroChild(t *testing.T) {
	name := os.Getenv("RECLAIM_TEST_ZERO_CASE")
	if name == "" {
		t.Skip("run by TestZeroValues")
	}
	func() {
		defer func() {
			r := recover()
			_, rtErr := r.(runtime.Error)
			fmt.Printf("\nZEROCASE runtimeError=%v value=%v\n", rtErr, r)
		}()
		zeroCases[name]()
	}()
}

func TestZeroValues(t *testing.T) {
	if os.Getenv("RECLAIM_TEST_ZERO_CASE") != "" {
		t.Skip("child")
	}
	if testing.Short() {
		t.Skip("re-executes the test binary once per case (and under qemu-user, as CI runs the arm64 tests with -short, it cannot)")
	}
	for name := range zeroCases {
		t.Run(strings.ReplaceAll(name, " ", "_"), func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestZeroChild$", "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), "RECLAIM_TEST_ZERO_CASE="+name, "GORACE=atexit_sleep_ms=0")
			out, err := cmd.CombinedOutput()
			s := string(out)
			i := strings.Index(s, "ZEROCASE ")
			if err != nil || i < 0 {
				t.Fatalf("child died (%v):\n%s", err, s)
			}
			line := s[i:]
			line = line[:strings.IndexByte(line, '\n')]
			t.Log(line)
			if strings.Contains(line, "runtimeError=true") || !strings.Contains(line, "value=hazard: ") {
				t.Errorf("%s on a zero value: %s", name, line)
			}
		})
	}
}

// mustBeMade and checkOpen never fire on a made Domain as a zero-Domain
// error: Default, a closed Domain (it says closed, not zero), a free
// function of a Domain being closed, concurrent Stats and Flush while
// Close runs.
func TestMustBeMadeNoFalsePositive(t *testing.T) {
	noZero := func(what string, fn func()) {
		t.Helper()
		defer func() {
			if r := recover(); r != nil {
				if msg, _ := r.(string); strings.Contains(msg, "zero Domain") {
					t.Fatalf("%s: %v", what, r)
				}
			}
		}()
		fn()
	}
	d := hazard.Default()
	noZero("Default Stats", func() { d.Stats() })
	noZero("Default Flush", func() { d.Flush() })
	noZero("Default Threshold", func() { d.Threshold() })
	hp := d.Acquire()
	hp.Release()

	dm := hazard.New()
	pool := hazard.NewPool[int](dm)
	var ranFree atomic.Int32
	var freeErr atomic.Value
	hazard.Retire(dm, new(int), func(*int) {
		defer func() {
			if r := recover(); r != nil {
				freeErr.Store(fmt.Sprint(r))
			}
		}()
		// A free function run by Close may Acquire and Retire.
		p := dm.Acquire()
		p.Release()
		hazard.Retire(dm, new(int), func(*int) {})
		_ = dm.Stats()
		ranFree.Add(1)
	})
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			noZero("Stats during Close", func() { dm.Stats() })
			noZero("Flush during Close", func() { dm.Flush() })
		}
	}()
	if err := dm.Close(); err != nil {
		t.Fatal(err)
	}
	close(stop)
	<-done
	if v := freeErr.Load(); v != nil {
		t.Fatalf("free function run by Close: %v", v)
	}
	if ranFree.Load() != 1 {
		t.Fatal("free function did not run")
	}
	noZero("Stats after Close", func() { dm.Stats() })
	noZero("Flush after Close", func() { dm.Flush() })
	noZero("Barrier after Close", func() { _ = dm.Barrier(context.Background()) })
	noZero("Close after Close", func() { _ = dm.Close() })
	noZero("NewPool after Close", func() { hazard.NewPool[int](dm) })
	noZero("Pool.Get after Close", func() { pool.Get() })
	for op, fn := range map[string]func(){
		"Acquire":      func() { dm.Acquire() },
		"AcquireArray": func() { dm.AcquireArray(2) },
		"Retire":       func() { hazard.Retire(dm, new(int), func(*int) {}) },
		"Reclaim":      func() { hazard.Reclaim(dm, new(int), func(*int) {}) },
	} {
		func() {
			defer func() {
				if r := recover(); r != "hazard: "+op+" on a closed Domain" {
					t.Errorf("%s after Close: %v", op, r)
				}
			}()
			fn()
		}()
	}
}
