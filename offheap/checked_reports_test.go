package offheap_test

// The checked mode's reports and the
// bad-input list (forged and stale handles, generation exhaustion, Close
// with guards open or frees in their grace period, write after free,
// errors.Is of every error, the return of the memory to the OS).

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/go-reclaim/reclaim/epoch"
	"github.com/go-reclaim/reclaim/offheap"
)

// The helpers below each make one call into the slab on the line after
// their runtime.Caller, and return that file:line and their caller's, so
// that a test can check that a report's stack starts exactly at the call
// (and tell two calls through the same helper apart).

func site(line int) string {
	_, file, _, _ := runtime.Caller(1)
	_, cfile, cline, _ := runtime.Caller(2)
	return fmt.Sprintf("%s:%d\n%s:%d", file, line+1, cfile, cline)
}

func allocSite(t testing.TB, s *offheap.Slab[point]) (offheap.Handle, *point, string) {
	t.Helper()
	_, _, line, _ := runtime.Caller(0)
	h, p, err := s.Alloc()
	require.NoError(t, err)
	return h, p, site(line)
}

func freeSite(c *epoch.Collector, s *offheap.Slab[point], h offheap.Handle) (string, error) {
	g := c.Enter()
	defer g.Exit()
	_, _, line, _ := runtime.Caller(0)
	err := s.Free(g, h)
	return site(line), err
}

func getSite(c *epoch.Collector, s *offheap.Slab[point], h offheap.Handle) (string, error) {
	g := c.Enter()
	defer g.Exit()
	_, _, line, _ := runtime.Caller(0)
	_, err := s.Get(g, h)
	return site(line), err
}

// getOrFree is getSite (op "Get") or freeSite (op "Free") without the site.
func getOrFree(c *epoch.Collector, s *offheap.Slab[point], op string, h offheap.Handle) error {
	if op == "Get" {
		_, err := getSite(c, s, h)
		return err
	}
	_, err := freeSite(c, s, h)
	return err
}

func allocSiteErr(s *offheap.Slab[point]) (string, error) {
	_, _, line, _ := runtime.Caller(0)
	_, _, err := s.Alloc()
	return site(line), err
}

// requireStackAt checks that stack (formatted as "\tfunc\n\t\tfile:line\n"
// per frame) starts at the function fn (a suffix) and the file:line site,
// and holds none of the checker's or the slab's own frames.
func requireStackAt(t testing.TB, what, stack, fn, site string) {
	t.Helper()
	lines := strings.Split(stack, "\n")
	require.GreaterOrEqual(t, len(lines), 4, "%s: short stack:\n%s", what, stack)
	require.True(t, strings.HasSuffix(strings.TrimSpace(lines[0]), fn),
		"%s: top frame %q is not %s; stack:\n%s", what, lines[0], fn, stack)
	top, caller, _ := strings.Cut(site, "\n")
	require.Equal(t, top, strings.TrimSpace(lines[1]), "%s: top frame's line; stack:\n%s", what, stack)
	require.Equal(t, caller, strings.TrimSpace(lines[3]), "%s: caller's line; stack:\n%s", what, stack)
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "github.com/go-reclaim/reclaim/offheap.") {
			t.Fatalf("%s: the stack holds the package's own frame %q:\n%s", what, l, stack)
		}
		if strings.HasPrefix(l, "runtime.Callers") {
			t.Fatalf("%s: the stack holds runtime.Callers:\n%s", what, stack)
		}
	}
}

// startsAt reports whether stack starts at site (its top frame's line
// and its caller's).
func startsAt(stack, site string) bool {
	lines := strings.Split(stack, "\n")
	top, caller, _ := strings.Cut(site, "\n")
	return len(lines) >= 4 && strings.TrimSpace(lines[1]) == top && strings.TrimSpace(lines[3]) == caller
}

// Every checked report's stacks start exactly at the caller's call of
// Alloc, Free and Get (not at the checker's frames, not one frame too far).
func TestCheckedStacksStartAtTheCall(t *testing.T) {
	c := newCollector(t)
	s := newSlab[point](t, c, 4, offheap.WithChecks())
	h, _, allocAt := allocSite(t, s)
	freeAt, err := freeSite(c, s, h)
	require.NoError(t, err)

	usedAt, err := getSite(c, s, h)
	var me *offheap.MisuseError
	require.ErrorAs(t, err, &me)
	require.ErrorIs(t, err, offheap.ErrStale)
	require.Equal(t, "Get", me.Op)
	require.Equal(t, h, me.Handle)
	requireStackAt(t, "use after free: AllocatedAt", me.AllocatedAt, "offheap_test.allocSite", allocAt)
	requireStackAt(t, "use after free: FreedAt", me.FreedAt, "offheap_test.freeSite", freeAt)
	requireStackAt(t, "use after free: UsedAt", me.UsedAt, "offheap_test.getSite", usedAt)
	require.NotContains(t, me.Detail, "reused")

	usedAt, err = freeSite(c, s, h)
	me = nil
	require.ErrorAs(t, err, &me)
	require.ErrorIs(t, err, offheap.ErrDoubleFree)
	require.Equal(t, "Free", me.Op)
	requireStackAt(t, "double free: AllocatedAt", me.AllocatedAt, "offheap_test.allocSite", allocAt)
	requireStackAt(t, "double free: FreedAt", me.FreedAt, "offheap_test.freeSite", freeAt)
	requireStackAt(t, "double free: UsedAt", me.UsedAt, "offheap_test.freeSite", usedAt)
	msg := err.Error()
	for _, want := range []string{"double free", "Free", h.String(), "allocated at:", "freed at:", "used at:", me.AllocatedAt, me.FreedAt, me.UsedAt} {
		require.Contains(t, msg, want)
	}
	require.NoError(t, s.Close())
}

// A use after free and a double free of a handle whose slot was reused
// since (the common case: the free list is LIFO, so the next Alloc after
// the grace period takes it, the ABA case the generations exist for) are
// reported with that handle's own allocation and free stacks, never the
// new allocation's, also after the new handle is freed in turn. Checked
// mode kept only the slot's latest stacks, and such reports lacked the
// allocation's without saying so (found by an independent review).
func TestCheckedReportsAfterReuseNameTheHandlesOwnStacks(t *testing.T) {
	c := newCollector(t)
	s := newSlab[point](t, c, 1, offheap.WithChecks())
	h1, _, alloc1 := allocSite(t, s)
	free1, err := freeSite(c, s, h1)
	require.NoError(t, err)
	barrier(t, c)
	h2, _, alloc2 := allocSite(t, s)
	require.Equal(t, h1.Index(), h2.Index())

	check := func(stage string) {
		for _, op := range []string{"Get", "Free"} {
			err := getOrFree(c, s, op, h1)
			var me *offheap.MisuseError
			require.ErrorAs(t, err, &me, "%s %s", stage, op)
			if op == "Free" {
				require.ErrorIs(t, err, offheap.ErrDoubleFree)
			}
			require.True(t, startsAt(me.AllocatedAt, alloc1), "%s %s: the old handle's report lacks its allocation or shows another:\n%v", stage, op, err)
			require.True(t, startsAt(me.FreedAt, free1), "%s %s: the old handle's report lacks its free or shows another:\n%v", stage, op, err)
		}
	}
	check("slot reused")
	free2, err := freeSite(c, s, h2)
	require.NoError(t, err)
	check("reused slot freed again")
	// And h2's own report names h2's sites.
	_, err = getSite(c, s, h2)
	var me *offheap.MisuseError
	require.ErrorAs(t, err, &me)
	require.True(t, startsAt(me.AllocatedAt, alloc2), "%v", err)
	require.True(t, startsAt(me.FreedAt, free2), "%v", err)
	require.NoError(t, s.Close())
}

// Forged handles in checked mode: each is ErrStale saying forged, with no
// stack borrowed from a real allocation, and a failed Free of one leaves
// the slot's records alone (a later report about the real handle still
// names its own free).
func TestCheckedForgedHandles(t *testing.T) {
	c := newCollector(t)
	s := newSlab[point](t, c, 8, offheap.WithChecks())
	h, _, allocAt := allocSite(t, s)
	other, _, _ := allocSite(t, s)
	idx, gen := uint64(h.Index()), uint64(h.Generation())
	forged := map[string]offheap.Handle{
		"zero":                       0,
		"all ones":                   ^offheap.Handle(0),
		"generation all ones":        offheap.Handle(math.MaxUint32<<32 | idx),
		"generation 0, live slot":    offheap.Handle(idx),
		"even generation":            offheap.Handle((gen+1)<<32 | idx),
		"future odd generation":      offheap.Handle((gen+2)<<32 | idx),
		"never-allocated slot":       offheap.Handle(1<<32 | 5),
		"never-allocated slot, gen0": offheap.Handle(5),
		"never-allocated slot, gen2": offheap.Handle(2<<32 | 5),
		"index = capacity":           offheap.Handle(gen<<32 | 8),
		"index max":                  offheap.Handle(gen<<32 | math.MaxUint32),
	}
	for name, f := range forged {
		for _, op := range []string{"Get", "Free"} {
			err := getOrFree(c, s, op, f)
			var me *offheap.MisuseError
			require.ErrorAs(t, err, &me, "%s(%s %v)", op, name, f)
			require.ErrorIs(t, err, offheap.ErrStale, "%s(%s %v)", op, name, f)
			require.Contains(t, me.Detail, "forged", "%s(%s)", op, name)
			require.Equal(t, f, me.Handle)
			require.Equal(t, op, me.Op)
			require.Empty(t, me.AllocatedAt, "%s(%s): a forged handle's report borrows an allocation stack", op, name)
			require.Empty(t, me.FreedAt, "%s(%s)", op, name)
			require.Contains(t, err.Error(), f.String())
		}
	}
	st := s.Stats()
	require.Equal(t, int64(2), st.Live)
	require.Equal(t, int64(0), st.Pending)
	require.Equal(t, 2, st.Touched, "a forged handle made a slot touched")

	freeAt, err := freeSite(c, s, h)
	require.NoError(t, err)
	// A forged Free of the freed slot's next odd generation fails and must
	// not replace the record of h's free.
	_, err = freeSite(c, s, offheap.Handle((gen+2)<<32|idx))
	require.ErrorIs(t, err, offheap.ErrStale)
	_, err = getSite(c, s, h)
	var me *offheap.MisuseError
	require.ErrorAs(t, err, &me)
	requireStackAt(t, "FreedAt after a forged Free", me.FreedAt, "offheap_test.freeSite", freeAt)
	requireStackAt(t, "AllocatedAt after a forged Free", me.AllocatedAt, "offheap_test.allocSite", allocAt)
	require.NoError(t, free(c, s, other))
	require.NoError(t, s.Close())
}

// The largest capacity: the last index is valid, the all-ones index is
// not, and no index arithmetic overflows.
func TestMaxCapacityEdges(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) < 8 {
		t.Skip("64-bit only")
	}
	c := newCollector(t)
	maxCap := uint64(math.MaxUint32) // a variable: the constant overflows int on 32-bit systems, where the test skips
	s, err := offheap.NewSlab[uint64](c, int(maxCap))
	if errors.Is(err, offheap.ErrSize) {
		t.Skipf("64 GiB of address space not available here: %v", err)
	}
	require.NoError(t, err)
	for _, f := range []offheap.Handle{^offheap.Handle(0), offheap.Handle(1<<32 | (math.MaxUint32 - 1))} {
		g := c.Enter()
		_, err := s.Get(g, f)
		require.ErrorIs(t, err, offheap.ErrStale, "Get(%v)", f)
		require.ErrorIs(t, s.Free(g, f), offheap.ErrStale, "Free(%v)", f)
		g.Exit()
	}
	require.Panics(t, func() { s.Peek(^offheap.Handle(0)) })
	h, p, err := s.Alloc()
	require.NoError(t, err)
	*p = 7
	require.Equal(t, uint64(7), *s.Peek(h))
	require.NoError(t, offheap.FreeInGuard(c, s, h))
	require.NoError(t, s.Close())
}

// A handle from the slot's first generation stays dead through every
// generation up to the limit (no wrap-around brings it back), in both
// modes; generations only grow; at the limit the slot is retired and
// Alloc fails with ErrFull, not a crash.
func TestGenerationNeverWraps(t *testing.T) {
	for _, checked := range []bool{false, true} {
		t.Run(fmt.Sprintf("checked=%v", checked), func(t *testing.T) {
			var opts []offheap.Option
			if checked {
				opts = append(opts, offheap.WithChecks())
			}
			c := newCollector(t)
			s := newSlab[point](t, c, 1, opts...)
			h0, p, err := s.Alloc()
			require.NoError(t, err)
			p.X = 1
			require.NoError(t, free(c, s, h0))
			barrier(t, c)
			h, _, err := s.Alloc()
			require.NoError(t, err)
			h = s.SetGeneration(h, math.MaxUint32-6) // 4 cycles before the limit
			last := h.Generation()
			allocs := 0
			for {
				require.NoError(t, free(c, s, h))
				barrier(t, c)
				for _, old := range []offheap.Handle{h0, h} {
					_, err := get(c, s, old)
					require.ErrorIs(t, err, offheap.ErrStale, "Get(%v)", old)
					require.ErrorIs(t, free(c, s, old), offheap.ErrDoubleFree, "Free(%v)", old)
				}
				h, _, err = s.Alloc()
				if err != nil {
					require.ErrorIs(t, err, offheap.ErrFull)
					break
				}
				allocs++
				require.Less(t, allocs, 10, "the slot is reused past its generation limit: %v", h)
				require.Greater(t, h.Generation(), last, "generation went back: %v after %d", h, last)
				require.Equal(t, uint32(1), h.Generation()&1)
				last = h.Generation()
			}
			require.Equal(t, 2, allocs)
			require.Equal(t, uint32(math.MaxUint32-2), last, "the last live generation")
			st := s.Stats()
			require.Equal(t, 1, st.Dead)
			require.Zero(t, st.Live)
			require.Zero(t, st.Pending)
			require.NoError(t, s.Close())
		})
	}
}

// pokeAt writes one byte at offset off of a freed value, through the
// pointer the caller kept: the bug checked mode is there to catch.
func pokeAt(p *point, off uintptr) {
	*(*byte)(unsafe.Add(unsafe.Pointer(p), off)) = 0x42
}

// A write after free and grace period, at any byte of the value (first,
// middle, last), fails the Alloc that would reuse the slot with
// ErrCorrupted naming the slot's last handle, the byte, and the stacks of
// that handle's allocation and free; the slot is quarantined, not handed
// out, and the old handle still reports cleanly.
func TestCheckedWriteAfterFreeReport(t *testing.T) {
	size := unsafe.Sizeof(point{})
	for _, off := range []uintptr{0, size / 2, size - 1} {
		t.Run(fmt.Sprint(off), func(t *testing.T) {
			c := newCollector(t)
			s := newSlab[point](t, c, 2, offheap.WithChecks())
			h, p, allocAt := allocSite(t, s)
			freeAt, err := freeSite(c, s, h)
			require.NoError(t, err)
			barrier(t, c)
			pokeAt(p, off)

			usedAt, err := allocSiteErr(s)
			var me *offheap.MisuseError
			require.ErrorAs(t, err, &me)
			require.ErrorIs(t, err, offheap.ErrCorrupted)
			require.Equal(t, "Alloc", me.Op)
			require.Equal(t, h, me.Handle, "the report names the slot's last handle")
			require.Contains(t, me.Detail, fmt.Sprintf("byte %d ", off))
			requireStackAt(t, "corrupted: AllocatedAt", me.AllocatedAt, "offheap_test.allocSite", allocAt)
			requireStackAt(t, "corrupted: FreedAt", me.FreedAt, "offheap_test.freeSite", freeAt)
			if me.UsedAt != "" {
				requireStackAt(t, "corrupted: UsedAt", me.UsedAt, "offheap_test.allocSiteErr", usedAt)
			}

			h2, p2, _ := allocSite(t, s)
			require.NotEqual(t, h.Index(), h2.Index(), "the corrupted slot was handed out")
			require.Equal(t, point{}, *p2)
			_, _, err = s.Alloc()
			require.ErrorIs(t, err, offheap.ErrFull, "the quarantined slot is not reused")
			require.Equal(t, 1, s.Stats().Dead)

			_, err = getSite(c, s, h)
			me = nil
			require.ErrorAs(t, err, &me)
			require.ErrorIs(t, err, offheap.ErrStale)
			require.True(t, startsAt(me.FreedAt, freeAt), "%v", err)
			require.ErrorIs(t, free(c, s, h), offheap.ErrDoubleFree)
			require.NoError(t, free(c, s, h2))
			require.NoError(t, s.Close(), "a quarantined slot is no leak")
		})
	}
}

// Poison lands only when the grace period ends: a reader whose guard was
// open at Free reads the value intact while it waits, also while Close
// waits for it; Close then reports no leak for the slot freed in its
// grace period, and the leak report names the one never freed.
func TestCheckedCloseWithGuardOpenAndFreeInGrace(t *testing.T) {
	c := newCollector(t)
	s := newSlab[point](t, c, 4, offheap.WithChecks())
	h, p, _ := allocSite(t, s)
	*p = point{X: 11, Y: 22, Tag: [4]byte{1, 2, 3, 4}}
	leaked, _, leakAt := allocSite(t, s)

	reader := make(chan struct{})
	done := make(chan point)
	release := make(chan struct{})
	go func() {
		g := c.Enter()
		v, err := s.Get(g, h)
		if err != nil {
			panic(err)
		}
		close(reader)
		<-release
		done <- *v // still h's value: the guard is open
		g.Exit()
		close(done)
	}()
	<-reader
	require.NoError(t, free(c, s, h))
	c.Flush()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.CloseContext(ctx)
	require.ErrorIs(t, err, context.Canceled, "CloseContext with a guard open")
	require.NotErrorIs(t, err, offheap.ErrLeaked)
	// Closed from now on, mapped still.
	_, err = get(c, s, leaked)
	require.ErrorIs(t, err, offheap.ErrClosed)
	require.ErrorIs(t, free(c, s, leaked), offheap.ErrClosed)
	_, _, err = s.Alloc()
	require.ErrorIs(t, err, offheap.ErrClosed)
	close(release)
	require.Equal(t, point{X: 11, Y: 22, Tag: [4]byte{1, 2, 3, 4}}, <-done, "the reader's value was poisoned or reused under its guard")
	<-done

	err = s.Close()
	var le *offheap.LeakError
	require.ErrorAs(t, err, &le)
	require.ErrorIs(t, err, offheap.ErrLeaked)
	require.Len(t, le.Leaks, 1, "leaks: %v", err)
	require.Equal(t, leaked, le.Leaks[0].Handle)
	requireStackAt(t, "leak", le.Leaks[0].AllocatedAt, "offheap_test.allocSite", leakAt)
	require.Zero(t, s.Stats().Pending, "the free in its grace period was reclaimed by Close")
	require.ErrorIs(t, s.Close(), offheap.ErrClosed)
}

// The leak report lists every live slot exactly once, sorted by index,
// with the stack of its latest allocation (not an earlier one of the same
// slot), and nothing freed or pending; the message shows the first ten.
func TestCheckedLeakReportContents(t *testing.T) {
	c := newCollector(t)
	const n = 40
	s := newSlab[point](t, c, n, offheap.WithChecks())
	type rec struct {
		h    offheap.Handle
		site string
	}
	live := map[uint32]rec{}
	var all []offheap.Handle
	for range n {
		h, _, at := allocSite(t, s)
		live[h.Index()] = rec{h, at}
		all = append(all, h)
	}
	// Free every third; reallocate some of them (their slots leak with the
	// new allocation's site); leave others freed, one still in its grace
	// period under an open guard at Close's start.
	for i := 0; i < n; i += 3 {
		require.NoError(t, free(c, s, all[i]))
		delete(live, all[i].Index())
	}
	barrier(t, c)
	for range 5 {
		h, _, at := allocSite(t, s)
		_, dup := live[h.Index()]
		require.False(t, dup)
		live[h.Index()] = rec{h, at}
	}
	var pendingH, probe offheap.Handle
	for idx, r := range live {
		if pendingH == 0 {
			pendingH = r.h
			delete(live, idx)
		} else {
			probe = r.h
		}
	}
	g := c.Enter()
	require.NoError(t, s.Free(g, pendingH))
	closed := make(chan error)
	go func() { closed <- s.Close() }()
	for {
		_, err := s.Get(g, probe)
		if errors.Is(err, offheap.ErrClosed) {
			break
		}
		require.NoError(t, err)
		runtime.Gosched()
	}
	g.Exit()
	err := <-closed
	var le *offheap.LeakError
	require.ErrorAs(t, err, &le)
	require.ErrorIs(t, err, offheap.ErrLeaked)
	require.Len(t, le.Leaks, len(live))
	seen := map[uint32]bool{}
	for i, l := range le.Leaks {
		if i > 0 {
			require.Less(t, le.Leaks[i-1].Handle.Index(), l.Handle.Index(), "not sorted by index")
		}
		require.False(t, seen[l.Handle.Index()], "slot %d listed twice", l.Handle.Index())
		seen[l.Handle.Index()] = true
		r, ok := live[l.Handle.Index()]
		require.True(t, ok, "%v listed but not live", l.Handle)
		require.Equal(t, r.h, l.Handle)
		requireStackAt(t, "leak "+l.Handle.String(), l.AllocatedAt, "offheap_test.allocSite", r.site)
	}
	msg := err.Error()
	require.Contains(t, msg, fmt.Sprintf("%d still allocated at Close", len(live)))
	require.Contains(t, msg, fmt.Sprintf("... and %d more", len(live)-10))
	require.Equal(t, 10, strings.Count(msg, "allocated at:"))
}

// mapped reports whether every page of b is mapped (madvise fails with
// ENOMEM for a range with an unmapped page).
func mapped(t *testing.T, b []byte) bool {
	t.Helper()
	err := unix.Madvise(b, unix.MADV_NORMAL)
	if errors.Is(err, unix.ENOMEM) {
		return false
	}
	require.NoError(t, err)
	return true
}

// Close returns the slab's whole reservation to the OS, in both modes,
// also with live values (dropped, or reported in checked mode); Array's
// Free returns its block.
func TestCloseReturnsMemoryToTheOS(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("mmap on Linux only")
	}
	for _, checked := range []bool{false, true} {
		var opts []offheap.Option
		if checked {
			opts = append(opts, offheap.WithChecks())
		}
		c := newCollector(t)
		const n = 1 << 20 // 32 MiB of slots of 32 bytes
		s := newSlab[point](t, c, n, opts...)
		_, p, err := s.Alloc()
		require.NoError(t, err)
		st := s.Stats()
		require.Equal(t, n*32, st.Bytes)
		block := unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(p), -8)), st.Bytes)
		require.Zero(t, uintptr(unsafe.Pointer(&block[0]))%4096, "slot 0's header is the start of the mapping")
		require.True(t, mapped(t, block))
		err = s.Close()
		if checked {
			require.ErrorIs(t, err, offheap.ErrLeaked)
		} else {
			require.NoError(t, err)
		}
		require.False(t, mapped(t, block), "checked=%v: the block is still mapped after Close", checked)
	}

	a, err := offheap.NewArray[point](1 << 20)
	require.NoError(t, err)
	vals := a.Slice()
	block := unsafe.Slice((*byte)(unsafe.Pointer(&vals[0])), a.Bytes())
	require.True(t, mapped(t, block))
	require.NoError(t, a.Free())
	require.False(t, mapped(t, block), "the Array is still mapped after Free")
}

// Every error the slab and Array return wraps its sentinel, and names the
// operation.
func TestErrorsWrapSentinels(t *testing.T) {
	c := newCollector(t)
	type withPtr struct {
		A [2]struct {
			B uintptr
			C [1]map[int]int
		}
	}
	_, err := offheap.NewSlab[withPtr](c, 1)
	require.ErrorIs(t, err, offheap.ErrPointers)
	require.Contains(t, err.Error(), ".A[].C[] is a map")
	_, err = offheap.NewArray[withPtr](1)
	require.ErrorIs(t, err, offheap.ErrPointers)
	_, err = offheap.NewSlab[[1 << 20]byte](c, math.MaxInt32)
	require.ErrorIs(t, err, offheap.ErrSize)
	require.ErrorIs(t, err, unix.ENOMEM, "the OS's error is kept")

	for _, checked := range []bool{false, true} {
		var opts []offheap.Option
		if checked {
			opts = append(opts, offheap.WithChecks())
		}
		s := newSlab[point](t, c, 1, opts...)
		h, _ := mustAlloc(t, s)
		_, _, err = s.Alloc()
		require.ErrorIs(t, err, offheap.ErrFull)
		require.Contains(t, err.Error(), "all 1 slots")
		_, err = get(c, s, h+1<<32)
		require.ErrorIs(t, err, offheap.ErrStale)
		require.NoError(t, free(c, s, h))
		require.ErrorIs(t, free(c, s, h), offheap.ErrDoubleFree)
		_, err = get(c, s, h)
		require.ErrorIs(t, err, offheap.ErrStale)
		require.NotErrorIs(t, err, offheap.ErrDoubleFree)
		require.NoError(t, s.Close())
		for name, err := range map[string]error{
			"Alloc": func() error { _, _, err := s.Alloc(); return err }(),
			"Get":   func() error { _, err := get(c, s, h); return err }(),
			"Free":  free(c, s, h),
			"Close": s.Close(),
		} {
			require.ErrorIs(t, err, offheap.ErrClosed, name)
			require.Contains(t, err.Error(), name)
			var me *offheap.MisuseError
			require.False(t, errors.As(err, &me), "%s after Close: not a misuse report", name)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		require.ErrorIs(t, s.CloseContext(ctx), offheap.ErrClosed, "CloseContext after Close")
	}
}

// Checked mode keeps the stacks of a slot's last four lives: a handle
// three reuses old still gets both, and one older than that gets a
// report that says its stacks are gone, rather than another life's.
func TestCheckedStacksOfOlderLives(t *testing.T) {
	c := newCollector(t)
	s := newSlab[point](t, c, 1, offheap.WithChecks())
	var hs []offheap.Handle
	var allocs, frees []string
	life := func(h offheap.Handle, a string, f string, err error) {
		require.NoError(t, err)
		barrier(t, c)
		hs, allocs, frees = append(hs, h), append(allocs, a), append(frees, f)
	}
	// Each life at its own lines, so that a report of another life's
	// stacks shows.
	h, _, a := allocSite(t, s)
	f, err := freeSite(c, s, h)
	life(h, a, f, err)
	h, _, a = allocSite(t, s)
	f, err = freeSite(c, s, h)
	life(h, a, f, err)
	h, _, a = allocSite(t, s)
	f, err = freeSite(c, s, h)
	life(h, a, f, err)
	h, _, a = allocSite(t, s)
	f, err = freeSite(c, s, h)
	life(h, a, f, err)
	h, _, a = allocSite(t, s)
	f, err = freeSite(c, s, h)
	life(h, a, f, err)
	for k := 1; k < 5; k++ {
		_, err := getSite(c, s, hs[k])
		var me *offheap.MisuseError
		require.ErrorAs(t, err, &me)
		require.True(t, startsAt(me.AllocatedAt, allocs[k]), "life %d:\n%v", k, err)
		require.True(t, startsAt(me.FreedAt, frees[k]), "life %d:\n%v", k, err)
	}
	_, err = getSite(c, s, hs[0])
	var me *offheap.MisuseError
	require.ErrorAs(t, err, &me)
	require.Empty(t, me.AllocatedAt)
	require.Empty(t, me.FreedAt)
	require.Contains(t, me.Detail, "no longer recorded")
	require.NoError(t, s.Close())
}

// CloseContext with a nil context panics before it changes anything: the
// slab stays open and a later Close closes it.
func TestCloseContextNilPanicsFirst(t *testing.T) {
	c := newCollector(t)
	s := newSlab[point](t, c, 4)
	var none context.Context // nil
	require.PanicsWithValue(t, "offheap: CloseContext with a nil context", func() { _ = s.CloseContext(none) })
	h, _, err := s.Alloc()
	require.NoError(t, err, "the slab was closed by the failed CloseContext")
	require.NoError(t, offheap.FreeInGuard(c, s, h))
	require.NoError(t, s.Close())

	a, err := offheap.NewArena(c, 1<<12, 64)
	require.NoError(t, err)
	require.PanicsWithValue(t, "offheap: CloseContext with a nil context", func() { _ = a.CloseContext(none) })
	_, _, err = a.Alloc(64)
	require.NoError(t, err, "the last class was closed by the failed CloseContext")
	require.NoError(t, a.Close())
}
