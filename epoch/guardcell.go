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
	outer  [2]Guard // the outermost guards' cells, by the parity of the pin count
	nested []*Guard // free cells for nested guards of a Handle, oldest first
}

// testCellsUnderRace, set by a test, keeps the cells under the race
// detector, so that it checks their hand-offs between goroutines.
var testCellsUnderRace bool

// outerFor returns the cell of the outermost guard whose pin is pin:
// consecutive guards of a slot alternate, since every outermost Enter
// counts one pin (and one more if it fails, handing out no cell), and
// Refresh two, so that the guard after it does not reuse the cell of the
// guard just refreshed.
func (cs *guardCells) outerFor(pin uint64) *Guard { return &cs.outer[pin&1] }

// freshGuard is the Guard of a guard just opened on s when enter cannot
// use a ready cell: a new Guard under the race detector or
// WithGuardTracking, an outermost cell's first use, or a nested guard's
// cell (p.nest counts the nested guards open, this one included).
func (c *Collector) freshGuard(s *slot) *Guard {
	p := &s.Value
	var g *Guard
	switch {
	case race.Enabled && !testCellsUnderRace || c.tracking:
		g = &Guard{c: c, s: s}
	case p.nest == 0:
		g = p.cells.outerFor(p.pin.Load())
		g.c, g.s = c, s
	default:
		g = p.nestedCell(c, s)
	}
	g.state = openSlow
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
