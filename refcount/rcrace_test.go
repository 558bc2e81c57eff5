package refcount_test

import (
	"os"
	"os/exec"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/internal/race"
)

const sharedChildEnv = "REFCOUNT_SHARED_HANDLES_CHILD"

// Sharing an Rc's value between goroutines without synchronization is a
// data race on its plain counts, and the race detector reports it; the
// same program with an Arc is clean. Each program runs in a subprocess
// (this test binary, built with -race), so that the reported race fails
// only the child.
func TestRaceDetectorReportsSharedRc(t *testing.T) {
	if !race.Enabled {
		t.Skip("needs a test binary built with -race")
	}
	for _, kind := range []string{"Rc", "Arc"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestSharedHandlesChild$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), sharedChildEnv+"="+kind)
		out, err := cmd.CombinedOutput()
		if kind == "Arc" {
			require.NoError(t, err, "Arc shared between goroutines must be race-free:\n%s", out)
			require.NotContains(t, string(out), "DATA RACE")
			continue
		}
		require.Error(t, err, "the racy Rc program must fail")
		require.Contains(t, string(out), "WARNING: DATA RACE")
		require.Contains(t, string(out), "refcount.Rc[")
	}
}

// TestSharedHandlesChild clones and releases handles of one value from two
// goroutines with no synchronization between them.
func TestSharedHandlesChild(t *testing.T) {
	switch os.Getenv(sharedChildEnv) {
	case "Rc":
		cloneReleaseFromTwoGoroutines(rcKit)
	case "Arc":
		cloneReleaseFromTwoGoroutines(arcKit)
	default:
		t.Skip("run by TestRaceDetectorReportsSharedRc")
	}
}

func cloneReleaseFromTwoGoroutines[H, W any](k kit[H, W]) {
	h := k.make(1, nil)
	defer k.release(&h)
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for range 100 {
				c := k.clone(h)
				k.release(&c)
			}
		})
	}
	wg.Wait()
}
