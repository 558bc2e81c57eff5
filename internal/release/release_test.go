package release

import (
	"sync"
	"sync/atomic"
	"testing"
)

func TestStoreUintptr(t *testing.T) {
	var w atomic.Uintptr
	StoreUintptr(&w, 42)
	if got := w.Load(); got != 42 {
		t.Fatalf("Load after StoreUintptr = %d, want 42", got)
	}
}

// A write before the release store is visible to a reader that observes it.
func TestReleaseOrdersEarlierWrites(t *testing.T) {
	for range 2000 {
		var flag atomic.Uintptr
		data := 0
		var wg sync.WaitGroup
		wg.Go(func() {
			data = 7
			StoreUintptr(&flag, 1)
		})
		for flag.Load() == 0 {
		}
		if data != 7 {
			t.Fatal("write before the release store not visible")
		}
		wg.Wait()
	}
}

func TestStoreUint64(t *testing.T) {
	var w atomic.Uint64
	StoreUint64(&w, 1<<40+3)
	if got := w.Load(); got != 1<<40+3 {
		t.Fatalf("Load after StoreUint64 = %d, want %d", got, uint64(1<<40+3))
	}
}
