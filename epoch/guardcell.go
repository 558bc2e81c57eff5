package epoch

import "github.com/go-reclaim/reclaim/internal/race"

// Where a Guard lives. Enter returns a *Guard, and a *Guard that the
// compiler cannot keep on the caller's stack (passed to a function value,
// stored, entered from a closure) would cost a heap allocation per Enter.
// So the Guard is a cell in the participant slot instead: Enter never
// allocates, whatever the caller does with the pointer.
//
// A cell is reused, so a stale *Guard (used after its Exit) can alias a
// later guard on the same slot. The outermost guard alternates between two
// cells, so a guard used after its Exit still panics until the slot's
// second next guard opens: that covers Exit twice and a guard kept one
// iteration too long. Under the race detector, and with WithGuardTracking,
// every Enter allocates a fresh Guard instead, and every use after Exit
// panics whatever happened since.
type guardCells struct {
	outer  [2]Guard // the outermost guard's cells, taken by pin parity
	nested []*Guard // free cells for guards nested in a Handle's open guard
}

// freshGuard is the Guard of a guard just opened on s when pin cannot use
// a ready cell: a new Guard under the race detector or WithGuardTracking,
// a cell's first use, or a nested guard's cell.
func (c *Collector) freshGuard(s *slot, pooled bool) *Guard {
	p := &s.Value
	var g *Guard
	switch {
	case race.Enabled || c.tracking:
		g = &Guard{c: c, s: s}
	case p.nest == 1:
		g = &p.cells.outer[p.pin.Load()&1]
		g.c, g.s = c, s
	default:
		g = p.nestedCell(c, s)
	}
	g.open, g.pooled = true, pooled
	return g
}

// nestedCell takes a free cell for a nested guard, allocating one the
// first time the Handle nests this deep. Exit gives it back.
func (p *participant) nestedCell(c *Collector, s *slot) *Guard {
	n := len(p.cells.nested)
	if n == 0 {
		return &Guard{c: c, s: s, nested: true}
	}
	g := p.cells.nested[n-1]
	p.cells.nested = p.cells.nested[:n-1]
	return g
}

// putNested gives a nested guard's cell back on its Exit (out of line: Exit
// of an outermost guard is the hot path).
//
//go:noinline
func (p *participant) putNested(g *Guard) { p.cells.nested = append(p.cells.nested, g) }
