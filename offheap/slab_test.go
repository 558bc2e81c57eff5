package offheap_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/go-reclaim/reclaim/epoch"
	"github.com/go-reclaim/reclaim/offheap"
	"github.com/stretchr/testify/require"
)

func TestAllocGetFree(t *testing.T) {
	c := newCollector(t)
	s := newSlab[point](t, c, 8)
	h, p := mustAlloc(t, s)
	if *p != (point{}) {
		t.Fatalf("Alloc returned a non-zero value %+v", *p)
	}
	*p = point{X: 1, Y: 2, Tag: [4]byte{'a'}}
	if v, err := get(c, s, h); err != nil || v != *p {
		t.Fatalf("Get = %+v, %v; want %+v", v, err, *p)
	}
	if err := free(c, s, h); err != nil {
		t.Fatalf("Free: %v", err)
	}
	if _, err := get(c, s, h); !errors.Is(err, offheap.ErrStale) {
		t.Fatalf("Get after Free: %v; want ErrStale", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func TestPointerTypesRefused(t *testing.T) {
	c := newCollector(t)
	check := func(name string, err error, path string) {
		t.Helper()
		if !errors.Is(err, offheap.ErrPointers) {
			t.Errorf("%s: NewSlab error %v; want ErrPointers", name, err)
		} else if !strings.Contains(err.Error(), path) {
			t.Errorf("%s: error %q does not name %q", name, err, path)
		}
	}
	type nested struct {
		A int
		B [2]struct {
			C int
			D string
		}
	}
	_, err := offheap.NewSlab[*int](c, 1)
	check("pointer", err, "*int is a pointer")
	_, err = offheap.NewSlab[string](c, 1)
	check("string", err, "string is a string")
	_, err = offheap.NewSlab[[]byte](c, 1)
	check("slice", err, "is a slice")
	_, err = offheap.NewSlab[map[int]int](c, 1)
	check("map", err, "is a map")
	_, err = offheap.NewSlab[chan int](c, 1)
	check("chan", err, "is a channel")
	_, err = offheap.NewSlab[func()](c, 1)
	check("func", err, "is a func")
	_, err = offheap.NewSlab[any](c, 1)
	check("interface", err, "is an interface")
	_, err = offheap.NewSlab[unsafe.Pointer](c, 1)
	check("unsafe.Pointer", err, "is an unsafe.Pointer")
	_, err = offheap.NewSlab[nested](c, 1)
	check("nested", err, ".B[].D is a string")
}

func TestPointerFreeAccepted(t *testing.T) {
	c := newCollector(t)
	type ok struct {
		A int8
		B [3]uint64
		C struct {
			D float32
			E complex128
			F bool
			G uintptr
		}
		H [0]int64
		_ [0]func() // the idiom that makes a struct incomparable holds nothing
		I [0]*int
	}
	s := newSlab[ok](t, c, 1)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestBadSizes(t *testing.T) {
	c := newCollector(t)
	for _, n := range []int{0, -1, math.MinInt} {
		if _, err := offheap.NewSlab[point](c, n); !errors.Is(err, offheap.ErrSize) {
			t.Errorf("capacity %d: %v; want ErrSize", n, err)
		}
	}
	if _, err := offheap.NewSlab[struct{}](c, 4); !errors.Is(err, offheap.ErrSize) {
		t.Errorf("zero-size type: %v; want ErrSize", err)
	}
	big := uint64(math.MaxUint32) + 1
	if uint64(int(big)) == big { // 64-bit int
		if _, err := offheap.NewSlab[int64](c, int(big)); !errors.Is(err, offheap.ErrSize) {
			t.Errorf("capacity 2^32: %v; want ErrSize", err)
		}
	}
	// Fits the index but not the address space: ErrSize, no crash.
	if s, err := offheap.NewSlab[[1 << 20]byte](c, math.MaxInt32); err == nil {
		_ = s.Close()
		t.Errorf("2 PiB reservation succeeded")
	} else if !errors.Is(err, offheap.ErrSize) {
		t.Errorf("2 PiB reservation: %v; want ErrSize", err)
	}
}

func TestForgedHandles(t *testing.T) {
	c := newCollector(t)
	s := newSlab[point](t, c, 4000)
	h, _ := mustAlloc(t, s)
	idx, gen := uint64(h.Index()), uint64(h.Generation())
	forged := map[string]offheap.Handle{
		"zero":                        0,
		"index never used":            offheap.Handle(gen<<32 | 1),
		"index in an untouched chunk": offheap.Handle(gen<<32 | 3000),
		"index past capacity":         offheap.Handle(gen<<32 | 4000),
		"max index":                   offheap.Handle(gen<<32 | math.MaxUint32),
		"even generation":             offheap.Handle((gen+1)<<32 | idx),
		"future generation":           offheap.Handle((gen+2)<<32 | idx),
	}
	for name, f := range forged {
		if _, err := get(c, s, f); !errors.Is(err, offheap.ErrStale) {
			t.Errorf("Get(%s %v): %v; want ErrStale", name, f, err)
		} else if !strings.Contains(err.Error(), "forged") {
			t.Errorf("Get(%s): %q does not say forged", name, err)
		}
		if err := free(c, s, f); !errors.Is(err, offheap.ErrStale) {
			t.Errorf("Free(%s %v): %v; want ErrStale", name, f, err)
		}
	}
	// Nothing was corrupted: h is still live and freeable once.
	if _, err := get(c, s, h); err != nil {
		t.Fatalf("Get(h) after forged handles: %v", err)
	}
	if err := free(c, s, h); err != nil {
		t.Fatalf("Free(h): %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestDoubleFree(t *testing.T) {
	c := newCollector(t)
	s := newSlab[point](t, c, 2)
	h, _ := mustAlloc(t, s)
	if err := free(c, s, h); err != nil {
		t.Fatal(err)
	}
	err := free(c, s, h)
	if !errors.Is(err, offheap.ErrDoubleFree) {
		t.Fatalf("second Free: %v; want ErrDoubleFree", err)
	}
	// After the slot is reused, freeing the old handle is still a double
	// free and leaves the new allocation alone.
	barrier(t, c)
	h2, p2 := mustAlloc(t, s)
	if h2.Index() != h.Index() || h2 == h {
		t.Fatalf("expected slot %d reused with a new generation, got %v after %v", h.Index(), h2, h)
	}
	p2.X = 42
	if err := free(c, s, h); !errors.Is(err, offheap.ErrDoubleFree) {
		t.Fatalf("Free of the old handle after reuse: %v; want ErrDoubleFree", err)
	}
	if v, err := get(c, s, h2); err != nil || v.X != 42 {
		t.Fatalf("new allocation disturbed: %+v, %v", v, err)
	}
	if st := s.Stats(); st.Live != 1 || st.Pending != 0 {
		t.Fatalf("Stats = %+v; want Live 1, Pending 0", st)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestFullAndGracePeriod(t *testing.T) {
	c := newCollector(t)
	s := newSlab[point](t, c, 3)
	var hs []offheap.Handle
	for range 3 {
		h, _ := mustAlloc(t, s)
		hs = append(hs, h)
	}
	if _, _, err := s.Alloc(); !errors.Is(err, offheap.ErrFull) {
		t.Fatalf("Alloc past capacity: %v; want ErrFull", err)
	}
	// A reader holds slot 0 while it is freed: it is not reused until the
	// reader exits, even though Alloc needs it.
	reader := c.Enter()
	p0, err := s.Get(reader, hs[0])
	if err != nil {
		t.Fatal(err)
	}
	p0.X = 7
	if err := free(c, s, hs[0]); err != nil {
		t.Fatal(err)
	}
	c.Flush()
	if _, _, err := s.Alloc(); !errors.Is(err, offheap.ErrFull) {
		t.Fatalf("Alloc during the grace period: %v; want ErrFull", err)
	}
	if p0.X != 7 {
		t.Fatalf("value changed under an open guard: %+v", *p0)
	}
	if st := s.Stats(); st.Pending != 1 || st.Live != 2 {
		t.Fatalf("Stats = %+v; want Pending 1, Live 2", st)
	}
	reader.Exit()
	barrier(t, c)
	h, p := mustAlloc(t, s)
	if h.Index() != hs[0].Index() || *p != (point{}) {
		t.Fatalf("reused slot %v = %+v; want slot %d zeroed", h, *p, hs[0].Index())
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestUseAfterClose(t *testing.T) {
	c := newCollector(t)
	s := newSlab[point](t, c, 2)
	h, _ := mustAlloc(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Alloc(); !errors.Is(err, offheap.ErrClosed) {
		t.Errorf("Alloc after Close: %v", err)
	}
	if _, err := get(c, s, h); !errors.Is(err, offheap.ErrClosed) {
		t.Errorf("Get after Close: %v", err)
	}
	if err := free(c, s, h); !errors.Is(err, offheap.ErrClosed) {
		t.Errorf("Free after Close: %v", err)
	}
	if err := s.Close(); !errors.Is(err, offheap.ErrClosed) {
		t.Errorf("second Close: %v", err)
	}
}

func TestCloseWaitsForGuards(t *testing.T) {
	c := newCollector(t)
	s := newSlab[point](t, c, 2)
	h, _ := mustAlloc(t, s)
	g := c.Enter()
	p, err := s.Get(g, h)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := s.CloseContext(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("CloseContext with a guard open: %v; want DeadlineExceeded", err)
	}
	_ = p.X // still mapped: Close did not unmap under the open guard
	if _, err := s.Get(g, h); !errors.Is(err, offheap.ErrClosed) {
		t.Fatalf("Get while closing: %v", err)
	}
	g.Exit()
	if err := s.Close(); err != nil {
		t.Fatalf("Close after the guard exited: %v", err)
	}
}

func TestGuardMisusePanics(t *testing.T) {
	c := newCollector(t)
	other := newCollector(t)
	s := newSlab[point](t, c, 2)
	defer s.Close()
	h, _ := mustAlloc(t, s)
	expectPanic := func(name, want string, f func()) {
		t.Helper()
		defer func() {
			r := recover()
			if r == nil || !strings.Contains(r.(string), want) {
				t.Errorf("%s: panic %v; want one naming %q", name, r, want)
			}
		}()
		f()
	}
	expectPanic("Get nil guard", "nil guard", func() { _, _ = s.Get(nil, h) })
	expectPanic("Free nil guard", "nil guard", func() { _ = s.Free(nil, h) })
	g := other.Enter()
	defer g.Exit()
	expectPanic("Get foreign guard", "another collector", func() { _, _ = s.Get(g, h) })
	expectPanic("Free foreign guard", "another collector", func() { _ = s.Free(g, h) })
	// An exited guard panics before Free changes anything: the handle stays
	// live and a later Free succeeds.
	exited := c.Enter()
	exited.Exit()
	expectPanic("Get exited guard", "has exited", func() { _, _ = s.Get(exited, h) })
	expectPanic("Free exited guard", "has exited", func() { _ = s.Free(exited, h) })
	barrier(t, c)
	if st := s.Stats(); st.Live != 1 || st.Pending != 0 {
		t.Errorf("after the panics: Live %d, Pending %d; want 1 and 0", st.Live, st.Pending)
	}
	require.NoError(t, free(c, s, h), "Free after the panicking one")
}

func TestNilCollectorUsesDefault(t *testing.T) {
	s := newSlab[point](t, nil, 1)
	h, _ := mustAlloc(t, s)
	if err := free(epoch.Default(), s, h); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}
