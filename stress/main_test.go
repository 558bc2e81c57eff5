package stress_test

import (
	"flag"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/go-reclaim/reclaim/stress"
)

// TestMain checks for leaked goroutines after all tests. The harness's own
// tests pin their sizes (they count operations, and the examples print
// them), so a STRESS_SCALE meant for soaking containers does not apply
// here; STRESS_SEED does, to replay a failing test.
func TestMain(m *testing.M) {
	flag.Parse()
	os.Unsetenv(stress.ScaleEnv)
	if err := flag.Set("stress.scale", ""); err != nil {
		panic(err)
	}
	goleak.VerifyTestMain(m)
}
