package epoch

import "github.com/go-reclaim/reclaim/internal/race"

// Where a Guard lives. Enter returns a *Guard, and a *Guard that the
// compiler cannot keep on the caller's stack (passed to a function value,
// stored, entered from a closure) would cost a heap allocation per Enter.
// So the Guard is a cell in the participant slot instead: Enter never
// allocates, whatever the caller does with the pointer.
//
// A cell is reused, so a stale *Guard (used after its Exit) can alias a
// later guard on the same slot. The outermost guards of a slot alternate
// between two cells, and nested guards take the free cell that has waited
// longest, with at least one other free: so a guard used after its Exit
// still panics until the slot has opened two more guards of its kind,
// which covers Exit twice and a guard kept one iteration too long. Under
// the race detector, and with WithGuardTracking, every Enter allocates a
// fresh Guard instead, and every use after Exit panics whatever happened
// since.
type guardCells struct {
	outer  [2]Guard // the outermost guard's cells
	next   uint8    // the cell of outer the next outermost guard takes
	nested []*Guard // free cells for nested guards of a Handle, oldest first
}

// testCellsUnderRace, set by a test, keeps the cells under the race
// detector, so that it checks their hand-offs between goroutines.
var testCellsUnderRace bool

// nextOuter returns the index of the cell for the outermost guard that is
// opening, and flips next. (Not the pin count's parity: Refresh counts a
// pin too, and would make the next guard reuse the cell just exited.)
func (p *participant) nextOuter() uint8 {
	k := p.cells.next
	p.cells.next = k ^ 1
	return k
}

// freshGuard is the Guard of a guard just opened on s when pin cannot use
// a ready cell (outer, its choice of cell): a new Guard under the race
// detector or WithGuardTracking, a cell's first use, or a nested guard's
// cell.
func (c *Collector) freshGuard(s *slot, pooled bool, outer uint8) *Guard {
	p := &s.Value
	var g *Guard
	switch {
	case race.Enabled && !testCellsUnderRace || c.tracking:
		g = &Guard{c: c, s: s}
	case p.nest == 1:
		g = &p.cells.outer[outer]
		g.c, g.s = c, s
	default:
		g = p.nestedCell(c, s)
	}
	g.open, g.pooled = true, pooled
	return g
}

// nestedCell takes the free cell for a nested guard that has waited
// longest, if another is free besides, and allocates a new one otherwise
// (a Handle nested d deep ends up with d+2 cells). Exit gives it back.
func (p *participant) nestedCell(c *Collector, s *slot) *Guard {
	q := p.cells.nested
	if len(q) < 2 {
		return &Guard{c: c, s: s, nested: true}
	}
	g := q[0]
	copy(q, q[1:])
	q[len(q)-1] = nil
	p.cells.nested = q[:len(q)-1]
	return g
}

// putNested gives a nested guard's cell back on its Exit (out of line: Exit
// of an outermost guard is the hot path).
//
//go:noinline
func (p *participant) putNested(g *Guard) { p.cells.nested = append(p.cells.nested, g) }
