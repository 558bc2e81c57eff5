package hmlist

import (
	"cmp"

	"github.com/go-reclaim/reclaim/container/marked"
)

// Node is an element of a list. Key and Val never change while the node is
// reachable, so readers need no synchronization to read them (a replaced
// value lives in a new node). The zero-size Val of a set comes first so that
// it adds no padding.
type Node[K cmp.Ordered, V any] struct {
	Val  V
	Key  K
	next marked.Pointer[Node[K, V]] // marked: this node is deleted
}

// List is the head of a sorted list of nodes with distinct keys. The zero
// value is an empty list. The head link is never marked.
type List[K cmp.Ordered, V any] struct {
	head marked.Pointer[Node[K, V]]
}
