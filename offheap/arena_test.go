package offheap_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-reclaim/reclaim/epoch"
	"github.com/go-reclaim/reclaim/offheap"
	"github.com/stretchr/testify/require"
)

func newArena(t testing.TB, c *epoch.Collector, maxBytes, maxRegion int, opts ...offheap.Option) *offheap.Arena {
	t.Helper()
	a, err := offheap.NewArena(c, maxBytes, maxRegion, opts...)
	if err != nil {
		t.Fatalf("NewArena: %v", err)
	}
	return a
}

func freeRef(c *epoch.Collector, a *offheap.Arena, r offheap.Ref) error {
	g := c.Enter()
	defer g.Exit()
	return a.Free(g, r)
}

func bytesOf(c *epoch.Collector, a *offheap.Arena, r offheap.Ref) ([]byte, error) {
	g := c.Enter()
	defer g.Exit()
	b, err := a.Bytes(g, r)
	return bytes.Clone(b), err
}

func TestArenaRoundTrip(t *testing.T) {
	c := newCollector(t)
	a := newArena(t, c, 1<<16, 1000)
	for _, n := range []int{1, 15, 16, 17, 100, 1000} {
		r, b, err := a.Alloc(n)
		if err != nil || len(b) != n || r.Len() != n {
			t.Fatalf("Alloc(%d) = %v, len %d, %v", n, r, len(b), err)
		}
		for i := range b {
			b[i] = byte(n + i)
		}
		got, err := bytesOf(c, a, r)
		if err != nil || !bytes.Equal(got, b) {
			t.Fatalf("Bytes(%v) = %v, %v", r, got, err)
		}
		if err := freeRef(c, a, r); err != nil {
			t.Fatal(err)
		}
		if _, err := bytesOf(c, a, r); !errors.Is(err, offheap.ErrStale) {
			t.Fatalf("Bytes after Free: %v", err)
		}
		if err := freeRef(c, a, r); !errors.Is(err, offheap.ErrDoubleFree) {
			t.Fatalf("second Free: %v", err)
		}
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestArenaBadSizes(t *testing.T) {
	c := newCollector(t)
	// {100, 100}: a region of 100 bytes takes the 128-byte class, which
	// would never fit the budget.
	for _, args := range [][2]int{{0, 16}, {-1, 16}, {1024, 0}, {1024, -5}, {100, 200}, {100, 100}, {8, 8}} {
		if _, err := offheap.NewArena(c, args[0], args[1]); !errors.Is(err, offheap.ErrSize) {
			t.Errorf("NewArena(%d, %d): %v; want ErrSize", args[0], args[1], err)
		}
	}
	a := newArena(t, c, 4096, 64)
	// 101 bytes fits the class of maxRegion 100 (128 bytes), but not
	// maxRegion.
	b := newArena(t, c, 4096, 100)
	for _, n := range []int{0, -1, 65} {
		if _, _, err := a.Alloc(n); !errors.Is(err, offheap.ErrSize) {
			t.Errorf("Alloc(%d) with maxRegion 64: %v; want ErrSize", n, err)
		}
	}
	if _, _, err := b.Alloc(101); !errors.Is(err, offheap.ErrSize) {
		t.Errorf("Alloc(101) with maxRegion 100: %v; want ErrSize", err)
	}
	r, _, err := b.Alloc(100)
	require.NoError(t, err, "Alloc(maxRegion)")
	require.NoError(t, freeRef(c, b, r))
	require.NoError(t, a.Close())
	require.NoError(t, b.Close())
}

// A CloseContext whose context ends between two size classes leaves the
// rest to a later Close, which must report what those classes hold (here a
// leaked region) rather than the ErrClosed of the classes already closed.
func TestArenaCloseRetryReportsLeaks(t *testing.T) {
	c := epoch.New(epoch.WithMaxBatchAge(0))
	defer c.Close()
	a, err := offheap.NewArena(c, 1<<12, 32, offheap.WithChecks()) // classes 16 and 32
	require.NoError(t, err)
	_, _, err = a.Alloc(20) // class 1, leaked
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// A free function that class 0's Barrier runs opens a guard on another
	// goroutine, so class 1's Barrier has to wait for it, and the ended
	// context makes that Barrier fail.
	entered, release, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
	g := c.Enter()
	epoch.Retire(g, new(int), func(*int) {
		go func() {
			defer close(done)
			h := c.Enter()
			close(entered)
			<-release
			h.Exit()
		}()
		<-entered
	})
	g.Exit()
	first := a.CloseContext(ctx)
	close(release)
	<-done
	require.ErrorIs(t, first, context.Canceled, "class 1 waited for the open guard")
	require.NotErrorIs(t, first, offheap.ErrClosed)
	second := a.Close()
	require.ErrorIs(t, second, offheap.ErrLeaked, "the retried Close reports the region leaked in class 1")
	require.NotErrorIs(t, second, offheap.ErrClosed)
	require.ErrorIs(t, a.Close(), offheap.ErrClosed, "a third Close, every class closed before it")
}

func TestArenaBudget(t *testing.T) {
	c := newCollector(t)
	a := newArena(t, c, 256, 128)
	r1, _, err := a.Alloc(100) // 128-byte class
	if err != nil {
		t.Fatal(err)
	}
	r2, _, err := a.Alloc(65) // 128
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Alloc(1); !errors.Is(err, offheap.ErrFull) {
		t.Fatalf("Alloc past the budget: %v; want ErrFull", err)
	}
	if err := freeRef(c, a, r1); err != nil {
		t.Fatal(err)
	}
	if a.Used() != 256 {
		t.Fatalf("Used = %d right after Free; want 256 (the grace period has not ended)", a.Used())
	}
	barrier(t, c)
	if a.Used() != 128 {
		t.Fatalf("Used = %d after the grace period; want 128", a.Used())
	}
	r3, _, err := a.Alloc(16)
	if err != nil {
		t.Fatalf("Alloc after the grace period: %v", err)
	}
	_ = freeRef(c, a, r2)
	_ = freeRef(c, a, r3)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestArenaForgedRefs(t *testing.T) {
	c := newCollector(t)
	a := newArena(t, c, 4096, 64)
	r, _, _ := a.Alloc(10)
	for _, f := range []offheap.Ref{{}} {
		if _, err := bytesOf(c, a, f); !errors.Is(err, offheap.ErrStale) {
			t.Errorf("Bytes(%v): %v; want ErrStale", f, err)
		}
		if err := freeRef(c, a, f); !errors.Is(err, offheap.ErrStale) {
			t.Errorf("Free(%v): %v; want ErrStale", f, err)
		}
	}
	_ = freeRef(c, a, r)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Alloc(1); !errors.Is(err, offheap.ErrClosed) {
		t.Errorf("Alloc after Close: %v", err)
	}
	if _, err := bytesOf(c, a, r); !errors.Is(err, offheap.ErrClosed) {
		t.Errorf("Bytes after Close: %v", err)
	}
	if err := freeRef(c, a, r); !errors.Is(err, offheap.ErrClosed) {
		t.Errorf("Free after Close: %v", err)
	}
	if err := a.Close(); !errors.Is(err, offheap.ErrClosed) {
		t.Errorf("second Close: %v", err)
	}
}

func leakRegion(t *testing.T, a *offheap.Arena, n int) offheap.Ref {
	r, _, err := a.Alloc(n)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestArenaChecked(t *testing.T) {
	c := newCollector(t)
	a := newArena(t, c, 4096, 256, offheap.WithChecks())
	r := leakRegion(t, a, 30)
	if err := freeRef(c, a, r); err != nil {
		t.Fatal(err)
	}
	_, err := bytesOf(c, a, r)
	var me *offheap.MisuseError
	if !errors.As(err, &me) || me.FreedAt == "" || !strings.Contains(me.AllocatedAt, "leakRegion") {
		t.Fatalf("use after free report: %v", err)
	}
	leakRegion(t, a, 200)
	leakRegion(t, a, 3)
	err = a.Close()
	var le *offheap.LeakError
	if !errors.Is(err, offheap.ErrLeaked) || !errors.As(err, &le) {
		t.Fatalf("Close: %v; want leaks", err)
	}
	if n := strings.Count(err.Error(), "leakRegion"); n != 2 {
		t.Fatalf("leak report names leakRegion %d times; want 2:\n%v", n, err)
	}
}

// As TestConcurrentReadersAndFrees, for regions of varying sizes.
func TestArenaConcurrent(t *testing.T) {
	c := newCollector(t)
	a := newArena(t, c, 1<<20, 512, offheap.WithChecks())
	const cells = 16
	var mu [cells]sync.Mutex // guards refs[i] (a Ref is two words)
	var refs [cells]offheap.Ref
	var ids atomic.Uint64
	fillRegion := func(b []byte) {
		id := ids.Add(1)
		for i := 0; i+8 <= len(b); i += 8 {
			binary.LittleEndian.PutUint64(b[i:], id)
		}
	}
	checkRegion := func(b []byte) error {
		if len(b) < 8 {
			return nil
		}
		id := binary.LittleEndian.Uint64(b)
		for i := 0; i+8 <= len(b); i += 8 {
			if v := binary.LittleEndian.Uint64(b[i:]); v != id {
				return fmt.Errorf("region changed under an open guard: word %d is %#x, word 0 %#x", i/8, v, id)
			}
		}
		return nil
	}
	for i := range refs {
		r, b, err := a.Alloc(8 + i*24)
		if err != nil {
			t.Fatal(err)
		}
		fillRegion(b)
		refs[i] = r
	}
	deadline := time.Now().Add(40 * time.Millisecond)
	var failed atomic.Bool
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 3))
			for time.Now().Before(deadline) && !failed.Load() {
				k := rng.IntN(cells)
				g := c.Enter()
				mu[k].Lock()
				r := refs[k]
				mu[k].Unlock()
				b, err := a.Bytes(g, r)
				if err == nil {
					for range 3 {
						if err := checkRegion(b); err != nil {
							if failed.CompareAndSwap(false, true) {
								t.Error(err)
							}
						}
						runtime.Gosched()
					}
				}
				if w%2 == 0 { // writers replace
					nr, nb, err := a.Alloc(8 + rng.IntN(500))
					if err == nil {
						fillRegion(nb)
						mu[k].Lock()
						old := refs[k]
						refs[k] = nr
						mu[k].Unlock()
						if err := a.Free(g, old); err != nil {
							t.Errorf("Free(%v): %v", old, err)
						}
					}
				}
				g.Exit()
			}
		})
	}
	wg.Wait()
	for _, r := range refs {
		if err := freeRef(c, a, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
}
