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
	"strings"
	"sync/atomic"
	"testing"

	"github.com/go-reclaim/reclaim/hazard"
	"github.com/go-reclaim/reclaim/internal/childcase"
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

// The child: runs the case named by TestZeroValues.
func TestZeroChild(t *testing.T) { childcase.Child(t, zeroCases) }

func TestZeroValues(t *testing.T) {
	childcase.Run(t, "TestZeroChild", zeroCases, "hazard: ")
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
