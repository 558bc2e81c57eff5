package offheapmap

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/epoch"
)

// A reader that read a key's slot in a table that a grow has replaced
// must not report the key absent because a writer replaced its entry in
// the new table meanwhile and freed the entry the old slot names: the
// entry stays readable until the reader's guard exits (find's comment).
// Here the reader stops between reading the slot and resolving it while
// the table grows and the key's value is replaced. (With the checked Get,
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
