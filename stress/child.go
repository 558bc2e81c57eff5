package stress

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// ChildEnv is set, to the test's name, in the environment of a test that
// RunChild runs in a child process.
const ChildEnv = "STRESS_CHILD"

// InChild reports whether this process is a child started by RunChild. A
// test meant to run only as a child skips otherwise:
//
//	if !stress.InChild() {
//		t.Skip("run by TestX")
//	}
func InChild() bool { return os.Getenv(ChildEnv) != "" }

// Child is what a test run by RunChild printed, and how it ended.
type Child struct {
	// Output is the child's standard output and error, with -test.v.
	Output string
	// Failed is true if the child exited with a non-zero status: its test
	// failed, or the race detector reported a race.
	Failed bool
	// Raced is true if the race detector reported a data race.
	Raced bool
	// Rebuilt is true if the child is a copy of the test binary built
	// again without coverage (see RunChild).
	Rebuilt bool
}

// RunChild runs the top-level test named test, of the same package, in a
// child process, and returns what it printed. It fails t if no test of
// that name ran (a misspelled name would otherwise pass silently). Use it to prove that the
// race detector catches a planted data race: a race detected in this
// process, even inside Capture, fails the test that is running, so the
// planted race must run elsewhere. The child test should skip unless
// InChild (see the example).
//
// The child is this test binary, run with -test.run=^test$ -test.count=1
// -test.v and ChildEnv=test added to the environment, so STRESS_SEED and
// the rest of the environment carry over; other flags do not, but a
// -test.timeout of 9/10 of the time the parent test has left is added when
// the parent has a deadline. Under -race
// with coverage on (go test -race -cover), coverage counters are atomic,
// the race detector counts them as synchronization, and it misses most
// races in covered code; so in that case RunChild builds the package's
// test binary again without coverage (go test -c -race, once per process,
// with the -cover flags taken out of GOFLAGS; other command-line flags of
// the original build, such as -tags, are not repeated) and runs that. If
// that build fails, or the go command is not found, the test is skipped.
func RunChild(t testing.TB, test string) Child {
	t.Helper()
	bin, rebuilt := os.Args[0], false
	if RaceEnabled && testing.CoverMode() != "" {
		var err error
		if bin, err = uncovered(); err != nil {
			t.Skipf("stress.RunChild: cannot build the test binary without -cover, which hides data races from the race detector: %v", err)
		}
		rebuilt = true
	}
	args := []string{"-test.run=^" + regexp.QuoteMeta(test) + "$", "-test.count=1", "-test.v"}
	if d, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if dl, ok := d.Deadline(); ok {
			args = append(args, "-test.timeout="+max(time.Until(dl)*9/10, time.Second).String())
		}
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), ChildEnv+"="+test)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("stress.RunChild: %v", err)
	}
	if !strings.Contains(string(out), "=== RUN   "+test+"\n") {
		t.Fatalf("stress.RunChild: no test named %s ran in the child (misspelled, not a top-level test of this package, or the child failed before it ran tests); it printed:\n%s", test, out)
	}
	return Child{
		Output:  string(out),
		Failed:  err != nil,
		Raced:   strings.Contains(string(out), "WARNING: DATA RACE"),
		Rebuilt: rebuilt,
	}
}

// rebuild is the test binary built again without coverage, per process.
var rebuild struct {
	sync.Mutex
	bin string
	err error
}

// uncovered builds the package in the working directory (go test runs a
// test binary in its package's directory) as a test binary with -race and
// without coverage, once, and returns its path. It lives in the user's
// cache directory, named after the package, and is replaced atomically,
// so concurrent processes do not see a half-written binary and no temp
// directory is left behind.
func uncovered() (string, error) {
	rebuild.Lock()
	defer rebuild.Unlock()
	if rebuild.bin != "" || rebuild.err != nil {
		return rebuild.bin, rebuild.err
	}
	rebuild.bin, rebuild.err = buildUncovered()
	return rebuild.bin, rebuild.err
}

func buildUncovered() (string, error) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		if root := os.Getenv("GOROOT"); root != "" {
			goCmd = filepath.Join(root, "bin", "go")
		} else {
			return "", err
		}
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	pkg := strings.TrimSuffix(filepath.Base(os.Args[0]), ".test")
	if p := packagePath(); p != "" {
		pkg = strings.NewReplacer("/", "_", ".", "_").Replace(strings.TrimPrefix(p, "./"))
	}
	dir := filepath.Join(cache, "go-reclaim-stress")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(dir, pkg+"-*.tmp")
	if err != nil {
		return "", err
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	cmd := exec.Command(goCmd, "test", "-c", "-race", "-o", tmp.Name(), ".")
	cmd.Env = append(os.Environ(), "GOFLAGS="+withoutCover(os.Getenv("GOFLAGS")))
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go test -c -race: %v\n%s", err, out)
	}
	bin := filepath.Join(dir, pkg+".test")
	if err := os.Rename(tmp.Name(), bin); err != nil {
		return "", err
	}
	return bin, nil
}

// withoutCover is GOFLAGS without its coverage flags.
func withoutCover(goflags string) string {
	var keep []string
	for _, f := range strings.Fields(goflags) {
		if !strings.HasPrefix(strings.TrimLeft(f, "-"), "cover") {
			keep = append(keep, f)
		}
	}
	return strings.Join(keep, " ")
}
