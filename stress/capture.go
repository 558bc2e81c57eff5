package stress

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
)

// Captured is what a function run by Capture reported.
type Captured struct {
	mu       sync.Mutex
	messages []string
	logs     []string
	failed   bool
	skipped  bool
}

// Failed reports whether the function failed.
func (c *Captured) Failed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.failed
}

// Skipped reports whether the function skipped.
func (c *Captured) Skipped() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.skipped
}

// Messages returns the failure messages, in order.
func (c *Captured) Messages() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.messages...)
}

// Logs returns the messages logged with Log and Logf, in order.
func (c *Captured) Logs() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.logs...)
}

// Contains reports whether a failure message contains substr.
func (c *Captured) Contains(substr string) bool {
	for _, m := range c.Messages() {
		if strings.Contains(m, substr) {
			return true
		}
	}
	return false
}

// String lists the failure messages.
func (c *Captured) String() string {
	return strings.Join(c.Messages(), "\n---\n")
}

func (c *Captured) fail(msg string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failed = true
	if msg != "" {
		c.messages = append(c.messages, msg)
	}
}

// Capture runs fn on a new goroutine with a testing.TB that records
// failures instead of reporting them, runs the cleanups fn registered, and
// returns what was recorded. Use it to prove that a harness catches a
// planted bug: the bug must make the captured test fail, while the real
// test t passes.
//
// Fatal, FailNow and Skip end fn's goroutine, as in a test; a panic in fn
// is recorded as a failure. Logs and failures are kept in Captured and
// forwarded to t's log, marked "[captured]". t may be nil (in an Example):
// then nothing is forwarded, and TempDir and ArtifactDir make directories
// that are removed at the end.
//
// fn runs in this process: under -race (RaceEnabled), a data race that fn
// causes is reported by the race detector, which fails the test running
// at the time, t included, whatever fn's Captured says. A test that plants
// a data race and requires the detector to see it runs the planted test
// in a child process instead: see RunChild.
func Capture(t testing.TB, fn func(tb testing.TB)) *Captured {
	c := &Captured{}
	ctx, cancel := context.WithCancel(context.Background())
	tb := &captureTB{TB: t, c: c, ctx: ctx}
	tb.runAlone("panic", func() { fn(tb) })
	cancel()
	tb.runCleanups()
	return c
}

// captureTB records instead of failing. The embedded TB (the real test,
// possibly nil) supplies the methods that are not overridden here.
type captureTB struct {
	testing.TB
	c        *Captured
	ctx      context.Context
	mu       sync.Mutex
	cleanups []func()
	dir      string
}

func (tb *captureTB) Errorf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	tb.c.fail(msg)
	tb.log("captured failure: " + msg)
}

func (tb *captureTB) Error(args ...any) {
	tb.Errorf("%s", strings.TrimSuffix(fmt.Sprintln(args...), "\n"))
}

func (tb *captureTB) Fatalf(format string, args ...any) {
	tb.Errorf(format, args...)
	runtime.Goexit()
}

func (tb *captureTB) Fatal(args ...any) {
	tb.Error(args...)
	runtime.Goexit()
}

func (tb *captureTB) Fail()         { tb.c.fail("") }
func (tb *captureTB) FailNow()      { tb.c.fail(""); runtime.Goexit() }
func (tb *captureTB) Failed() bool  { return tb.c.Failed() }
func (tb *captureTB) Skipped() bool { return tb.c.Skipped() }
func (tb *captureTB) Helper()       {}

func (tb *captureTB) SkipNow() {
	tb.c.mu.Lock()
	tb.c.skipped = true
	tb.c.mu.Unlock()
	runtime.Goexit()
}

func (tb *captureTB) Skip(args ...any) { tb.Log(args...); tb.SkipNow() }

func (tb *captureTB) Skipf(format string, args ...any) { tb.Logf(format, args...); tb.SkipNow() }

func (tb *captureTB) Log(args ...any) { tb.logged(strings.TrimSuffix(fmt.Sprintln(args...), "\n")) }

func (tb *captureTB) Logf(format string, args ...any) { tb.logged(fmt.Sprintf(format, args...)) }

func (tb *captureTB) logged(msg string) {
	tb.c.mu.Lock()
	tb.c.logs = append(tb.c.logs, msg)
	tb.c.mu.Unlock()
	tb.log(msg)
}

func (tb *captureTB) log(msg string) {
	if tb.TB != nil {
		tb.TB.Logf("[captured] %s", msg)
	}
}

func (tb *captureTB) Name() string {
	if tb.TB != nil {
		return tb.TB.Name()
	}
	return "Capture"
}

func (tb *captureTB) Context() context.Context { return tb.ctx }

func (tb *captureTB) Output() io.Writer {
	if tb.TB != nil {
		return tb.TB.Output()
	}
	return io.Discard
}

func (tb *captureTB) Attr(key, value string) {
	if tb.TB != nil {
		tb.TB.Attr(key, value)
	}
}

func (tb *captureTB) Setenv(key, value string) {
	if tb.TB != nil {
		tb.TB.Setenv(key, value)
		return
	}
	old, had := os.LookupEnv(key)
	os.Setenv(key, value)
	tb.Cleanup(func() {
		if had {
			os.Setenv(key, old)
		} else {
			os.Unsetenv(key)
		}
	})
}

func (tb *captureTB) Cleanup(f func()) {
	tb.mu.Lock()
	tb.cleanups = append(tb.cleanups, f)
	tb.mu.Unlock()
}

func (tb *captureTB) TempDir() string {
	if tb.TB != nil {
		return tb.TB.TempDir()
	}
	return tb.ownDir()
}

func (tb *captureTB) ArtifactDir() string {
	if tb.TB != nil {
		return tb.TB.ArtifactDir()
	}
	return tb.ownDir()
}

// ownDir is the directory TempDir and ArtifactDir use without a parent.
func (tb *captureTB) ownDir() string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	if tb.dir == "" {
		dir, err := os.MkdirTemp("", "stress-capture-")
		if err != nil {
			panic(fmt.Sprintf("stress.Capture: %v", err))
		}
		tb.dir = dir
		tb.cleanups = append(tb.cleanups, func() { os.RemoveAll(dir) })
	}
	return tb.dir
}

// runCleanups runs the cleanups last first, each on its own goroutine so
// that one calling FailNow does not skip the others.
func (tb *captureTB) runCleanups() {
	for {
		tb.mu.Lock()
		n := len(tb.cleanups)
		if n == 0 {
			tb.mu.Unlock()
			return
		}
		f := tb.cleanups[n-1]
		tb.cleanups = tb.cleanups[:n-1]
		tb.mu.Unlock()
		tb.runAlone("panic in cleanup", f)
	}
}

// runAlone runs f on a goroutine of its own, as the testing package runs a
// test, so that FailNow (runtime.Goexit) ends f only, and waits for it. A
// panic is recorded as a failure.
func (tb *captureTB) runAlone(what string, f func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			if p := recover(); p != nil {
				tb.Errorf("%s: %v\n%s", what, p, debug.Stack())
			}
		}()
		f()
	}()
	<-done
}
