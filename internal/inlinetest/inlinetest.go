// Package inlinetest checks that functions on a package's hot paths stay
// within the compiler's inlining budget. A small edit can push one over
// (reading a guard's state through a method instead of the field cost
// epoch's Guard.Reserve its inlining once), and only the compiler's report
// shows it: the code stays correct and gets slower.
package inlinetest

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Require builds the package in the test's working directory with the
// compiler's inlining report and fails t for each of funcs (as the report
// names them: "(*Guard).Reserve", "countRetired") that it does not list
// as inlinable. It is skipped in -short mode.
func Require(t *testing.T, funcs ...string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the package with the inlining report")
	}
	cmd := exec.Command("go", "build", "-gcflags=-m", "-o", os.DevNull, ".")
	cmd.Env = append(os.Environ(), "GOFLAGS=") // test-only flags would break go build
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go build -gcflags=-m: %v\n%s", err, out)
	}
	for _, f := range funcs {
		if !strings.Contains(string(out), ": can inline "+f+"\n") {
			t.Errorf("%s is no longer inlinable (go build -gcflags=-m=2 says why)", f)
		}
	}
}
