package workload

import (
	"context"
	"encoding/binary"
	"time"
	"unsafe"

	"github.com/VictoriaMetrics/fastcache"
	"github.com/allegro/bigcache/v3"
)

// The byte caches Go programs use to keep millions of entries out of the
// garbage collector's sight: keys and values are byte strings in large
// pointer-free arenas, and every read copies the value out. Each Worker
// keeps its own buffers, so that the copies are the caches' only cost.

// bigEntryBytes is a bigmap entry as the caches hold it: an 8-byte key and
// a 32-byte value, with room for their headers.
const bigEntryBytes = 64

func putValue(b []byte, k uint64) []byte {
	v := bigValueOf(k)
	b = b[:0]
	for _, w := range v {
		b = binary.LittleEndian.AppendUint64(b, w)
	}
	return b
}

func keyBytes(b *[8]byte, k uint64) []byte {
	binary.BigEndian.PutUint64(b[:], k)
	return b[:]
}

// newBigmapFastcache is VictoriaMetrics' fastcache, sized to hold every
// key of the range twice over so that it does not evict (it is a cache:
// a full one drops old entries).
func newBigmapFastcache(o Options) *Instance {
	c := fastcache.New(2 * o.Capacity * bigEntryBytes)
	return &Instance{
		NewWorker: func() Worker {
			var key [8]byte
			buf := make([]byte, 0, 32)
			return Worker{
				Read: func(k uint64) bool {
					v, ok := c.HasGet(buf[:0], keyBytes(&key, k))
					return ok && binary.LittleEndian.Uint64(v) == k
				},
				Insert: func(k uint64) bool {
					kb := keyBytes(&key, k)
					had := c.Has(kb)
					c.Set(kb, putValue(buf, k))
					return !had
				},
				Delete: func(k uint64) bool {
					kb := keyBytes(&key, k)
					had := c.Has(kb)
					c.Del(kb)
					return had
				},
			}
		},
		Close: func() error { c.Reset(); return nil },
	}
}

// newBigmapBigcache is allegro's bigcache: entries never expire during a
// run, and its shards are presized for every key of the range.
func newBigmapBigcache(o Options) *Instance {
	cfg := bigcache.DefaultConfig(time.Hour)
	cfg.CleanWindow = 0
	cfg.Shards = 1024
	cfg.MaxEntriesInWindow = o.Capacity
	cfg.MaxEntrySize = bigEntryBytes
	cfg.Verbose = false
	c, err := bigcache.New(context.Background(), cfg)
	if err != nil {
		panic(err)
	}
	return &Instance{
		NewWorker: func() Worker {
			var key [8]byte
			buf := make([]byte, 0, 32)
			str := func(k uint64) string { // the key as a string without an allocation
				kb := keyBytes(&key, k)
				return unsafe.String(&kb[0], len(kb))
			}
			return Worker{
				Read: func(k uint64) bool {
					v, err := c.Get(str(k)) // a copy of the value
					return err == nil && binary.LittleEndian.Uint64(v) == k
				},
				Insert: func(k uint64) bool {
					_, err := c.Get(str(k))
					if err := c.Set(str(k), putValue(buf, k)); err != nil {
						panic(err)
					}
					return err != nil
				},
				Delete: func(k uint64) bool { return c.Delete(str(k)) == nil },
			}
		},
		Close: c.Close,
	}
}
