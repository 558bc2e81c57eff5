// Package childcase runs test cases that must panic, each in a child
// process (this test binary again), and checks how each panicked: with a
// package's own message, not a runtime error (a nil dereference), and not
// a fatal error, which kills the process that raises it (a panic while
// pinned to a processor is one) and so cannot be seen in-process.
package childcase

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
)

const env = "RECLAIM_TEST_CHILD_CASE"

// InChild reports whether this process is a child that Run started.
func InChild() bool { return os.Getenv(env) != "" }

// Child runs, in a child, the case of cases that Run named, and prints
// how it panicked (or that it returned). Call it from the test that Run's
// child argument names; in the parent it skips t.
func Child(t *testing.T, cases map[string]func()) {
	name := os.Getenv(env)
	if name == "" {
		t.Skip("run by childcase.Run")
	}
	defer func() {
		r := recover()
		_, rtErr := r.(runtime.Error)
		fmt.Printf("\nCHILDCASE runtimeError=%v value=%v\n", rtErr, r)
	}()
	cases[name]()
}

// Run runs each of cases in a child process that runs the test named
// child (which calls Child), as a subtest of t, and fails it unless the
// case panicked with a value that prints starting with prefix and is not
// a runtime.Error. It skips t in a child, and under -short: CI runs the
// arm64 tests under qemu-user, which cannot start the test binary again.
func Run(t *testing.T, child string, cases map[string]func(), prefix string) {
	if InChild() {
		t.Skip("child")
	}
	if testing.Short() {
		t.Skip("re-executes the test binary once per case (and under qemu-user, as CI runs the arm64 tests with -short, it cannot)")
	}
	for name := range cases {
		t.Run(strings.ReplaceAll(name, " ", "_"), func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^"+child+"$", "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), env+"="+name, "GORACE=atexit_sleep_ms=0")
			out, err := cmd.CombinedOutput()
			s := string(out)
			i := strings.Index(s, "CHILDCASE ")
			if err != nil || i < 0 {
				t.Fatalf("child died (%v):\n%s", err, s)
			}
			line := s[i:]
			line = line[:strings.IndexByte(line, '\n')]
			t.Log(line)
			if strings.Contains(line, "runtimeError=true") || !strings.Contains(line, "value="+prefix) {
				t.Errorf("%s: %s", name, line)
			}
		})
	}
}
