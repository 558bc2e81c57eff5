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
// Each protection of a node just read is written out as
// !o.validates || o.robust && o.g.Reserve() || o.validate(src, p): nothing
// for the garbage collector and a classic guard, and for a robust guard
// the fast path of marked.Pointer.TryReserve, usually true at once,
// inlined ahead of validate. A helper that holds it would exceed the
// inlining budget, and the call costs as much as the check on every node
// visited.
func (l *List[K, V]) find(o *Op[K, V], key K) (prev *marked.Pointer[Node[K, V]], cur *Node[K, V], found bool) {
retry:
	prev = &l.head
	cur, _ = prev.Load()
	if yield.Enabled {
		yield.Point()
	}
	if !(!o.validates || o.robust && o.g.Reserve() || o.validate(prev, cur)) {
		o.backoff.Pause()
		goto retry
	}
	for cur != nil {
		next, deleted := cur.next.Load()
		if yield.Enabled {
			yield.Point() // next is not protected yet
		}
		if deleted {
			// Unlink cur. next needs no protection for the CAS: while cur
			// is linked its frozen link keeps next linked.
			if !prev.CompareAndSwap(cur, false, next, false) {
				o.backoff.Pause()
				goto retry
			}
			// The CAS showed (next, false) in prev: protect next at once,
			// with nothing between that might raise a robust guard's
			// reservation (see marked.Pointer.TryReserve).
			unlinked := cur
			cur = next
			protected := (!o.validates || o.robust && o.g.Reserve() || o.validate(prev, cur))
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
		o.advance()
		cur = next
		if !(!o.validates || o.robust && o.g.Reserve() || o.validate(prev, cur)) {
			goto retry
		}
	}
	return prev, nil, false
}
