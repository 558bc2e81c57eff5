package check_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/container/hashmap"
	"github.com/go-reclaim/reclaim/container/list"
	"github.com/go-reclaim/reclaim/container/queue"
	"github.com/go-reclaim/reclaim/container/stack"
	"github.com/go-reclaim/reclaim/epoch"
	"github.com/go-reclaim/reclaim/hazard"
)

// Every operation of the containers' Epoch variants refuses, before it
// changes anything, a nil guard, a guard of another collector, an exited
// guard and a zero structure, with a message naming the operation and the
// mistake; and after each refusal the structure still holds what it held.
func TestEpochVariantsRefuseBadGuards(t *testing.T) {
	for _, robust := range []bool{false, true} {
		t.Run(fmt.Sprintf("robust=%v", robust), func(t *testing.T) {
			var opts []epoch.Option
			if robust {
				opts = append(opts, epoch.WithRobust())
			}
			c, other := epoch.New(opts...), epoch.New(opts...)
			st, q, l, m := stack.NewEpoch[int](c), queue.NewEpoch[int](c), list.NewEpoch[int](c), hashmap.NewEpoch[int, int](c, 4)
			g := c.Enter()
			st.Push(g, 1)
			q.Enqueue(g, 1)
			l.Insert(g, 1)
			m.Put(g, 1, 1)
			g.Exit()

			ops := map[string]func(g *epoch.Guard){
				"stack: Epoch.Push":     func(g *epoch.Guard) { st.Push(g, 2) },
				"stack: Epoch.Pop":      func(g *epoch.Guard) { st.Pop(g) },
				"queue: Epoch.Enqueue":  func(g *epoch.Guard) { q.Enqueue(g, 2) },
				"queue: Epoch.Dequeue":  func(g *epoch.Guard) { q.Dequeue(g) },
				"list: Epoch.Insert":    func(g *epoch.Guard) { l.Insert(g, 2) },
				"list: Epoch.Delete":    func(g *epoch.Guard) { l.Delete(g, 1) },
				"list: Epoch.Contains":  func(g *epoch.Guard) { l.Contains(g, 1) },
				"hashmap: Epoch.Get":    func(g *epoch.Guard) { m.Get(g, 1) },
				"hashmap: Epoch.Put":    func(g *epoch.Guard) { m.Put(g, 2, 2) },
				"hashmap: Epoch.Delete": func(g *epoch.Guard) { m.Delete(g, 1) },
			}
			exited := c.Enter()
			exited.Exit()
			foreign := other.Enter()
			for op, fn := range ops {
				require.PanicsWithError(t, op+" with a nil guard", func() { fn(nil) })
				require.PanicsWithError(t, op+" with a guard of another Collector than the structure's", func() { fn(foreign) })
				require.PanicsWithError(t, op+" through a guard that has already exited", func() { fn(exited) })
			}
			foreign.Exit()

			g = c.Enter()
			v, ok := st.Pop(g)
			require.True(t, ok && v == 1, "the stack lost its element to a refused operation")
			v, ok = q.Dequeue(g)
			require.True(t, ok && v == 1, "the queue lost its element to a refused operation")
			require.True(t, l.Contains(g, 1) && !l.Contains(g, 2))
			v, ok = m.Get(g, 1)
			require.True(t, ok && v == 1)
			_, ok = m.Get(g, 2)
			require.False(t, ok)
			g.Exit()
			require.NoError(t, c.Close())
			require.NoError(t, other.Close())
		})
	}
}

func TestZeroStructuresPanicNamingThem(t *testing.T) {
	c := epoch.New()
	defer c.Close()
	d := hazard.New()
	defer d.Close()
	g := c.Enter()
	defer g.Exit()
	hp := d.Acquire()
	defer hp.Release()
	a := d.AcquireArray(list.HazardPointers)
	defer a.Release()
	for _, tc := range []struct {
		want string
		fn   func()
	}{
		{"stack: Epoch.Push on a zero Epoch: make it with NewEpoch", func() { new(stack.Epoch[int]).Push(g, 1) }},
		{"stack: Hazard.Push on a zero Hazard: make it with NewHazard", func() { new(stack.Hazard[int]).Push(1) }},
		{"stack: Hazard.Pop on a zero Hazard: make it with NewHazard", func() { new(stack.Hazard[int]).Pop(hp) }},
		{"stack: Hazard.Pop on a zero Hazard: make it with NewHazard", func() { new(stack.Hazard[int]).Pop(new(hazard.Pointer)) }},
		{"queue: Epoch.Dequeue on a zero Epoch: make it with NewEpoch", func() { new(queue.Epoch[int]).Dequeue(g) }},
		{"queue: Hazard.Enqueue on a zero Hazard: make it with NewHazard", func() { new(queue.Hazard[int]).Enqueue(a, 1) }},
		{"list: Epoch.Contains on a zero Epoch: make it with NewEpoch", func() { new(list.Epoch[int]).Contains(g, 1) }},
		{"list: Hazard.Insert on a zero Hazard: make it with NewHazard", func() { new(list.Hazard[int]).Insert(a, 1) }},
		{"hashmap: GC.Get on a zero GC: make it with NewGC", func() { new(hashmap.GC[int, int]).Get(1) }},
		{"hashmap: Epoch.Put on a zero Epoch: make it with NewEpoch", func() { new(hashmap.Epoch[int, int]).Put(g, 1, 1) }},
		{"hashmap: Hazard.Delete on a zero Hazard: make it with NewHazard", func() { new(hashmap.Hazard[int, int]).Delete(a, 1) }},
	} {
		require.PanicsWithError(t, tc.want, tc.fn)
	}
}

// The Hazard variants refuse hazard pointers of another domain (which
// protect nothing this domain's scans read: nodes were recycled under a
// reader), nil ones, and Arrays shorter than HazardPointers.
func TestHazardVariantsRefuseBadPointers(t *testing.T) {
	d, other := hazard.New(), hazard.New()
	defer d.Close()
	defer other.Close()
	st, q, l, m := stack.NewHazard[int](d), queue.NewHazard[int](d), list.NewHazard[int](d), hashmap.NewHazard[int, int](d, 4)
	st.Push(1)
	ohp := other.Acquire()
	defer ohp.Release()
	require.PanicsWithError(t, "stack: Hazard.Pop with a hazard pointer of another Domain than the structure's", func() { st.Pop(ohp) })
	require.PanicsWithError(t, "stack: Hazard.Pop with a nil hazard pointer", func() { st.Pop(nil) })

	oa, short := other.AcquireArray(2), d.AcquireArray(1)
	defer oa.Release()
	defer short.Release()
	for op, fn := range map[string]func(a *hazard.Array){
		"queue: Hazard.Enqueue":  func(a *hazard.Array) { q.Enqueue(a, 1) },
		"queue: Hazard.Dequeue":  func(a *hazard.Array) { q.Dequeue(a) },
		"list: Hazard.Insert":    func(a *hazard.Array) { l.Insert(a, 1) },
		"list: Hazard.Delete":    func(a *hazard.Array) { l.Delete(a, 1) },
		"list: Hazard.Contains":  func(a *hazard.Array) { l.Contains(a, 1) },
		"hashmap: Hazard.Get":    func(a *hazard.Array) { m.Get(a, 1) },
		"hashmap: Hazard.Put":    func(a *hazard.Array) { m.Put(a, 1, 1) },
		"hashmap: Hazard.Delete": func(a *hazard.Array) { m.Delete(a, 1) },
	} {
		require.PanicsWithError(t, op+" with a hazard.Array of another Domain than the structure's", func() { fn(oa) })
		require.PanicsWithError(t, op+" with a nil hazard.Array", func() { fn(nil) })
		require.PanicsWithError(t, op+" with a hazard.Array of 1 pointers: it needs 2 (HazardPointers)", func() { fn(short) })
	}
	hp := d.Acquire()
	v, ok := st.Pop(hp)
	hp.Release()
	require.True(t, ok && v == 1, "the stack lost its element to a refused Pop")
}

// Hazard pointers released before the operation, in whole or in part (an
// Array one of whose pointers was released alone), are refused before
// anything changes: an Insert or Delete that found its key with the first
// pointer used to complete, then panic when it reset the released one.
func TestHazardVariantsRefuseReleasedPointers(t *testing.T) {
	d := hazard.New()
	defer d.Close()
	st, q, l, m := stack.NewHazard[int](d), queue.NewHazard[int](d), list.NewHazard[int](d), hashmap.NewHazard[int, int](d, 4)
	st.Push(1)
	a := d.AcquireArray(2)
	q.Enqueue(a, 1)
	l.Insert(a, 1)
	m.Put(a, 1, 1)
	a.Release()

	hp := d.Acquire()
	hp.Release()
	require.PanicsWithError(t, "stack: Hazard.Pop with a hazard pointer already released", func() { st.Pop(hp) })

	whole := d.AcquireArray(2)
	whole.Release()
	part := d.AcquireArray(3)
	part.At(1).Release()
	for op, fn := range map[string]func(a *hazard.Array){
		"queue: Hazard.Enqueue":  func(a *hazard.Array) { q.Enqueue(a, 2) },
		"queue: Hazard.Dequeue":  func(a *hazard.Array) { q.Dequeue(a) },
		"list: Hazard.Insert":    func(a *hazard.Array) { l.Insert(a, 2) },
		"list: Hazard.Delete":    func(a *hazard.Array) { l.Delete(a, 1) },
		"list: Hazard.Contains":  func(a *hazard.Array) { l.Contains(a, 1) },
		"hashmap: Hazard.Get":    func(a *hazard.Array) { m.Get(a, 1) },
		"hashmap: Hazard.Put":    func(a *hazard.Array) { m.Put(a, 1, 2) },
		"hashmap: Hazard.Delete": func(a *hazard.Array) { m.Delete(a, 1) },
	} {
		require.PanicsWithError(t, op+" with a hazard.Array released, in whole or in part", func() { fn(whole) }, "whole")
		require.PanicsWithError(t, op+" with a hazard.Array released, in whole or in part", func() { fn(part) }, "part")
	}
	part.At(0).Release()
	part.At(2).Release()

	hp = d.Acquire()
	v, ok := st.Pop(hp)
	hp.Release()
	require.True(t, ok && v == 1, "the stack lost its element to a refused Pop")
	a = d.AcquireArray(2)
	defer a.Release()
	v, ok = q.Dequeue(a)
	require.True(t, ok && v == 1)
	_, ok = q.Dequeue(a)
	require.False(t, ok, "a refused Enqueue added its value")
	require.True(t, l.Contains(a, 1) && !l.Contains(a, 2))
	v, ok = m.Get(a, 1)
	require.True(t, ok && v == 1, "a refused Put or Delete changed the map")
}
