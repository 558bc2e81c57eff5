package offheapmap

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/epoch"
)

// A reader that read a key's slot in a table that a grow has replaced
// must not report the key absent because a writer replaced its entry in
// the new table meanwhile and freed the entry the old slot names: the
// entry stays readable until the reader's guard exits (find's comment).
// Here the reader stops between reading the bucket and the slot while the
// table grows and the key's value is replaced. (With the checked Get,
// the freed entry failed and the key read as deleted.)
func TestLoadAcrossGrowAndReplace(t *testing.T) {
	c := epoch.New()
	m, err := New[int, int](c, 64)
	require.NoError(t, err)
	g := c.Enter()
	_, err = m.Store(g, 7, 1)
	require.NoError(t, err)
	g.Exit()

	paused, resume := make(chan struct{}), make(chan struct{})
	first := true
	testHookFind = func() {
		if first {
			first = false
			close(paused)
			<-resume
		}
	}
	defer func() { testHookFind = nil }()

	type result struct {
		v  int
		ok bool
	}
	done := make(chan result)
	go func() {
		g := c.Enter()
		defer g.Exit()
		v, ok := m.Load(g, 7)
		if !ok {
			done <- result{}
			return
		}
		done <- result{*v, true}
	}()
	<-paused
	g = c.Enter()
	m.grow(g, m.table.Load())
	require.Equal(t, uint64(1), m.Stats().Grows)
	replaced, err := m.Store(g, 7, 2)
	require.NoError(t, err)
	require.True(t, replaced)
	g.Exit()
	close(resume)
	r := <-done
	require.True(t, r.ok, "the key was present throughout")
	require.Contains(t, []int{1, 2}, r.v)

	require.NoError(t, m.Close())
	require.NoError(t, c.Close())
}

// A reader that matched a slot deleted and taken again by an insert of the
// same key that has not published its tag yet must not return the new
// value: a reader that starts after it returned would not find the key,
// as the Store has not completed. find accepts a match only if the slot
// still holds the tag after the entry was read.
func TestLoadDoesNotSeeAnUnpublishedInsert(t *testing.T) {
	c := epoch.New()
	m, err := New[int, int](c, 64)
	require.NoError(t, err)
	g := c.Enter()
	_, err = m.Store(g, 7, 1) // slot 0 of its home bucket
	require.NoError(t, err)
	g.Exit()

	readerPaused, readerGo := make(chan struct{}), make(chan struct{})
	insertPaused, insertGo := make(chan struct{}), make(chan struct{})
	var readerFirst, insertFirst atomic.Bool
	readerFirst.Store(true)
	insertFirst.Store(true)
	testHookFind = func() {
		if readerFirst.CompareAndSwap(true, false) {
			close(readerPaused)
			<-readerGo
		}
	}
	testHookInsert = func() {
		if insertFirst.CompareAndSwap(true, false) {
			close(insertPaused)
			<-insertGo
		}
	}
	defer func() { testHookFind, testHookInsert = nil, nil }()

	first := make(chan bool)
	go func() { // R1: has read the bucket's meta (7 live) when it pauses
		g := c.Enter()
		defer g.Exit()
		_, ok := m.Load(g, 7)
		first <- ok
	}()
	<-readerPaused
	g = c.Enter()
	require.True(t, m.Delete(g, 7)) // the slot becomes empty: its bucket has others
	g.Exit()
	stored := make(chan struct{})
	go func() { // the same key again, into the same slot, paused before its tag
		g := c.Enter()
		defer g.Exit()
		_, err := m.Store(g, 7, 2)
		assert.NoError(t, err)
		close(stored)
	}()
	<-insertPaused
	close(readerGo)
	ok1 := <-first
	g = c.Enter()
	_, ok2 := m.Load(g, 7) // R2, after R1 returned, with the Store still paused
	g.Exit()
	require.False(t, ok2)
	require.False(t, ok1, "R1 returned a value that R2, after it, does not see")
	close(insertGo)
	<-stored

	require.NoError(t, m.Close())
	require.NoError(t, c.Close())
}

// Writers inserting while a grow is on its way cannot fill the table:
// between the growth check and the grow taking the stripes, inserts
// reserve slots against a hard limit and wait for the grow beyond it.
// Here the grow is held back while twenty writers insert into a table at
// its growth threshold. (Before, they filled its 56 slots, the next
// insert's probe spun forever holding its stripe, and the grow waited for
// that stripe forever.)
func TestInsertsDuringAGrowDoNotFillTheTable(t *testing.T) {
	c := epoch.New()
	m, err := New[int, int](c, 1024)
	require.NoError(t, err)
	held := make(chan struct{})
	var once sync.Once
	testHookGrow = func() {
		once.Do(func() {
			close(held)
			time.Sleep(200 * time.Millisecond) // the writers below run meanwhile
		})
	}
	defer func() { testHookGrow = nil }()

	grower := make(chan struct{})
	go func() {
		defer close(grower)
		g := c.Enter()
		defer g.Exit()
		for k := 0; m.Stats().Grows == 0; k++ { // the last insert grows
			_, err := m.Store(g, k, k)
			assert.NoError(t, err)
		}
	}()
	<-held
	var wg sync.WaitGroup
	for w := range 20 {
		wg.Go(func() {
			g := c.Enter()
			defer g.Exit()
			_, err := m.Store(g, 1000+w, w)
			assert.NoError(t, err)
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); <-grower; close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("inserts hang: the table has %d of %d slots used", m.table.Load().used.Load(), len(m.table.Load().buckets)*slotsPerBucket)
	}
	g := c.Enter()
	for w := range 20 {
		_, ok := m.Load(g, 1000+w)
		require.True(t, ok)
	}
	g.Exit()
	require.Equal(t, uint64(1), m.Stats().Grows)
	require.NoError(t, m.Close())
	require.NoError(t, c.Close())
}
