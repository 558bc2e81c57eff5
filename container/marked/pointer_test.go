package marked_test

import (
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/go-reclaim/reclaim/container/internal/ctest"
	"github.com/go-reclaim/reclaim/container/marked"
	"github.com/go-reclaim/reclaim/epoch"
	"github.com/go-reclaim/reclaim/hazard"
)

// Types of different sizes and alignments that Pointer accepts.
type (
	small uint16
	word  struct{ _ *int }
	odd   struct { // size 4, align 2
		_ uint16
		_ byte
	}
	large  [64]uint64
	nested struct {
		_ marked.Pointer[nested]
		_ int
	}
)

func TestZeroValue(t *testing.T) {
	var m marked.Pointer[word]
	p, mark := m.Load()
	require.Nil(t, p)
	require.False(t, mark)
}

// roundTrip checks every (pointer, mark) transition on a Pointer[T].
func roundTrip[T any](t *testing.T) {
	t.Helper()
	a, b := new(T), new(T)
	var m marked.Pointer[T]
	for _, c := range []struct {
		p    *T
		mark bool
	}{{a, false}, {a, true}, {nil, true}, {b, true}, {nil, false}, {b, false}} {
		m.Store(c.p, c.mark)
		p, mark := m.Load()
		require.Same(t, c.p, p)
		require.Equal(t, c.mark, mark)
	}
	// m holds (b, false).
	require.False(t, m.CompareAndSwap(b, true, a, false), "wrong mark")
	require.False(t, m.CompareAndSwap(a, false, a, true), "wrong pointer")
	require.True(t, m.TryMark(b))
	require.False(t, m.TryMark(b), "already marked")
	require.True(t, m.CompareAndSwap(b, true, nil, true))
	require.False(t, m.TryMark(nil), "marked nil")
	require.True(t, m.CompareAndSwap(nil, true, nil, false))
	require.True(t, m.TryMark(nil))
	p, mark := m.Load()
	require.Nil(t, p)
	require.True(t, mark)
}

func TestRoundTrip(t *testing.T) {
	t.Run("uint16", roundTrip[small])
	t.Run("word", roundTrip[word])
	t.Run("odd", roundTrip[odd])
	t.Run("large", roundTrip[large])
	t.Run("nested", roundTrip[nested])
}

// Types whose objects may share an address with a neighbour, or whose
// addresses may be odd, cannot be marked.
func TestTooSmall(t *testing.T) {
	require.PanicsWithValue(t, panicMsg, func() {
		var m marked.Pointer[byte]
		m.Store(new(byte), true)
	})
	require.PanicsWithValue(t, panicMsg, func() {
		var m marked.Pointer[struct{}]
		m.TryMark(new(struct{}))
	})
	require.PanicsWithValue(t, panicMsg, func() {
		var m marked.Pointer[[8]byte]
		x := new([8]byte)
		m.CompareAndSwap(nil, false, x, true)
	})
	// An unmarked pointer too: it may be odd, and read back as marked.
	require.PanicsWithValue(t, panicMsg, func() {
		var m marked.Pointer[byte]
		m.Store(new(byte), false)
	})
	require.PanicsWithValue(t, panicMsg, func() {
		var m marked.Pointer[[2]byte]
		m.CompareAndSwap(nil, false, new([2]byte), false)
	})
	// nil, marked or not, is fine for any T.
	var m marked.Pointer[byte]
	m.Store(nil, false)
	require.True(t, m.CompareAndSwap(nil, false, nil, true))
	p, mark := m.Load()
	require.Nil(t, p)
	require.True(t, mark)
}

const panicMsg = "marked: Pointer[T] needs T of at least 2 bytes, 2-byte aligned, to hold a non-nil pointer (one to a smaller T may be odd, which reads as marked)"

// TestModel compares random operations with a (pointer, mark) model.
func TestModel(t *testing.T) {
	objs := []*odd{nil, new(odd), new(odd), new(odd)}
	rapid.Check(t, func(rt *rapid.T) {
		var m marked.Pointer[odd]
		var mp *odd
		var mm bool
		gen := rapid.IntRange(0, len(objs)-1)
		for range rapid.IntRange(1, 50).Draw(rt, "ops") {
			switch rapid.IntRange(0, 2).Draw(rt, "op") {
			case 0:
				p, mark := objs[gen.Draw(rt, "p")], rapid.Bool().Draw(rt, "mark")
				m.Store(p, mark)
				mp, mm = p, mark
			case 1:
				op, om := objs[gen.Draw(rt, "oldP")], rapid.Bool().Draw(rt, "oldMark")
				np, nm := objs[gen.Draw(rt, "newP")], rapid.Bool().Draw(rt, "newMark")
				want := op == mp && om == mm
				if want {
					mp, mm = np, nm
				}
				require.Equal(rt, want, m.CompareAndSwap(op, om, np, nm))
			case 2:
				p := objs[gen.Draw(rt, "p")]
				want := p == mp && !mm
				if want {
					mm = true
				}
				require.Equal(rt, want, m.TryMark(p))
			}
			p, mark := m.Load()
			require.Same(rt, mp, p)
			require.Equal(rt, mm, mark)
		}
	})
}

func TestTryProtect(t *testing.T) {
	d := hazard.New(hazard.WithThreshold(1))
	hp := d.Acquire()
	a, b := new(word), new(word)
	var m marked.Pointer[word]
	m.Store(a, false)
	require.True(t, m.TryProtect(hp, a))
	require.False(t, m.TryProtect(hp, b), "other pointer")
	m.Store(a, true)
	require.False(t, m.TryProtect(hp, a), "marked")
	m.Store(nil, false)
	require.True(t, m.TryProtect(hp, nil))

	// A validated protection holds back reclamation of the object.
	m.Store(a, false)
	require.True(t, m.TryProtect(hp, a))
	m.Store(b, false)
	freed := false
	hazard.Retire(d, a, func(*word) { freed = true })
	for range 3 * hazard.DefaultThreshold { // force scans
		hazard.Retire(d, new(word), func(*word) {})
	}
	require.False(t, freed, "reclaimed while protected")
	hp.Release()
	require.NoError(t, d.Close())
	require.True(t, freed)
}

// canary is an object reachable only through marked links. The pointer
// field keeps it out of the tiny allocator, whose blocks hold several
// objects and are collected only as a whole.
type canary struct {
	id int64
	_  *int
}

// TestGC swaps objects in and out of marked Pointers from several
// goroutines while another runs the garbage collector in a loop. Each
// object is referenced only by a Pointer (marked about half the time) or by
// the local variables of the goroutine handling it; its cleanup reports it
// if a Pointer still referred to it: an encoding that hid the pointer from
// the collector would fail here. The first slots are never replaced, so
// their objects live through many collections, and each load checks that
// they still hold their own id. At the end every object must be collected:
// nor may the encoding leak.
func TestGC(t *testing.T) {
	const slots, stable, workers = 64, 16, 4
	var ms [slots]marked.Pointer[canary]
	var ids [stable]int64
	var live sync.Map // ids of the canaries that a Pointer refers to
	var next, collected, early atomic.Int64
	fresh := func() *canary {
		c := &canary{id: next.Add(1)}
		live.Store(c.id, true)
		runtime.AddCleanup(c, func(id int64) {
			if _, ok := live.Load(id); ok {
				early.Add(1)
			}
			collected.Add(1)
		}, c.id)
		return c
	}
	for i := range ms {
		c := fresh()
		if i < stable {
			ids[i] = c.id
		}
		ms[i].Store(c, i%2 == 0)
	}

	stop := make(chan struct{})
	var gcs sync.WaitGroup
	gcs.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				runtime.GC()
			}
		}
	})
	deadline := time.Now().Add(300 * time.Millisecond)
	ctest.Run(workers, 1, func(w int, _ *rand.Rand) {
		for i := w; time.Now().Before(deadline); i++ {
			m := &ms[i%slots]
			p, mark := m.Load()
			if i%slots < stable {
				if p.id != ids[i%slots] || mark != (i%2 == 0) {
					t.Errorf("slot %d holds (id %d, %v), want (id %d, %v)", i%slots, p.id, mark, ids[i%slots], i%2 == 0)
					return
				}
				continue
			}
			n := fresh()
			if m.CompareAndSwap(p, mark, n, !mark) {
				live.Delete(p.id) // p stays alive until KeepAlive
			} else {
				live.Delete(n.id)
			}
			runtime.KeepAlive(p)
			runtime.KeepAlive(n)
		}
	})
	close(stop)
	gcs.Wait()

	for i := range ms {
		p, _ := ms[i].Load()
		live.Delete(p.id)
		ms[i].Store(nil, i%2 == 0)
		runtime.KeepAlive(p)
	}
	made := next.Load()
	require.Eventually(t, func() bool {
		runtime.GC()
		return collected.Load() == made
	}, 10*time.Second, time.Millisecond, "objects leaked: %d of %d collected", collected.Load(), made)
	require.Zero(t, early.Load(), "objects collected while a Pointer referred to them")
}

func TestTryReserveClassic(t *testing.T) {
	c := epoch.New()
	g := c.Enter()
	a, b := new(word), new(word)
	var m marked.Pointer[word]
	m.Store(a, true)
	// A classic guard protects whatever it loaded: nothing to validate.
	require.True(t, m.TryReserve(g, a))
	require.True(t, m.TryReserve(g, b))
	g.Exit()
	require.Panics(t, func() { m.TryReserve(g, a) }, "exited guard")
	require.NoError(t, c.Close())
}

// robustReader is a robust collector of single-object batches whose Pool
// records the nodes it reclaims, with an open reader guard and a writer
// Handle, on one goroutine.
type robustReader struct {
	c         *epoch.Collector
	pool      *epoch.Pool[word]
	reader    *epoch.Guard
	writer    *epoch.Handle
	reclaimed map[*word]bool
}

func newRobustReader() *robustReader {
	r := &robustReader{reclaimed: map[*word]bool{}}
	r.c = epoch.New(epoch.WithRobust(), epoch.WithBatchSize(1), epoch.WithMaxBatchAge(0))
	r.pool = epoch.NewPool(r.c, epoch.OnReclaim(func(x *word) { r.reclaimed[x] = true }))
	r.reader = r.c.Enter()
	r.writer = r.c.Register()
	return r
}

// advance moves the era on: a retire seals a batch.
func (r *robustReader) advance() {
	g := r.writer.Enter()
	r.pool.Retire(g, r.pool.Get(g))
	g.Exit()
}

// publish stores a new node, born now, in m.
func (r *robustReader) publish(m *marked.Pointer[word]) *word {
	g := r.writer.Enter()
	x := r.pool.Get(g)
	m.Store(x, false)
	g.Exit()
	return x
}

// unlink clears m and retires x, then collects what it can.
func (r *robustReader) unlink(m *marked.Pointer[word], x *word) {
	g := r.writer.Enter()
	m.Store(nil, false)
	r.pool.Retire(g, x)
	g.Exit()
	r.c.Flush()
}

func (r *robustReader) close(t *testing.T) {
	r.reader.Exit()
	r.writer.Unregister()
	require.NoError(t, r.c.Close())
}

// A robust guard holds back a node born after its reservation only once
// TryReserve has reported it protected; without it the node is reclaimed
// under the reader, which is what the stress tests' race reports catch.
func TestTryReserveHoldsBack(t *testing.T) {
	for _, reserve := range []bool{false, true} {
		r := newRobustReader()
		var m marked.Pointer[word]
		r.advance() // the reader's reservation is now behind the era
		a := r.publish(&m)
		p, _ := m.Load()
		if reserve {
			require.True(t, m.TryReserve(r.reader, p))
			require.True(t, r.reader.Reserve(), "TryReserve leaves the reservation current")
		}
		r.unlink(&m, a)
		require.Equal(t, !reserve, r.reclaimed[a], "reclaimed while the reader holds it (reserved: %v)", reserve)
		r.close(t)
		require.True(t, r.reclaimed[a], "Close reclaims it")
	}
}

// After Reserve extends the reservation, TryReserve validates against m:
// a changed or marked field fails.
func TestTryReserveValidates(t *testing.T) {
	for _, c := range []struct {
		name  string
		store func(m *marked.Pointer[word], a, b *word)
		want  bool
	}{
		{"unchanged", func(m *marked.Pointer[word], a, b *word) {}, true},
		{"other pointer", func(m *marked.Pointer[word], a, b *word) { m.Store(b, false) }, false},
		{"marked", func(m *marked.Pointer[word], a, b *word) { m.Store(a, true) }, false},
		{"nil", func(m *marked.Pointer[word], a, b *word) { m.Store(nil, false) }, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newRobustReader()
			var m marked.Pointer[word]
			a := r.publish(&m)
			p, _ := m.Load()
			b := new(word)
			c.store(&m, a, b)
			r.advance()
			require.Equal(t, c.want, m.TryReserve(r.reader, p))
			r.close(t)
		})
	}
	t.Run("current", func(t *testing.T) {
		// Without an era change in between, the load itself was covered.
		r := newRobustReader()
		var m marked.Pointer[word]
		r.publish(&m)
		r.reader.Reserve()
		p, _ := m.Load()
		m.Store(nil, true)
		require.True(t, m.TryReserve(r.reader, p))
		r.close(t)
	})
}
