package stress

import (
	"fmt"
	"runtime"
	"strings"
	"sync"

	"github.com/go-reclaim/reclaim/stress/poison"
)

// Poison patterns written over reclaimed objects: recognizable in a
// debugger, and not a plausible pointer, length or small integer. They are
// poison.Byte and poison.Word.
const (
	PoisonByte byte   = poison.Byte
	PoisonWord uint64 = poison.Word
)

// Reporter receives failures: a *testing.T, a *Harness or a *Worker.
type Reporter interface {
	Errorf(format string, args ...any)
}

// Poisonable is an object that a free function can poison and a reader can
// check: an alias of poison.Poisonable.
type Poisonable = poison.Poisonable

// Canary is a word to embed in a node type under test: an alias of
// poison.Canary, which lives in a package of its own (stress/poison) that
// imports no test dependencies, so that production node types can embed
// it. Its zero value is healthy; Poison overwrites it with PoisonWord.
//
// Both methods use plain, non-atomic memory accesses on purpose: a reader
// that checks the canary of a node it should no longer hold races with the
// free function that poisons it, and under -race the race detector can
// report that pair of accesses, with both stacks, even when the check
// happens to run before the poison. See the package documentation for
// when it does.
type Canary = poison.Canary

// CheckRead is the check after a read: if obj is poisoned, the caller used
// an object after its reclamation, and CheckRead reports that to r and
// returns false.
//
// The report names the read site: the first caller of CheckRead that is
// not a helper (see Helper). If a Ledger of obj's type tracks obj, the
// report goes on with where obj was retired and where it was reclaimed, so
// that it tells the whole story. Pass the tracked pointer itself (a
// *node whose type embeds Canary), not the address of its Canary, for the
// Ledger to find it.
func CheckRead(r Reporter, obj Poisonable) bool {
	if !obj.Poisoned() {
		return true
	}
	r.Errorf("use after reclaim: read a poisoned %T at %s%s", obj, site(2), history(obj))
	return false
}

// PoisonBytes fills b with PoisonByte: the free function of a buffer.
func PoisonBytes(b []byte) { poison.Bytes(b) }

// CheckBytes reports to r and returns false if b holds poison: an aligned
// 8-byte word of PoisonByte, or, if b is shorter than that, nothing else.
// Data that may legitimately contain eight 0xDB bytes in a row needs its
// own canary. Like CheckRead, it names the first caller that is not a
// helper.
func CheckBytes(r Reporter, b []byte) bool {
	if !poison.InBytes(b) {
		return true
	}
	r.Errorf("use after reclaim: read a poisoned buffer (len %d) at %s", len(b), site(2))
	return false
}

// helpers holds the functions marked by Helper, by name.
var helpers sync.Map

// Helper marks the calling function as a helper, as testing.TB.Helper
// does: CheckRead, CheckBytes and the Ledger's reports skip it when they
// name the place of a read or a step, and name its caller instead. Call
// it at the top of an adapter that wraps CheckRead (or a Ledger method)
// for a container, so that reports point at the read in the container,
// not into the adapter. Worker.Helper does the same.
//
// testing.TB.Helper marks a function for the testing package only; it is
// not seen here.
func Helper() { markHelper(2) }

// markHelper marks the function skip frames up as a helper.
func markHelper(skip int) {
	pc, _, _, ok := runtime.Caller(skip)
	if !ok {
		return
	}
	if f := runtime.FuncForPC(pc); f != nil {
		helpers.Store(f.Name(), struct{}{})
	}
}

// site is the position of the first frame, skip frames up from site
// itself (site(2) is site's caller's caller), whose function is not a
// helper.
func site(skip int) string {
	var pcs [32]uintptr
	n := runtime.Callers(skip+1, pcs[:])
	fs := runtime.CallersFrames(pcs[:n])
	first := ""
	for {
		f, more := fs.Next()
		pos := fmt.Sprintf("%s:%d", f.File, f.Line)
		if first == "" {
			first = pos
		}
		if _, helper := helpers.Load(f.Function); !helper && f.Function != "" {
			return pos
		}
		if !more {
			break
		}
	}
	if first == "" {
		return "unknown position"
	}
	return first
}

// trackers are the Ledgers alive, which CheckRead asks about a poisoned
// object.
var trackers struct {
	sync.Mutex
	set map[tracker]struct{}
}

// tracker is a Ledger of any type.
type tracker interface {
	// story tells where p was retired and reclaimed, if the ledger
	// tracks p.
	story(p any) (string, bool)
}

func track(t tracker) {
	trackers.Lock()
	defer trackers.Unlock()
	if trackers.set == nil {
		trackers.set = make(map[tracker]struct{})
	}
	trackers.set[t] = struct{}{}
}

func untrack(t tracker) {
	trackers.Lock()
	defer trackers.Unlock()
	delete(trackers.set, t)
}

// history is what the ledgers know of obj, as the rest of a report.
func history(obj any) string {
	trackers.Lock()
	ts := make([]tracker, 0, len(trackers.set))
	for t := range trackers.set {
		ts = append(ts, t)
	}
	trackers.Unlock()
	var b strings.Builder
	for _, t := range ts {
		if s, ok := t.story(obj); ok {
			b.WriteString(s)
		}
	}
	return b.String()
}
