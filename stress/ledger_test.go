package stress_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/epoch"
	"github.com/go-reclaim/reclaim/stress"
)

// obj embeds a Canary, so a Ledger of obj poisons by itself.
type obj struct {
	stress.Canary
	id int
}

// ledgerSteps runs steps on a fresh ledger inside Capture and returns what
// it reported; the ledger is verified at the end.
func ledgerSteps(t *testing.T, steps func(l *stress.Ledger[obj], a, b *obj)) *stress.Captured {
	return stress.Capture(t, func(tb testing.TB) {
		l := stress.NewLedger[obj](tb, nil)
		steps(l, &obj{id: 1}, &obj{id: 2})
		l.Verify()
	})
}

func TestLedgerLifecyclesPass(t *testing.T) {
	got := ledgerSteps(t, func(l *stress.Ledger[obj], a, b *obj) {
		for range 3 { // a pool reuses a after each reclamation
			l.Alloc(a)
			l.Reachable(a)
			l.Retire(a)
			l.Reclaim(a)
			require.True(t, a.Poisoned())
			a.Canary = stress.Canary{} // zeroed for reuse, as epoch.Pool does
		}
		l.Retire(b) // Alloc is optional
		l.Reclaim(b)
		st := l.Stats()
		require.Equal(t, stress.LedgerStats{Allocated: 3, Retired: 4, Reclaimed: 4}, st)
	})
	require.False(t, got.Failed(), "%s", got)
}

func TestLedgerReportsEachViolation(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps func(l *stress.Ledger[obj], a, b *obj)
		want  string
	}{
		{"reclaimed twice", func(l *stress.Ledger[obj], a, _ *obj) { l.Retire(a); l.Reclaim(a); l.Reclaim(a) },
			"reclaimed twice\n  now at /"},
		{"reclaimed before retired", func(l *stress.Ledger[obj], a, _ *obj) { l.Alloc(a); l.Reclaim(a) },
			"reclaimed before it was retired"},
		{"reclaimed, never retired", func(l *stress.Ledger[obj], a, _ *obj) { l.Reclaim(a) },
			"reclaimed, but it was never retired"},
		{"retired twice", func(l *stress.Ledger[obj], a, _ *obj) { l.Retire(a); l.Retire(a); l.Reclaim(a) },
			"retired twice"},
		{"retired after reclaimed", func(l *stress.Ledger[obj], a, _ *obj) { l.Retire(a); l.Reclaim(a); l.Retire(a); l.Reclaim(a) },
			"retired after it was reclaimed"},
		{"reused before reclaimed", func(l *stress.Ledger[obj], a, _ *obj) { l.Retire(a); l.Alloc(a) },
			"allocated again while retired and not yet reclaimed"},
		{"handed out twice", func(l *stress.Ledger[obj], a, _ *obj) { l.Alloc(a); l.Alloc(a) },
			"allocated again while live"},
		{"reachable but retired", func(l *stress.Ledger[obj], a, _ *obj) { l.Retire(a); l.Reachable(a); l.Reclaim(a) },
			"still reachable from the structure, but retired"},
		{"reachable but reclaimed", func(l *stress.Ledger[obj], a, _ *obj) { l.Retire(a); l.Reclaim(a); l.Reachable(a) },
			"still reachable from the structure, but reclaimed"},
		{"lost", func(l *stress.Ledger[obj], a, b *obj) { l.Retire(a); l.Retire(b); l.Reclaim(b) },
			"1 of 2 retired *stress_test.obj objects were never reclaimed (lost)"},
		{"nil", func(l *stress.Ledger[obj], _, _ *obj) { l.Retire(nil) },
			"ledger: retired a nil *stress_test.obj at /"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ledgerSteps(t, tc.steps)
			require.True(t, got.Failed())
			require.Contains(t, got.Messages()[0], tc.want)
		})
	}
}

func TestLedgerNamesThePreviousStep(t *testing.T) {
	got := ledgerSteps(t, func(l *stress.Ledger[obj], a, _ *obj) {
		l.Retire(a)
		reclaimHere(l, a)
		l.Reclaim(a)
	})
	require.Len(t, got.Messages(), 1)
	require.Regexp(t, `(?s)reclaimed twice.*previously reclaimed at\n\tgithub.com/go-reclaim/reclaim/stress_test.reclaimHere\n`, got.Messages()[0])
}

func reclaimHere(l *stress.Ledger[obj], a *obj) { l.Reclaim(a) }

func TestLedgerVerifiesAtCleanup(t *testing.T) {
	got := stress.Capture(t, func(tb testing.TB) {
		l := stress.NewLedger[obj](tb, nil)
		l.Retire(&obj{})
	})
	require.True(t, got.Failed())
	require.Contains(t, got.String(), "never reclaimed (lost)")
}

func TestLedgerPoisonFunction(t *testing.T) {
	var poisoned []int
	l := stress.NewLedger(t, func(p *int) { poisoned = append(poisoned, *p); *p = -1 })
	x := 7
	l.Retire(&x)
	l.Reclaim(&x)
	require.Equal(t, []int{7}, poisoned)
	require.Equal(t, -1, x)
	require.Equal(t, stress.LedgerStats{Retired: 1, Reclaimed: 1}, l.Verify())
}

// A Ledger wired into an epoch.Pool (Alloc after Get, Retire before
// Pool.Retire, Reclaim as OnReclaim) follows nodes through reuse.
func TestLedgerWithEpochPool(t *testing.T) {
	h := stress.New(t, stress.Ops(4000))
	l := stress.NewLedger[obj](h, nil)
	c := epoch.New(epoch.WithBatchSize(2))
	pool := epoch.NewPool(c, epoch.OnReclaim(l.Reclaim))
	h.Run(stress.Mix{{Name: "cycle", Weight: 1, Do: func(w *stress.Worker) {
		g := c.Enter()
		defer g.Exit()
		n := pool.Get(g)
		l.Alloc(n)
		stress.CheckRead(w, n)
		w.Yield()
		l.Retire(n)
		pool.Retire(g, n)
	}}})
	require.NoError(h, c.Barrier(context.Background()))
	stress.Shutdown(h, c.Close)
	st := l.Verify()
	require.Equal(t, stress.LedgerStats{Allocated: 4000, Retired: 4000, Reclaimed: 4000}, st)
}
