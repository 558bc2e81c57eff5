package hmlist

import (
	"cmp"

	"github.com/go-reclaim/reclaim/container/internal/yield"
	"github.com/go-reclaim/reclaim/container/marked"
)

// find is Michael's Find: it returns the link prev and the node cur it holds,
// unmarked, where cur is the first node whose key is not less than key (nil
// at the end); found reports cur.Key == key. It unlinks and retires the
// marked nodes it passes. Under hazard pointers, cur and the node that owns
// prev (if any) are protected when it returns.
//
// This is the walk of the schemes that protect whatever they load (the
// garbage collector and a classic guard); hazard pointers and a robust
// guard, which protect only what they validate, go to findProtected and
// findReserved. The three are separate loops because every node visited
// pays for what its loop holds: with all three protections in one loop,
// inlined, this walk was 16% to 21% slower, and with them called, the
// hazard walk spent a third of its time in the calls; the robust walk was
// 7% slower sharing the hazard walk's loop. (go test -bench Contains
// ./container/list: separate loops made the hazard list 46% faster, the
// others 4% to 6%.)
func (l *List[K, V]) find(o *Op[K, V], key K) (prev *marked.Pointer[Node[K, V]], cur *Node[K, V], found bool) {
	if o.robust {
		return l.findReserved(o, key)
	}
	if o.validates {
		return l.findProtected(o, key)
	}
retry:
	prev = &l.head
	cur, _ = prev.Load()
	for cur != nil {
		next, deleted := cur.next.Load()
		if yield.Enabled {
			yield.Point()
		}
		if deleted {
			if !o.unlink(prev, cur, next) {
				goto retry
			}
			o.retire(cur)
			cur = next
			continue
		}
		if c := cmp.Compare(cur.Key, key); c >= 0 {
			return prev, cur, c == 0
		}
		prev = &cur.next
		cur = next
	}
	return prev, nil, false
}

// findProtected is find under hazard pointers. It protects each node p it
// reads from a link src with src.TryProtect(hc, p), which inlines, and
// restarts when that fails (see the package documentation). hc protects
// cur and hp the node that owns prev; advancing swaps their roles, so that
// the next protection reuses the slot of the node left behind. (Kept in
// locals: reading them through o on every node cost the walk.)
func (l *List[K, V]) findProtected(o *Op[K, V], key K) (prev *marked.Pointer[Node[K, V]], cur *Node[K, V], found bool) {
	hc, hp := o.hp[0], o.hp[1]
retry:
	prev = &l.head
	cur, _ = prev.Load()
	if yield.Enabled {
		yield.Point()
	}
	if !prev.TryProtect(hc, cur) {
		o.backoff.Pause()
		goto retry
	}
	for cur != nil {
		next, deleted := cur.next.Load()
		if yield.Enabled {
			yield.Point() // next is not protected yet
		}
		if deleted {
			if !o.unlink(prev, cur, next) {
				goto retry
			}
			// prev held (next, false) at the unlink: protect next from
			// there before cur's retirement.
			unlinked := cur
			cur = next
			protected := prev.TryProtect(hc, cur)
			o.retire(unlinked)
			if !protected {
				goto retry
			}
			continue
		}
		if c := cmp.Compare(cur.Key, key); c >= 0 {
			return prev, cur, c == 0
		}
		prev = &cur.next
		hc, hp = hp, hc
		cur = next
		if !prev.TryProtect(hc, cur) {
			goto retry
		}
	}
	return prev, nil, false
}

// findReserved is find under a robust guard. It protects each node p it
// reads from a link src with o.g.Reserve() || o.revalidate(src, p):
// marked.Pointer.TryReserve, whose fast path (the reservation is current)
// inlines; each hop of the loop checks epoch.Reservation.Current first,
// which reads the reservation with two loads instead of five (the robust
// set at 90/10 on one goroutine of the AMD EPYC: 4.6 to 5.56 Mops/s on 256
// keys, 0.337 to 0.345-0.367 on 4,096). Nothing may come between the read
// of p and that test that could raise the reservation (see
// marked.Pointer.TryReserve).
func (l *List[K, V]) findReserved(o *Op[K, V], key K) (prev *marked.Pointer[Node[K, V]], cur *Node[K, V], found bool) {
	g := o.g
	r := g.Reservation()
retry:
	prev = &l.head
	cur, _ = prev.Load()
	if yield.Enabled {
		yield.Point()
	}
	if !(g.Reserve() || o.revalidate(prev, cur)) {
		o.backoff.Pause()
		goto retry
	}
	for cur != nil {
		if yield.Enabled {
			yield.Point() // a node linked now is born after the reservation
		}
		next, deleted := cur.next.Load()
		if yield.Enabled {
			yield.Point() // next is not protected yet
		}
		if deleted {
			if !o.unlink(prev, cur, next) {
				goto retry
			}
			unlinked := cur
			cur = next
			if yield.Enabled {
				yield.Point() // next may be deleted and reclaimed before the reservation covers it
			}
			protected := g.Reserve() || o.revalidate(prev, cur)
			o.retire(unlinked)
			if !protected {
				goto retry
			}
			continue
		}
		if c := cmp.Compare(cur.Key, key); c >= 0 {
			return prev, cur, c == 0
		}
		prev = &cur.next
		cur = next
		if !(r.Current() || g.Reserve() || o.revalidate(prev, cur)) {
			goto retry
		}
	}
	return prev, nil, false
}
