package hmlist

import (
	"github.com/go-reclaim/reclaim/container/internal/yield"
	"github.com/go-reclaim/reclaim/container/marked"
)

// Get returns the value of key, and whether key is present.
func (l *List[K, V]) Get(o Op[K, V], key K) (val V, ok bool) {
	if _, cur, found := l.find(&o, key); found {
		val, ok = cur.Val, true
	}
	o.done()
	return val, ok
}

// Insert adds key with val if key is absent, and reports whether it did.
func (l *List[K, V]) Insert(o Op[K, V], key K, val V) bool {
	_, replaced := l.put(&o, key, val, false)
	return !replaced
}

// Put sets key to val: it inserts a node, or replaces the node that holds
// key, and returns the value it replaced.
func (l *List[K, V]) Put(o Op[K, V], key K, val V) (old V, replaced bool) {
	return l.put(&o, key, val, true)
}

func (l *List[K, V]) put(o *Op[K, V], key K, val V, replace bool) (old V, found bool) {
	var n *Node[K, V] // allocated once, reused across retries
	defer o.done()
	for {
		prev, cur, found := l.find(o, key)
		if !found {
			if n == nil {
				n = o.alloc(key, val)
			}
			n.next.Store(cur, false)
			if prev.CompareAndSwap(cur, false, n, false) {
				return old, false
			}
			o.backoff.Pause()
			continue
		}
		if !replace {
			return old, true
		}
		next, deleted := cur.next.Load()
		if yield.Enabled {
			yield.Point()
		}
		if deleted {
			continue // a Delete or Put got there first; find will unlink cur
		}
		if n == nil {
			n = o.alloc(key, val)
		}
		n.next.Store(next, false)
		// Delete cur and link n after it in one step: readers see either.
		if !cur.next.CompareAndSwap(next, false, n, true) {
			o.backoff.Pause()
			continue
		}
		old = cur.Val // read while cur is protected: unlink may drop it
		l.unlink(o, prev, cur, n)
		return old, true
	}
}

// Delete removes key and returns its value, if it was present.
func (l *List[K, V]) Delete(o Op[K, V], key K) (old V, ok bool) {
	defer o.done()
	for {
		prev, cur, found := l.find(&o, key)
		if !found {
			return old, false
		}
		next, deleted := cur.next.Load()
		if yield.Enabled {
			yield.Point()
		}
		if deleted || !cur.next.TryMark(next) {
			o.backoff.Pause()
			continue
		}
		old = cur.Val // read while cur is protected: unlink may drop it
		l.unlink(&o, prev, cur, next)
		return old, true
	}
}

// unlink removes cur, which the caller has just marked, from prev, where
// find found it; if prev has changed, a find does it (or another goroutine
// already has). Whoever unlinks cur retires it.
func (l *List[K, V]) unlink(o *Op[K, V], prev *marked.Pointer[Node[K, V]], cur, next *Node[K, V]) {
	if prev.CompareAndSwap(cur, false, next, false) {
		o.retire(cur)
		return
	}
	l.find(o, cur.Key)
}
