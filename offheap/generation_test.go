package offheap_test

import (
	"errors"
	"math"
	"testing"

	"github.com/go-reclaim/reclaim/offheap"
)

// A slot whose generation would wrap is retired for good, so an old handle
// can never match a reused slot.
func TestGenerationLimit(t *testing.T) {
	c := newCollector(t)
	s := newSlab[point](t, c, 2)
	h, _ := mustAlloc(t, s)
	h = s.SetGeneration(h, math.MaxUint32-2) // the last odd generation before the limit
	if err := free(c, s, h); err != nil {
		t.Fatal(err)
	}
	barrier(t, c)
	if st := s.Stats(); st.Dead != 1 {
		t.Fatalf("Stats = %+v; want Dead 1", st)
	}
	h2, _ := mustAlloc(t, s)
	if h2.Index() == h.Index() {
		t.Fatalf("slot at the generation limit was reused: %v", h2)
	}
	if _, _, err := s.Alloc(); !errors.Is(err, offheap.ErrFull) {
		t.Fatalf("Alloc: %v; want ErrFull (the dead slot is not reusable)", err)
	}
	if err := free(c, s, h2); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}
