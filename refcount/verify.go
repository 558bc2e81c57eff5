package refcount

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
)

// Find returns an error listing every tracked handle that is still live
// (not released, and references still held by AtomicArcs), oldest first,
// each with the stack where it was made; nil if there are none. Only values
// made while tracking was on (SetTracking) are seen. References that
// AtomicArcs gave up and the hazard domain has not yet released are not
// handles and are not listed; call Barrier first to have their destructors
// run. Call Find once the goroutines that hold handles have finished.
func Find() error {
	registry.mu.Lock()
	live := make([]*record, 0, len(registry.live))
	for r := range registry.live {
		live = append(live, r)
	}
	registry.mu.Unlock()
	if len(live) == 0 {
		return nil
	}
	slices.SortFunc(live, func(a, b *record) int { return cmp.Compare(a.seq, b.seq) })
	var b strings.Builder
	fmt.Fprintf(&b, "refcount: %d tracked handle(s) still live:\n", len(live))
	for _, r := range live {
		registry.mu.Lock()
		slot, movedBy, movedAt := r.slot, r.movedBy, r.movedAt
		registry.mu.Unlock()
		fmt.Fprintf(&b, "\n%s made by %s at:\n%s", r.describe(), r.made, r.at)
		if slot != nil {
			fmt.Fprintf(&b, "held since by an AtomicArc (%s) at:\n%s", movedBy, movedAt)
		}
	}
	return errors.New(b.String())
}

// TestingT is the part of *testing.T that VerifyNone uses.
type TestingT interface {
	Helper()
	Error(args ...any)
}

// VerifyNone marks t as failed, with Find's list, if any tracked handle is
// still live: call it at the end of a test (or defer it) that turned
// tracking on, in the style of goleak.VerifyNone.
func VerifyNone(t TestingT) {
	t.Helper()
	if err := Find(); err != nil {
		t.Error(err)
	}
}

// TestingM is the part of *testing.M that VerifyTestMain uses.
type TestingM interface {
	Run() int
}

// VerifyTestMain turns tracking on, runs the tests, and exits with a
// failure, printing Find's list, if they passed but left tracked handles
// live. Use it as a package's TestMain:
//
//	func TestMain(m *testing.M) { refcount.VerifyTestMain(m) }
func VerifyTestMain(m TestingM) {
	SetTracking(true)
	code := m.Run()
	if code == 0 {
		if err := Find(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}
