package offheap_test

import (
	"testing"
)

// Get and Bytes are the read path: no allocation, no lock.
func TestReadPathDoesNotAllocate(t *testing.T) {
	c := newCollector(t)
	s := newSlab[point](t, c, 4)
	a := newArena(t, c, 1024, 64)
	h, _ := mustAlloc(t, s)
	r, _, err := a.Alloc(40)
	if err != nil {
		t.Fatal(err)
	}
	g := c.Enter()
	n := testing.AllocsPerRun(100, func() {
		if _, err := s.Get(g, h); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Bytes(g, r); err != nil {
			t.Fatal(err)
		}
	})
	if err := s.Free(g, h); err != nil {
		t.Fatal(err)
	}
	if err := a.Free(g, r); err != nil {
		t.Fatal(err)
	}
	g.Exit()
	if n != 0 {
		t.Fatalf("Get+Bytes allocate %v times per call", n)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
}
