package hazard_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/hazard"
)

// Misuse panics with a message that names the operation and what was wrong
// with it. The expected messages are the exact strings the package panics
// with.

func TestMisuseReleasedPointer(t *testing.T) {
	d := hazard.New(hazard.WithMaxBatchAge(0)) // no aging: free functions run on this goroutine
	defer func() { require.NoError(t, d.Close()) }()
	var src atomic.Pointer[int]
	x := new(int)
	src.Store(x)

	hp := d.Acquire()
	require.Same(t, x, hazard.Protect(hp, &src))
	hp.Release()
	require.Zero(t, d.Stats().Protecting, "Release resets the hazard pointer")

	require.PanicsWithValue(t, "hazard: Protect through a Pointer that was already released",
		func() { hazard.Protect(hp, &src) })
	require.PanicsWithValue(t, "hazard: TryProtect through a Pointer that was already released",
		func() { hazard.TryProtect(hp, x, &src) })
	require.PanicsWithValue(t, "hazard: Reset through a Pointer that was already released",
		func() { hp.Reset() })
	require.PanicsWithValue(t, "hazard: Release through a Pointer that was already released",
		func() { hp.Release() })

	// None of the failed calls published anything: a retired x is reclaimed.
	require.Zero(t, d.Stats().Protecting)
	freed := 0
	src.Store(nil)
	hazard.Retire(d, x, func(*int) { freed++ })
	require.NoError(t, d.Barrier(waitCtx(t)))
	require.Equal(t, 1, freed)
	require.Nil(t, hp.Domain(), "a released Pointer belongs to no domain")
}

func TestMisuseReleaseTwice(t *testing.T) {
	d := hazard.New()
	defer func() { require.NoError(t, d.Close()) }()
	hp := d.Acquire()
	hp.Release()
	require.PanicsWithValue(t, "hazard: Release through a Pointer that was already released",
		func() { hp.Release() })

	// The slot went back once, not twice: two Acquires get two distinct
	// slots, so protecting through one does not clear the other.
	a, b := d.Acquire(), d.Acquire()
	var sa, sb atomic.Pointer[int]
	sa.Store(new(int))
	sb.Store(new(int))
	hazard.Protect(a, &sa)
	hazard.Protect(b, &sb)
	require.Equal(t, 2, d.Stats().Protecting)
	a.Release()
	b.Release()
	require.Zero(t, d.Stats().Protecting)
}

func TestMisuseRetireNil(t *testing.T) {
	d := hazard.New()
	defer func() { require.NoError(t, d.Close()) }()
	require.PanicsWithValue(t, "hazard: Retire of a nil pointer",
		func() { hazard.Retire(d, (*int)(nil), func(*int) {}) })
	require.PanicsWithValue(t, "hazard: Retire with a nil free function",
		func() { hazard.Retire(d, new(int), nil) })
	for _, pool := range []*hazard.Pool[int]{ // recycled a run at a time, and one by one
		hazard.NewPool[int](d),
		hazard.NewPool(d, hazard.OnReclaim(func(*int) {})),
	} {
		require.PanicsWithValue(t, "hazard: Retire of a nil pointer", func() { pool.Retire(nil) })
	}
	require.NoError(t, d.Barrier(waitCtx(t)))
	st := d.Stats()
	require.Zero(t, st.Retired, "a rejected Retire retires nothing")
	require.Zero(t, st.Pending)
}

func TestMisuseAfterClose(t *testing.T) {
	d := hazard.New()
	hp := d.Acquire() // acquired before Close: still usable afterwards
	require.NoError(t, d.Close())

	require.PanicsWithValue(t, "hazard: Acquire on a closed Domain", func() { d.Acquire() })
	require.PanicsWithValue(t, "hazard: AcquireArray on a closed Domain", func() { d.AcquireArray(2) })
	require.Equal(t, 1, d.Stats().Pointers, "AcquireArray on a closed Domain took slots (hp is the one)")
	require.PanicsWithValue(t, "hazard: Retire on a closed Domain",
		func() { hazard.Retire(d, new(int), func(*int) { t.Error("free ran after a rejected Retire") }) })

	// Pointers acquired before Close keep working, and Close stays
	// idempotent.
	var src atomic.Pointer[int]
	x := new(int)
	src.Store(x)
	require.Same(t, x, hazard.Protect(hp, &src))
	hp.Reset()
	hp.Release()
	require.NoError(t, d.Close())
	require.NoError(t, d.Barrier(waitCtx(t)))
	st := d.Stats()
	require.Zero(t, st.Retired)
	require.Zero(t, st.Pending)
}

func TestMisuseArrayBounds(t *testing.T) {
	d := hazard.New()
	defer func() { require.NoError(t, d.Close()) }()
	for _, n := range []int{-1, 0, hazard.MaxArray + 1, 1 << 20} {
		require.PanicsWithValue(t,
			fmt.Sprintf("hazard: AcquireArray(%d): n must be between 1 and %d", n, hazard.MaxArray),
			func() { d.AcquireArray(n) }, "n=%d", n)
	}
	require.Zero(t, d.Stats().Slots, "a rejected AcquireArray takes no slot")

	for _, n := range []int{1, 3, hazard.MaxArray} {
		a := d.AcquireArray(n)
		require.Equal(t, n, a.Len())
		seen := map[*hazard.Pointer]bool{}
		for i := range n {
			hp := a.At(i)
			require.Same(t, d, hp.Domain())
			require.False(t, seen[hp])
			seen[hp] = true
		}
		for _, i := range []int{-1, n, n + 1, hazard.MaxArray} {
			require.PanicsWithValue(t,
				fmt.Sprintf("hazard: Array.At(%d) out of range [0, %d)", i, n),
				func() { a.At(i) }, "n=%d i=%d", n, i)
		}
		a.Release()
		require.PanicsWithValue(t, "hazard: Release through a Pointer that was already released",
			func() { a.Release() })
		require.PanicsWithValue(t, "hazard: Protect through a Pointer that was already released",
			func() { hazard.Protect(a.At(0), new(atomic.Pointer[int])) })
	}
}

// The elements of an Array protect independently: each keeps its own object
// alive, and the array's Release resets them all.
func TestArrayProtectsEach(t *testing.T) {
	d := hazard.New(hazard.WithMaxBatchAge(0)) // no aging: free functions run on this goroutine
	defer func() { require.NoError(t, d.Close()) }()
	const n = hazard.MaxArray
	a := d.AcquireArray(n)
	srcs := make([]atomic.Pointer[int], n)
	objs := make([]*int, n)
	freed := map[*int]int{}
	for i := range n {
		objs[i] = new(int)
		srcs[i].Store(objs[i])
		require.Same(t, objs[i], hazard.Protect(a.At(i), &srcs[i]))
	}
	require.Equal(t, n, d.Stats().Protecting)
	for i := range n {
		srcs[i].Store(nil)
		hazard.Retire(d, objs[i], func(p *int) { freed[p]++ })
	}
	a.At(3).Reset()
	ctx, cancel := shortCtx(t)
	defer cancel()
	require.ErrorIs(t, d.Barrier(ctx), context.DeadlineExceeded)
	for i, p := range objs {
		if i == 3 {
			require.Equal(t, 1, freed[p])
		} else {
			require.Zero(t, freed[p], "object %d protected by At(%d)", i, i)
		}
	}
	a.Release()
	require.NoError(t, d.Barrier(waitCtx(t)))
	for _, p := range objs {
		require.Equal(t, 1, freed[p])
	}
}

func TestMisuseOptions(t *testing.T) {
	require.PanicsWithValue(t, "hazard: WithThreshold(0): the threshold must be at least 1",
		func() { hazard.WithThreshold(0) })
	require.PanicsWithValue(t, "hazard: WithThresholdPerSlot(1): the factor must be at least 2",
		func() { hazard.WithThresholdPerSlot(1) })
	d := hazard.New(hazard.WithThreshold(7), hazard.WithThresholdPerSlot(3))
	require.Equal(t, 7, d.Threshold())
	a := d.AcquireArray(3)
	require.Equal(t, 9, d.Threshold(), "3 slots x 3 per slot")
	require.Equal(t, 9, d.Stats().Threshold)
	a.Release()
	require.NoError(t, d.Close())
}

// A zero Pool and a Pool of a nil Domain name the mistake instead of
// failing later (a nil dereference, or a complaint about a nil free
// function).
func TestMisuseZeroPool(t *testing.T) {
	require.PanicsWithValue(t, "hazard: NewPool with a nil Domain (use hazard.Default() for the shared one)", func() {
		hazard.NewPool[int](nil)
	})
	var p hazard.Pool[int]
	require.PanicsWithValue(t, "hazard: Pool.Get on a zero Pool: make Pools with NewPool", func() { p.Get() })
	require.PanicsWithValue(t, "hazard: Pool.Retire on a zero Pool: make Pools with NewPool", func() { p.Retire(new(int)) })
}

// A zero Domain is not usable (New makes one): every method that takes it
// panics with a message naming the operation and the mistake. Retire's
// used to fail while pinned to its processor, a fatal error that no
// recover could catch.
func TestMisuseZeroDomain(t *testing.T) {
	const suffix = " on a zero Domain: make Domains with New (or use Default())"
	for op, fn := range map[string]func(d *hazard.Domain){
		"Acquire":      func(d *hazard.Domain) { d.Acquire() },
		"AcquireArray": func(d *hazard.Domain) { d.AcquireArray(2) },
		"Retire":       func(d *hazard.Domain) { hazard.Retire(d, new(int), func(*int) {}) },
		"Reclaim":      func(d *hazard.Domain) { hazard.Reclaim(d, new(int), func(*int) {}) },
		"Close":        func(d *hazard.Domain) { _ = d.Close() },
		"Stats":        func(d *hazard.Domain) { d.Stats() },
		"Flush":        func(d *hazard.Domain) { d.Flush() },
		"Barrier":      func(d *hazard.Domain) { _ = d.Barrier(context.Background()) },
		"NewPool":      func(d *hazard.Domain) { hazard.NewPool[int](d) },
	} {
		t.Run(op, func(t *testing.T) {
			var d hazard.Domain
			require.PanicsWithValue(t, "hazard: "+op+suffix, func() { fn(&d) })
		})
	}
}

// Get on a nil *Pool fails before it pins its processor: a panic while
// pinned is a fatal error that no recover catches (it killed the process).
func TestNilPoolGetIsRecoverable(t *testing.T) {
	var p *hazard.Pool[int]
	require.Panics(t, func() { p.Get() })
	require.Panics(t, func() { p.Retire(new(int)) })
}
