package stress_test

import (
	"flag"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/go-reclaim/reclaim/stress"
)

// setFlag sets a command-line flag for the rest of the test.
func setFlag(t *testing.T, name, value string) {
	f := flag.Lookup(name)
	require.NotNil(t, f, name)
	old := f.Value.String()
	require.NoError(t, flag.Set(name, value))
	t.Cleanup(func() { _ = flag.Set(name, old) })
}

// noReplay clears STRESS_SEED and -stress.seed, for a test that checks
// which seed the harness picks.
func noReplay(t *testing.T) {
	t.Setenv(stress.SeedEnv, "")
	setFlag(t, "stress.seed", "")
}

func goleakIgnoreTop() goleak.Option {
	return goleak.IgnoreTopFunction("github.com/go-reclaim/reclaim/stress_test.leaky")
}
