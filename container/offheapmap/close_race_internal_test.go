package offheapmap

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/epoch"
	"github.com/go-reclaim/reclaim/offheap"
)

// A Store that allocated its entry before Close, and takes its stripe
// after Close has freed the map's entries, fails with ErrClosed and frees
// its entry before the slab closes: Close waits for the guards open when
// it began. (Before, Close closed the slab first, the Store's Free failed,
// and in checked mode Close reported the entry as leaked; an independent
// review found it, and this test failed in every run.)
//
// Deterministic: the first grow (at the 43rd insert of the 8-bucket table)
// is held in testHookGrow while six more inserts fill the table to its hard
// limit (49 of 56 slots) and a seventh Store, Z, fails its reservation and
// waits for growMu with its entry allocated. Close then runs until it waits
// for the guards; the grow and Z are released.
func TestCloseWaitsForAStoreWithItsEntryAllocated(t *testing.T) {
	c := epoch.New()
	m, err := New[int, int](c, 1024, offheap.WithChecks())
	require.NoError(t, err)

	held, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	testHookGrow = func() {
		once.Do(func() {
			close(held)
			<-release
		})
	}
	defer func() { testHookGrow = nil }()

	var wg sync.WaitGroup
	wg.Go(func() { // G1: inserts until its insert starts the (held) grow
		g := c.Enter()
		defer g.Exit()
		for k := 0; ; k++ {
			if _, err := m.Store(g, k, k); err != nil {
				return
			}
			select {
			case <-held:
				return
			default:
			}
		}
	})
	<-held
	tb := m.table.Load()
	limit := int64(len(tb.buckets)*slotsPerBucket) * 7 / 8
	for k := 1000; tb.used.Load() < limit; k++ { // each waits for growMu after inserting
		used := tb.used.Load()
		wg.Go(func() {
			g := c.Enter()
			defer g.Exit()
			_, _ = m.Store(g, k, k)
		})
		for tb.used.Load() == used {
			runtime.Gosched()
		}
	}
	zErr := make(chan error, 1)
	wg.Go(func() { // Z: its reservation fails; it waits for growMu, entry allocated
		g := c.Enter()
		defer g.Exit()
		_, err := m.Store(g, 5000, 5000)
		zErr <- err
	})
	time.Sleep(100 * time.Millisecond)

	closeErr := make(chan error, 1)
	go func() { closeErr <- m.Close() }()
	for !m.closed.Load() { // Close has freed the entries it found and waits for the guards above
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	close(release)
	wg.Wait()
	require.ErrorIs(t, <-zErr, offheap.ErrClosed, "Z fails as documented")
	err = <-closeErr
	require.NoError(t, err, "the map's Close reports a leak of an entry only the map had: %v", err)
	require.NoError(t, c.Close())
}

// Delete and a replacing Store unlink an entry under the key's stripe and
// free it after releasing the stripe. A Close that takes the stripe in
// between no longer sees the entry in the table; it must not close the
// slab before that Free (which failed with ErrClosed and made the map
// panic with "offheapmap: internal error"; an independent review found it,
// and this test failed in every run): Close waits for the guards open when
// it began.
//
// Deterministic: with one P, D holds the key's stripe (sleeping in
// testHookFind) while Close waits for it in lockAll for more than 1ms, so
// the stripe's mutex turns to starvation mode; D's Unlock then hands the
// mutex and the P to Close.
func TestCloseWaitsForADeleteThatUnlinked(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	c := epoch.New()
	m, err := New[int, int](c, 1024)
	require.NoError(t, err)
	g := c.Enter()
	_, err = m.Store(g, 7, 1)
	require.NoError(t, err)
	g.Exit()

	inHook := make(chan struct{}, 2)
	testHookFind = func() {
		inHook <- struct{}{}
		time.Sleep(20 * time.Millisecond) // holding the key's stripe
	}
	defer func() { testHookFind = nil }()

	res := make(chan string, 1)
	go func() { // D
		g := c.Enter()
		defer g.Exit()
		defer func() {
			if r := recover(); r != nil {
				res <- fmt.Sprint(r)
			}
		}()
		_, err := m.Store(g, 7, 2) // replaces; Close waits for the stripe meanwhile
		if err != nil {
			res <- "Store: " + err.Error()
			return
		}
		ok := m.Delete(g, 7) // holds the stripe again; Close, woken, finds it taken: starving
		res <- fmt.Sprint("Delete returned ", ok)
	}()
	<-inHook
	closeErr := make(chan error, 1)
	go func() { closeErr <- m.Close() }()
	r := <-res
	testHookFind = nil
	require.NoError(t, <-closeErr)
	require.NoError(t, c.Close())
	require.NotContains(t, r, "panic", r)
	require.NotContains(t, r, "internal error", "Delete racing Close: %s", r)
}
