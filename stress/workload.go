package stress

import (
	"cmp"
	"fmt"
	"strings"
)

// Ready-made workloads for the usual container shapes. Each takes the
// container's operations as functions of the calling worker (open a guard
// or acquire a hazard pointer inside them, with defer if free functions may
// panic), records every call in hist (nil: record nothing), and ends with
// Finally operations that inspect the quiescent container. The returned
// Mix can be extended with faults (append(mix, StallGuard(c, d))) and its
// weights changed by position.

// StackMix returns "push", "pop" and Finally("drain"). Every pushed value
// is unique. Push and pop have Weight 1 each; with a History, push 2 and
// pop 3, which keeps the stack shallow: a deep stack holds many elements
// whose order concurrent pushes left open, and checking it explodes.
//
// drain pops until the stack is empty, then checks conservation: every
// value pushed was popped exactly once, and nothing popped was never
// pushed. A push or a pop that an injected panic interrupted may have lost
// its value (a Pool.Get in a push may run OnReclaim); drain tolerates that
// many missing values.
func StackMix(hist *History, push func(w *Worker, v int), pop func(w *Worker) (int, bool)) Mix {
	return sequenceMix(hist, Push, Pop, push, pop)
}

// QueueMix is StackMix for a queue: "enqueue", "dequeue" and "drain".
func QueueMix(hist *History, enqueue func(w *Worker, v int), dequeue func(w *Worker) (int, bool)) Mix {
	return sequenceMix(hist, Enqueue, Dequeue, enqueue, dequeue)
}

func sequenceMix(hist *History, addKind, takeKind Kind, add func(*Worker, int), take func(*Worker) (int, bool)) Mix {
	c := &conservation{}
	doTake := func(w *Worker) bool {
		defer c.interrupted(w)
		call := hist.Call(w, Input{Kind: takeKind})
		v, ok := take(w)
		call.Return(Output{Value: v, OK: ok})
		if ok {
			c.taken[w.id] = append(c.taken[w.id], v)
		}
		return ok
	}
	mix := Mix{
		{Name: addKind.String(), Weight: 1, begin: c.begin, Do: func(w *Worker) {
			defer c.interrupted(w) // an interrupted add may not have linked its value
			v := c.next(w)
			call := hist.Call(w, Input{Kind: addKind, Value: v})
			add(w, v)
			call.Return(Output{})
		}},
		{Name: takeKind.String(), Weight: 1, Do: func(w *Worker) { doTake(w) }},
		FinallyReset("drain", func(w *Worker) {
			limit := c.total()
			for n := 0; c.drainOne(w, doTake); n++ {
				if n > limit {
					w.Errorf("drain: %d values taken but only %d were added: a cycle?", n, limit)
					return
				}
			}
			c.verify(w)
		}),
	}
	if hist != nil {
		mix[0].Weight, mix[1].Weight = 2, 3
	}
	if add == nil || take == nil {
		mix[0].err = "nil container function"
	}
	return mix
}

// SetMix returns "insert", "delete" (Weight 1 each) and "contains"
// (Weight 2) on keys drawn from [0, keys), and Finally("scan"), which asks
// contains for every key. Pass a small key range (8 to 64) so that
// operations collide. The scan empties nothing, so there is no
// FinallyReset: with a History, each Run stops after HistorySize
// operations (it logs so; see HistorySize), and without one the scan
// checks only that contains returns.
func SetMix(hist *History, keys int, insert, remove, contains func(w *Worker, key int) bool) Mix {
	keyed := func(kind Kind, f func(*Worker, int) bool) func(*Worker, int) {
		return func(w *Worker, key int) {
			call := hist.Call(w, Input{Kind: kind, Key: key})
			ok := f(w, key)
			call.Return(Output{OK: ok})
		}
	}
	mix := keyedMix(keys, []Kind{Insert, Delete, Contains}, []int{1, 1, 2}, 2,
		keyed(Insert, insert), keyed(Delete, remove), keyed(Contains, contains))
	if insert == nil || remove == nil || contains == nil {
		mix[0].err = cmp.Or(mix[0].err, "nil container function")
	}
	return mix
}

// MapMix returns "get" (Weight 2), "put" and "delete" (Weight 1 each) on
// keys drawn from [0, keys), with unique values, and Finally("scan"),
// which gets every key. As for SetMix, there is no FinallyReset: with a
// History each Run stops after HistorySize operations.
func MapMix(hist *History, keys int, get func(w *Worker, key int) (int, bool), put func(w *Worker, key, v int), remove func(w *Worker, key int) bool) Mix {
	c := &conservation{}
	mix := keyedMix(keys, []Kind{Get, Put, Delete}, []int{2, 1, 1}, 0,
		func(w *Worker, key int) {
			call := hist.Call(w, Input{Kind: Get, Key: key})
			v, ok := get(w, key)
			call.Return(Output{Value: v, OK: ok})
		},
		func(w *Worker, key int) {
			v := c.next(w)
			call := hist.Call(w, Input{Kind: Put, Key: key, Value: v})
			put(w, key, v)
			call.Return(Output{})
		},
		func(w *Worker, key int) {
			call := hist.Call(w, Input{Kind: Delete, Key: key})
			ok := remove(w, key)
			call.Return(Output{OK: ok})
		})
	mix[0].begin = c.begin
	if get == nil || put == nil || remove == nil {
		mix[0].err = cmp.Or(mix[0].err, "nil container function")
	}
	return mix
}

// keyedMix draws a key for each operation; ops[scan] scans all keys.
func keyedMix(keys int, kinds []Kind, weights []int, scan int, ops ...func(*Worker, int)) Mix {
	mix := make(Mix, 0, len(ops)+1)
	for i, op := range ops {
		mix = append(mix, Op{Name: kinds[i].String(), Weight: weights[i], Do: func(w *Worker) { op(w, w.rng.IntN(keys)) }})
	}
	mix = append(mix, Finally("scan", func(w *Worker) {
		for k := range keys {
			ops[scan](w, k)
		}
	}))
	if keys < 1 {
		mix[0].err = fmt.Sprintf("key range %d: need at least one key", keys)
	}
	return mix
}

// conservation hands out unique values and checks that each value added to
// a stack or queue was taken exactly once. Each worker writes only its own
// entries, so it adds no synchronization between workers.
type conservation struct {
	stride int     // workers + 1: value = seq*stride + worker ID
	added  []int   // by worker: values handed out
	taken  [][]int // by worker: values taken
	cut    []int   // by worker: adds and takes interrupted by an injected panic
}

func (c *conservation) begin(goroutines int) {
	c.stride = goroutines + 1
	c.added = make([]int, c.stride)
	c.taken = make([][]int, c.stride)
	c.cut = make([]int, c.stride)
}

func (c *conservation) next(w *Worker) int {
	v := c.added[w.id]*c.stride + w.id
	c.added[w.id]++
	return v
}

// interrupted, deferred around an add or a take, counts an injected panic and lets
// it go on.
func (c *conservation) interrupted(w *Worker) {
	if p := recover(); p != nil {
		if _, ok := p.(InjectedPanic); ok {
			c.cut[w.id]++
		}
		panic(p)
	}
}

// drainOne takes one value for the drain; a take that an injected panic
// interrupted counts as a value taken, so the drain goes on.
func (c *conservation) drainOne(w *Worker, take func(*Worker) bool) (ok bool) {
	defer func() {
		if p := recover(); p != nil {
			if _, injected := p.(InjectedPanic); !injected {
				panic(p)
			}
			w.panics++
			ok = true
		}
	}()
	return take(w)
}

func (c *conservation) total() int {
	n := 0
	for _, a := range c.added {
		n += a
	}
	return n
}

// verify runs after the drain, on the Finally worker.
func (c *conservation) verify(w *Worker) {
	if w.h.Failed() {
		return // what failed may have left values half added
	}
	seen := make([][]bool, c.stride)
	for id, n := range c.added {
		seen[id] = make([]bool, n)
	}
	var bad []string
	distinct, cut := 0, 0
	for id := range c.taken {
		cut += c.cut[id]
		for _, v := range c.taken[id] {
			src, seq := v%c.stride, v/c.stride
			switch {
			case v < 0 || seq >= c.added[src]:
				bad = append(bad, fmt.Sprintf("took %d, which was never added", v))
			case seen[src][seq]:
				bad = append(bad, fmt.Sprintf("took %d twice", v))
			default:
				seen[src][seq] = true
				distinct++
			}
		}
	}
	if lost := c.total() - distinct; lost > cut {
		for src := range seen {
			if seq := indexFalse(seen[src]); seq >= 0 {
				bad = append(bad, fmt.Sprintf("lost %d of %d values added (e.g. %d, the %s value worker %d added); they were never taken",
					lost, c.total(), seq*c.stride+src, ordinal(seq+1), src))
				break
			}
		}
	}
	if len(bad) > 0 {
		w.Errorf("conservation violated: %s", strings.Join(bad[:min(len(bad), 8)], "; "))
	}
}

func indexFalse(b []bool) int {
	for i, x := range b {
		if !x {
			return i
		}
	}
	return -1
}

// ordinal writes n as an English ordinal: 1st, 2nd, 3rd, 4th, 11th, 22nd.
func ordinal(n int) string {
	suffix := "th"
	switch n % 10 {
	case 1:
		suffix = "st"
	case 2:
		suffix = "nd"
	case 3:
		suffix = "rd"
	}
	if n%100 >= 11 && n%100 <= 13 {
		suffix = "th"
	}
	return fmt.Sprintf("%d%s", n, suffix)
}
