package offheap

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
)

// slotDebug is checked mode's record of one slot: its last debugLives
// lives, so that a report about a handle whose slot has been reused since
// (the free lists are LIFO: the next Alloc after a grace period usually
// takes the slot just freed) still names where that handle was allocated
// and freed.
type slotDebug struct {
	lives [debugLives]life
	n     uint32 // lives recorded so far; the newest is lives[(n-1)%debugLives]
}

// life is one allocation of a slot: the handle's generation and the
// stacks of its Alloc and (once freed) its Free.
type life struct {
	gen   uint32
	alloc []uintptr
	free  []uintptr
}

const debugLives = 4

// find returns the recorded life of handle generation gen, or nil if the
// slot has been reused too often since (or gen was never handed out).
func (d *slotDebug) find(gen uint32) *life {
	for k := range min(d.n, debugLives) {
		if l := &d.lives[(d.n-1-k)%debugLives]; l.gen == gen {
			return l
		}
	}
	return nil
}

func callers() []uintptr {
	var pcs [32]uintptr
	n := runtime.Callers(3, pcs[:])
	return slices.Clone(pcs[:n])
}

func formatStack(pcs []uintptr) string {
	if len(pcs) == 0 {
		return ""
	}
	var b strings.Builder
	frames := runtime.CallersFrames(pcs)
	for {
		f, more := frames.Next()
		if !strings.HasPrefix(f.Function, "github.com/go-reclaim/reclaim/offheap.") ||
			strings.Contains(f.File, "_test.go") {
			fmt.Fprintf(&b, "\t%s\n\t\t%s:%d\n", f.Function, f.File, f.Line)
		}
		if !more {
			break
		}
	}
	return b.String()
}

// recordAlloc is called with p.mu held.
func (p *pool) recordAlloc(i, gen uint32) {
	d := p.dbg[i]
	if d == nil {
		d = new(slotDebug)
		p.dbg[i] = d
	}
	d.lives[d.n%debugLives] = life{gen: gen, alloc: callers()}
	d.n++
}

// freeGenChecked is checked mode's Free of slot m: the compare-and-swap
// from generation gen to gen+1 and the record of the free's stack in one
// critical section, so that a report about the slot (describe, under p.mu)
// never finds the new generation without its free's stack.
func (p *pool) freeGenChecked(m *slotMeta, gen uint32) bool {
	pcs := callers()
	p.mu.Lock()
	defer p.mu.Unlock()
	if !m.gen.CompareAndSwap(gen, gen+1) {
		return false
	}
	if d := p.dbg[p.index(m)]; d != nil {
		if l := d.find(gen); l != nil {
			l.free = pcs
		}
	}
	return true
}

// describe adds checked mode's stacks to a report about handle generation
// gen of slot i.
func (p *pool) describe(e *MisuseError, i, gen uint32) {
	e.UsedAt = formatStack(callers())
	p.mu.Lock()
	defer p.mu.Unlock()
	d := p.dbg[i]
	if d == nil {
		return
	}
	l := d.find(gen)
	if l == nil {
		e.Detail += fmt.Sprintf(" (the slot has been reused %d times or more since; the stacks of that handle's allocation and free are no longer recorded)", debugLives)
		return
	}
	e.AllocatedAt, e.FreedAt = formatStack(l.alloc), formatStack(l.free)
}

// verifyPoison is called with p.mu held, before slot m is reused.
func (p *pool) verifyPoison(m *slotMeta, b []byte) error {
	for off, v := range b {
		if v != PoisonByte {
			gen := m.gen.Load() - 1
			e := &MisuseError{Err: ErrCorrupted, Op: "Alloc", Handle: makeHandle(p.index(m), gen),
				Detail: fmt.Sprintf("byte %d of the freed slot is %#x, not %#x; the slot is quarantined", off, v, PoisonByte)}
			if d := p.dbg[p.index(m)]; d != nil {
				if l := d.find(gen); l != nil {
					e.AllocatedAt, e.FreedAt = formatStack(l.alloc), formatStack(l.free)
				}
			}
			return e
		}
	}
	return nil
}

// leaks is called with p.mu held.
func (p *pool) leaks() error {
	var out []Leak
	for i := range p.hw {
		m := p.meta(i)
		if g := m.gen.Load(); g&1 == 1 {
			l := Leak{Handle: makeHandle(i, g)}
			if d := p.dbg[i]; d != nil {
				if life := d.find(g); life != nil {
					l.AllocatedAt = formatStack(life.alloc)
				}
			}
			out = append(out, l)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return &LeakError{Leaks: out}
}
