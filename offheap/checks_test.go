package offheap_test

import (
	"errors"
	"strings"
	"testing"
	"unsafe"

	"github.com/go-reclaim/reclaim/offheap"
)

func allocHere(t *testing.T, s *offheap.Slab[point]) offheap.Handle {
	h, _ := mustAlloc(t, s)
	return h
}

func TestCheckedUseAfterFreeReport(t *testing.T) {
	c := newCollector(t)
	s := newSlab[point](t, c, 4, offheap.WithChecks())
	h := allocHere(t, s)
	if err := free(c, s, h); err != nil {
		t.Fatal(err)
	}
	_, err := get(c, s, h)
	var me *offheap.MisuseError
	if !errors.As(err, &me) || !errors.Is(err, offheap.ErrStale) {
		t.Fatalf("Get after Free: %v; want a *MisuseError wrapping ErrStale", err)
	}
	if !strings.Contains(me.AllocatedAt, "allocHere") {
		t.Errorf("AllocatedAt does not name allocHere:\n%s", me.AllocatedAt)
	}
	if !strings.Contains(me.FreedAt, "offheap_test.free") {
		t.Errorf("FreedAt does not name the free helper:\n%s", me.FreedAt)
	}
	if !strings.Contains(me.UsedAt, "offheap_test.get") {
		t.Errorf("UsedAt does not name the get helper:\n%s", me.UsedAt)
	}
	if msg := err.Error(); !strings.Contains(msg, "use after free") || !strings.Contains(msg, "freed at:") {
		t.Errorf("message lacks the diagnosis or stacks:\n%s", msg)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestCheckedDoubleFreeReport(t *testing.T) {
	c := newCollector(t)
	s := newSlab[point](t, c, 4, offheap.WithChecks())
	h := allocHere(t, s)
	if err := free(c, s, h); err != nil {
		t.Fatal(err)
	}
	err := free(c, s, h)
	var me *offheap.MisuseError
	if !errors.As(err, &me) || !errors.Is(err, offheap.ErrDoubleFree) {
		t.Fatalf("second Free: %v; want *MisuseError wrapping ErrDoubleFree", err)
	}
	if me.FreedAt == "" || me.UsedAt == "" || !strings.Contains(me.FreedAt, "offheap_test.free") {
		t.Fatalf("double free report lacks a stack:\n%v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestUncheckedStaleHasNoStacks(t *testing.T) {
	c := newCollector(t)
	s := newSlab[point](t, c, 4)
	h := allocHere(t, s)
	_ = free(c, s, h)
	_, err := get(c, s, h)
	var me *offheap.MisuseError
	if !errors.As(err, &me) || !errors.Is(err, offheap.ErrStale) {
		t.Fatalf("Get after Free: %v", err)
	}
	if me.AllocatedAt != "" || me.FreedAt != "" || me.UsedAt != "" {
		t.Fatalf("unchecked mode recorded stacks: %+v", me)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// A pointer kept past Free and its grace period reads poison; a write through
// it is caught when the slot is about to be reused.
func TestCheckedPoisonAndWriteAfterFree(t *testing.T) {
	c := newCollector(t)
	s := newSlab[point](t, c, 2, offheap.WithChecks())
	h, p := mustAlloc(t, s)
	p.X = 1
	if err := free(c, s, h); err != nil {
		t.Fatal(err)
	}
	barrier(t, c)
	// Planted bug: p is used after Free and after the grace period.
	raw := unsafe.Slice((*byte)(unsafe.Pointer(p)), unsafe.Sizeof(*p))
	for i, b := range raw {
		if b != offheap.PoisonByte {
			t.Fatalf("byte %d of the freed slot is %#x; want poison", i, b)
		}
	}
	p.Y = 99 // write after free
	_, _, err := s.Alloc()
	var me *offheap.MisuseError
	if !errors.As(err, &me) || !errors.Is(err, offheap.ErrCorrupted) {
		t.Fatalf("Alloc reusing a written freed slot: %v; want ErrCorrupted", err)
	}
	if !strings.Contains(me.FreedAt, "offheap_test.free") {
		t.Errorf("report does not say where the slot was freed:\n%v", err)
	}
	// The slot is quarantined; allocation goes on elsewhere.
	h2, p2 := mustAlloc(t, s)
	if h2.Index() == h.Index() || *p2 != (point{}) {
		t.Fatalf("corrupted slot handed out: %v %+v", h2, *p2)
	}
	if st := s.Stats(); st.Dead != 1 {
		t.Fatalf("Stats = %+v; want Dead 1", st)
	}
	_ = free(c, s, h2)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func leakOne(t *testing.T, s *offheap.Slab[point]) offheap.Handle {
	h, _ := mustAlloc(t, s)
	return h
}

func TestCheckedLeakReport(t *testing.T) {
	c := newCollector(t)
	s := newSlab[point](t, c, 8, offheap.WithChecks())
	l1 := leakOne(t, s)
	h := allocHere(t, s)
	l2 := leakOne(t, s)
	if err := free(c, s, h); err != nil {
		t.Fatal(err)
	}
	err := s.Close()
	var le *offheap.LeakError
	if !errors.As(err, &le) || !errors.Is(err, offheap.ErrLeaked) {
		t.Fatalf("Close with leaks: %v; want *LeakError wrapping ErrLeaked", err)
	}
	if len(le.Leaks) != 2 || le.Leaks[0].Handle != l1 || le.Leaks[1].Handle != l2 {
		t.Fatalf("leaks = %+v; want %v and %v", le.Leaks, l1, l2)
	}
	for _, l := range le.Leaks {
		if !strings.Contains(l.AllocatedAt, "leakOne") {
			t.Errorf("leak %v: stack does not name leakOne:\n%s", l.Handle, l.AllocatedAt)
		}
	}
	// The memory is gone all the same.
	if _, _, err := s.Alloc(); !errors.Is(err, offheap.ErrClosed) {
		t.Fatalf("Alloc after a leaking Close: %v", err)
	}
}

func TestUncheckedLeaksAreSilent(t *testing.T) {
	c := newCollector(t)
	s := newSlab[point](t, c, 8)
	_ = leakOne(t, s)
	if err := s.Close(); err != nil {
		t.Fatalf("unchecked Close with live values: %v; want nil (arena-style drop)", err)
	}
}
