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
	if c != nil && g != nil && g.Collector() == c && g.Open() {
		return
	}
	panic(misuse{op: op, what: guardFault[S](g, c)})
}

func guardFault[S any](g *epoch.Guard, c *epoch.Collector) string {
	switch {
	case c == nil:
		return ""
	case g == nil:
		return " with a nil guard"
	case g.Collector() != c:
		return " with a guard of another Collector than the structure's"
	default:
		return " through a guard that has already exited"
	}
}

// Pointer panics unless hp is a hazard pointer of d, not released. A nil d
// is a zero structure's.
func Pointer[S any](op string, hp *hazard.Pointer, d *hazard.Domain) {
	if d != nil && hp != nil && hp.Domain() == d {
		return
	}
	panic(misuse{op: op, what: pointerFault[S](hp, d)})
}

func pointerFault[S any](hp *hazard.Pointer, d *hazard.Domain) string {
	switch {
	case d == nil:
		return ""
	case hp == nil:
		return " with a nil hazard pointer"
	case hp.Domain() == nil:
		return " with a hazard pointer already released"
	default:
		return " with a hazard pointer of another Domain than the structure's"
	}
}

// Array panics unless a holds at least n hazard pointers of d, none of
// them released. A nil d is a zero structure's.
func Array[S any](op string, a *hazard.Array, d *hazard.Domain, n int) {
	have, ad := -1, (*hazard.Domain)(nil)
	if a != nil {
		have, ad = a.Len(), a.Domain()
	}
	if d != nil && have >= n && ad == d {
		return
	}
	panic(arrayMisuse{op: op, have: have, need: n, zero: d == nil, unheld: ad == nil})
}

// arrayMisuse is Array's panic value: the facts it checked, so that the
// message is composed only when printed.
type arrayMisuse struct {
	op           string
	have, need   int  // pointers in the Array (-1: nil Array) and needed
	zero, unheld bool // the structure is zero; a pointer was released
}

func (m arrayMisuse) Error() string {
	switch {
	case m.zero:
		return zero(m.op)
	case m.have < 0:
		return m.op + " with a nil hazard.Array"
	case m.have < m.need:
		return m.op + " with a hazard.Array of " + strconv.Itoa(m.have) + " pointers: it needs " + strconv.Itoa(m.need) + " (HazardPointers)"
	case m.unheld:
		return m.op + " with a hazard.Array released, in whole or in part"
	default:
		return m.op + " with a hazard.Array of another Domain than the structure's"
	}
}

// Made panics unless made, which is false for a zero structure.
func Made[S any](op string, made bool) {
	if !made {
		panic(misuse{op: op})
	}
}

// misuse is the panic value of Guard, Pointer and Made. The checks' panic
// values hold no pointer of the caller's, so that the guard or hazard
// pointers an operation checks do not escape: a hazard.Pointer or Array
// acquired per operation stays on the caller's stack (storing them in the
// panic value cost a heap allocation per operation).
type misuse struct{ op, what string } // what is empty for a zero structure

func (m misuse) Error() string {
	if m.what == "" {
		return zero(m.op)
	}
	return m.op + m.what
}

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
