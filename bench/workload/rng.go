package workload

import "math/bits"

// rng is wyrand: one add and one 64x64 multiply per number, cheap enough
// that drawing an operation and its key costs about a nanosecond.
type rng uint64

func (r *rng) next() uint64 {
	*r += 0xa0761d6478bd642f
	hi, lo := bits.Mul64(uint64(*r), uint64(*r^0xe7037ed1a0b428db))
	return hi ^ lo
}
