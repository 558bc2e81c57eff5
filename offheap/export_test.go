package offheap

// SetGeneration lets the tests reach the generation limit without 2^31
// Alloc/Free cycles.
func (s *Slab[T]) SetGeneration(h Handle, gen uint32) Handle {
	s.p.meta(h.Index()).gen.Store(gen)
	return makeHandle(h.Index(), gen)
}
