// Package check holds the containers' checks of what a caller passes to an
// operation: a structure made by its constructor, and a guard or hazard
// pointers of the structure's own collector or domain, still usable. Each
// runs first in its operation, before anything changes, so that a misuse
// panics naming it instead of corrupting the structure (a hazard pointer
// of another domain protects nothing the structure's domain can see) or
// failing half way (a guard of another collector used to be refused only
// by the Pool, after a Pop had unlinked its node).
//
// op names the operation in the messages, as "stack: Epoch.Push": the
// package, the type and the method. The checks inline into the operations
// (a few loads and compares); their panic values are errors whose message
// is composed only when printed. Each takes a type parameter, which the
// containers set to their element type, only so that it inlines: the
// containers' operations are generic, compiled where they are used, and a
// plain function of this package was a call in each of them (measured in
// the Treiber stack's Push and Pop, and the list's Contains, 2% to 3%).
package check

import (
	"strconv"
	"strings"

	"github.com/go-reclaim/reclaim/epoch"
	"github.com/go-reclaim/reclaim/hazard"
)

// Guard panics unless g is an open guard of c. A nil c is a zero
// structure's.
func Guard[S any](op string, g *epoch.Guard, c *epoch.Collector) {
	if g != nil && g.Collector() == c && g.Open() {
		return
	}
	panic(guardMisuse{op, g, c})
}

type guardMisuse struct {
	op string
	g  *epoch.Guard
	c  *epoch.Collector
}

func (m guardMisuse) Error() string {
	switch {
	case m.c == nil:
		return zero(m.op)
	case m.g == nil:
		return m.op + " with a nil guard"
	case m.g.Collector() != m.c:
		return m.op + " with a guard of another Collector than the structure's"
	default:
		return m.op + " through a guard that has already exited"
	}
}

// Pointer panics unless hp is a hazard pointer of d. A nil d is a zero
// structure's.
func Pointer[S any](op string, hp *hazard.Pointer, d *hazard.Domain) {
	if hp != nil && hp.Domain() == d {
		return
	}
	panic(pointerMisuse{op, hp, d})
}

type pointerMisuse struct {
	op string
	hp *hazard.Pointer
	d  *hazard.Domain
}

func (m pointerMisuse) Error() string {
	switch {
	case m.d == nil:
		return zero(m.op)
	case m.hp == nil:
		return m.op + " with a nil hazard pointer"
	default:
		return m.op + " with a hazard pointer of another Domain than the structure's"
	}
}

// Array panics unless a holds at least n hazard pointers of d. A nil d is
// a zero structure's.
func Array[S any](op string, a *hazard.Array, d *hazard.Domain, n int) {
	if a != nil && a.Len() >= n && a.Domain() == d {
		return
	}
	panic(arrayMisuse{op, a, d, n})
}

type arrayMisuse struct {
	op string
	a  *hazard.Array
	d  *hazard.Domain
	n  int
}

func (m arrayMisuse) Error() string {
	switch {
	case m.d == nil:
		return zero(m.op)
	case m.a == nil:
		return m.op + " with a nil hazard.Array"
	case m.a.Len() < m.n:
		return m.op + " with a hazard.Array of " + strconv.Itoa(m.a.Len()) + " pointers: it needs " + strconv.Itoa(m.n) + " (HazardPointers)"
	default:
		return m.op + " with a hazard.Array of another Domain than the structure's"
	}
}

// Made panics unless made, which is false for a zero structure.
func Made[S any](op string, made bool) {
	if !made {
		panic(zeroMisuse(op))
	}
}

type zeroMisuse string

func (m zeroMisuse) Error() string { return zero(string(m)) }

// zero is the message of an operation on a zero structure: op's type,
// after the package's colon and before the method's dot, has a
// constructor named New and the type.
func zero(op string) string {
	typ := op
	if i := strings.Index(typ, ": "); i >= 0 {
		typ = typ[i+2:]
	}
	if i := strings.IndexByte(typ, '.'); i >= 0 {
		typ = typ[:i]
	}
	return op + " on a zero " + typ + ": make it with New" + typ
}
