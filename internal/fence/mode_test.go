package fence

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/go-reclaim/reclaim/internal/race"
)

// The mode is chosen from the environment at start-up: a child started
// with RECLAIM_FENCE=sc must be sequentially consistent, one started with
// RECLAIM_FENCE=asymmetric asymmetric exactly where available.
func TestEnvChoosesModeAtStartup(t *testing.T) {
	if os.Getenv("REVIEW8_CHILD") == "1" {
		os.Stdout.WriteString("MODE=" + Mode() + "\n")
		return
	}
	exe, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	run := func(env string) string {
		cmd := exec.Command(exe, "-test.run=^TestEnvChoosesModeAtStartup$", "-test.count=1")
		cmd.Env = append(os.Environ(), "REVIEW8_CHILD=1", "RECLAIM_FENCE="+env)
		out, err := cmd.CombinedOutput()
		if errors.Is(err, syscall.ENOEXEC) {
			t.Skip("cannot re-execute the test binary here (emulator without binfmt): ", err)
		}
		if err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		for _, l := range strings.Split(string(out), "\n") {
			if m, ok := strings.CutPrefix(l, "MODE="); ok {
				return m
			}
		}
		t.Fatalf("child printed no mode:\n%s", out)
		return ""
	}
	if m := run("sc"); m != "sc" {
		t.Fatalf("RECLAIM_FENCE=sc: mode %q, want sc", m)
	}
	want := "sc"
	if available() {
		want = "asymmetric"
	}
	if m := run("asymmetric"); m != want {
		t.Fatalf("RECLAIM_FENCE=asymmetric: mode %q, want %q", m, want)
	}
}

// Under the race detector the release stores are SC stores and nothing
// would register: the asymmetric mode must never be chosen there.
func TestNeverAsymmetricUnderRace(t *testing.T) {
	if race.Enabled && (Asymmetric || available() || choose("asymmetric")) {
		t.Fatal("asymmetric fences chosen under the race detector")
	}
}

// In the asymmetric mode Heavy must actually fence: registration must have
// happened, so that a second Heavy from another goroutine (another thread)
// succeeds too, and Mode agrees with Asymmetric.
func TestAsymmetricMeansRegistered(t *testing.T) {
	if (Mode() == "asymmetric") != Asymmetric {
		t.Fatal("Mode disagrees with Asymmetric")
	}
	if !Asymmetric {
		return
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() { Heavy() })
	}
	wg.Wait()
}

// A non-fresh Fence within the gap must not start a fence, and must return
// exactly what the last completed fence recorded, even when the counter
// moved on (the batches sealed after it began are not covered).
func TestSharedWithinGapTrustsOnlyCompletedFence(t *testing.T) {
	var s Shared
	var counter atomic.Uint64
	counter.Store(10)
	if v := s.Fence(&counter, 1<<62, true); v != 10 {
		t.Fatalf("fresh fence: %d, want 10", v)
	}
	counter.Store(20)
	for range 100 {
		if v := s.Fence(&counter, 1<<62, false); v != 10 {
			t.Fatalf("within the gap: %d, want 10 (the counter read before the last completed fence)", v)
		}
	}
	if s.From() != 10 {
		t.Fatalf("From %d, want 10", s.From())
	}
}
