package main

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/go-reclaim/reclaim/bench/workload"
	"github.com/go-reclaim/reclaim/internal/fence"
)

func TestMain(m *testing.M) {
	if os.Getenv("RECLAIMBENCH_TEST_MAIN") == "1" {
		main() // the command itself, for tests that signal a process
	}
	// The command starts itself as a child for -fences both (os.Executable,
	// here this test binary): the child must be the command too.
	os.Setenv("RECLAIMBENCH_TEST_MAIN", "1")
	goleak.VerifyTestMain(m)
}

func runCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestBadFlagsExit2(t *testing.T) {
	for _, args := range [][]string{
		{"-nope"},
		{"-structures", "tree"},
		{"-schemes", "rcu"},
		{"-workloads", "30/30"},
		{"-workloads", "90/10,90/10"},
		{"-keys", "medium"},
		{"-goroutines", "0"},
		{"-goroutines", "two"},
		{"-goroutines", ""},
		{"-duration", "0s"},
		{"-duration", "soon"},
		{"-reps", "0"},
		{"-count", "0"},
		{"-benchtime", "-1s"},
		{"-robust", "-1s"},
		{"-run", "["},
		{"-out", ""},
		{"stray"},
		{"-structures", "set", "-schemes", "chan", "-micro=false", "-robust", "0"},
		{"-structures", "none", "-micro=false"},
		{"-goroutines", "1,100000"},
	} {
		code, stdout, stderr := runCmd(t, args...)
		require.Equal(t, 2, code, "%q", args)
		require.NotContains(t, stderr, "Usage:", "%q: the error, not the usage", args)
		require.Equal(t, 1, strings.Count(stderr, "\n"), "%q: one line: %s", args, stderr)
		require.True(t, strings.HasPrefix(stderr, "reclaimbench: "), "%q: %s", args, stderr)
		require.True(t, strings.HasSuffix(stderr, "(reclaimbench -h lists every flag)\n"), "%q: %s", args, stderr)
		require.Empty(t, stdout, "%q: nothing runs", args)
	}
}

func TestGoroutinesBounded(t *testing.T) {
	_, err := parseFlags([]string{"-goroutines", "1,1024,4096"}, new(bytes.Buffer))
	require.NoError(t, err)
	// Issue 11 states the robust mode's goals at 64 and 1024 goroutines.
	o, err := parseFlags([]string{"-goroutines", "64,1024", "-schemes", "epoch-pool,epoch-robust"}, new(bytes.Buffer))
	require.NoError(t, err)
	require.Equal(t, []int{64, 1024}, o.goroutines)
	require.Equal(t, []workload.Scheme{workload.EpochPool, workload.EpochRobust}, o.schemes)
	var stderr bytes.Buffer
	_, err = parseFlags([]string{"-goroutines", "4097"}, &stderr)
	require.ErrorIs(t, err, errUsage)
	require.Contains(t, stderr.String(), "-goroutines: 4097 goroutines is more than the 4096 one run may have")
}

// -dry-run lists every point and the time it would take, and neither runs
// nor writes anything.
func TestDryRun(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	code, stdout, stderr := runCmd(t, "-dry-run", "-structures", "stack,set", "-schemes", "gc,hazard",
		"-keys", "small", "-workloads", "90/10", "-goroutines", "1,4", "-run", "^AnnounceClear$", "-out", dir)
	require.Zero(t, code, stderr)
	require.Empty(t, stderr)
	require.Contains(t, stdout, "8 points")
	for _, line := range []string{
		"  stack push/pop, 512 elements, gc, 1 goroutine\n",
		"  stack push/pop, 512 elements, hazard, 4 goroutines\n",
		"  set 90/10, small keys (256), hazard, 4 goroutines\n",
		"  set/hazard\n",
		"  AnnounceClear\n",
	} {
		require.Contains(t, stdout, line)
	}
	require.Regexp(t, `: about \d+[ms]`, stdout)
	require.NoDirExists(t, dir, "a dry run writes nothing")
}

// Wording: counts of one are singular; a stack's key range is shown as the
// elements it holds, as its table title does.
func TestWording(t *testing.T) {
	o, err := parseFlags([]string{"-structures", "stack", "-schemes", "epoch-pool", "-goroutines", "1", "-reps", "1",
		"-robust", "0", "-micro=false"}, new(bytes.Buffer))
	require.NoError(t, err)
	line := planLine(o, plan(o), robustPlan(o), 0)
	require.Contains(t, line, "0 microbenchmarks, 1 workload cell x 1 goroutine count x 1 run of 1s, 0 robustness runs")
	var stack *workload.Structure
	for _, s := range workload.Structures() {
		if s.Name == "stack" {
			stack = s
		}
	}
	require.Equal(t, []string{"stack", stack.Doc, "small: 512 elements", "gc, epoch-pool, epoch-robust, hazard, chan, mutex"},
		structureTable(o).rows[0])
}

func TestHelpExit0(t *testing.T) {
	code, _, stderr := runCmd(t, "-h")
	require.Zero(t, code)
	require.Contains(t, stderr, "Usage: reclaimbench")
	require.Contains(t, stderr, "-quick")
	require.Contains(t, stderr, "-dry-run")
	require.Regexp(t, `With the default flags a run takes about \d+m`, stderr)
}

func TestQuickDefaults(t *testing.T) {
	o, err := parseFlags([]string{"-quick"}, new(bytes.Buffer))
	require.NoError(t, err)
	require.Equal(t, []string{"small"}, o.keys)
	require.Equal(t, 40*time.Millisecond, o.duration)
	require.Len(t, o.goroutines, 2)
	require.Len(t, o.schemes, len(workload.Schemes()), "every scheme")
	require.Contains(t, o.schemes, workload.EpochRobust)
	require.Len(t, o.structures, 4, "every structure")

	o, err = parseFlags([]string{"-quick", "-duration", "1s", "-keys", "large"}, new(bytes.Buffer))
	require.NoError(t, err)
	require.Equal(t, time.Second, o.duration, "explicit flags win")
	require.Equal(t, []string{"large"}, o.keys)
}

func TestUnwritableOutFailsFirst(t *testing.T) {
	blocker := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(blocker, nil, 0o644))
	for _, out := range []string{filepath.Join(blocker, "out"), blocker} {
		code, stdout, stderr := runCmd(t, "-quick", "-out", out)
		require.Equal(t, 2, code, "bad input")
		require.Contains(t, stderr, "reclaimbench: -out: output folder")
		require.Equal(t, 1, strings.Count(stderr, "\n"), stderr)
		require.Empty(t, stdout, "no benchmark ran")
	}
}

// A tiny run of one structure writes every output, and each parses.
func TestEndToEnd(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	code, stdout, stderr := runCmd(t,
		"-structures", "set", "-keys", "small", "-workloads", "90/10,0/100",
		"-goroutines", "1,2", "-duration", "5ms", "-reps", "2", "-robust", "50ms",
		"-run", "^AnnounceClear$", "-count", "1", "-benchtime", "1ms", "-out", dir)
	require.Zero(t, code, stderr)
	require.Contains(t, stdout, "set 90/10, small keys")
	require.Contains(t, stdout, "robustness")
	require.Contains(t, stdout, "AnnounceClear")

	const schemes, mixes, gs, reps = 4, 2, 2, 2 // gc, epoch-pool, epoch-robust, hazard
	readCSV := func(name string) [][]string {
		f, err := os.Open(filepath.Join(dir, name))
		require.NoError(t, err)
		defer f.Close()
		recs, err := csv.NewReader(f).ReadAll()
		require.NoError(t, err, name)
		return recs
	}
	require.Len(t, readCSV("results.csv"), 1+schemes*mixes*gs*reps)
	require.Len(t, readCSV("summary.csv"), 1+schemes*mixes*gs)
	require.Greater(t, len(readCSV("robustness.csv")), 2)
	require.Greater(t, len(readCSV("micro.csv")), 1)

	report, err := os.ReadFile(filepath.Join(dir, "report.md"))
	require.NoError(t, err)
	for _, section := range []string{"# reclaimbench report", "## Targets", "## Results", "## Robustness", "## Microbenchmarks"} {
		require.Contains(t, string(report), section)
	}
	require.Contains(t, string(report), "| robustness, set/epoch-robust |", "the robust mode's robustness target")
	images := regexp.MustCompile(`!\[[^]]*\]\(([^)]+)\)`).FindAllStringSubmatch(string(report), -1)
	require.Len(t, images, mixes+1, "a throughput plot per group and the pending plot")
	for _, m := range images {
		f, err := os.Open(filepath.Join(dir, m[1]))
		require.NoError(t, err)
		cfg, err := png.DecodeConfig(f)
		f.Close()
		require.NoError(t, err, m[1])
		require.Positive(t, cfg.Width)
	}

	bench, err := os.ReadFile(filepath.Join(dir, "benchstat.txt"))
	require.NoError(t, err)
	line := regexp.MustCompile(`^Benchmark\S+-\d+\s+\d+(\s+[-+.\deE]+\s+\S+)+$`)
	var n int
	for l := range strings.Lines(string(bench)) {
		l = strings.TrimSuffix(l, "\n")
		if strings.HasPrefix(l, "Benchmark") {
			require.Regexp(t, line, l)
			n++
		}
	}
	require.Greater(t, n, schemes*mixes*gs*reps, "workload runs and microbenchmarks")
}

// Ctrl-C stops the run after the measurement under way, writes what was
// measured with the report marked partial, and exits 130.
func TestInterruptWritesPartialResults(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGINT to send")
	}
	dir := filepath.Join(t.TempDir(), "out")
	cmd := exec.Command(os.Args[0], "-structures", "stack", "-schemes", "gc,epoch-pool", "-goroutines", "1",
		"-duration", "20ms", "-reps", "1000", "-robust", "0", "-micro=false", "-out", dir)
	cmd.Env = append(os.Environ(), "RECLAIMBENCH_TEST_MAIN=1")
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	sc := bufio.NewScanner(stderr)
	var progress []string
	for sc.Scan() { // the first progress line: the warm-up has run
		progress = append(progress, sc.Text())
		if strings.HasPrefix(sc.Text(), "[") {
			break
		}
	}
	time.Sleep(100 * time.Millisecond) // a few measured runs
	require.NoError(t, cmd.Process.Signal(os.Interrupt))
	for sc.Scan() {
		progress = append(progress, sc.Text())
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, "stdout: %s\nstderr: %s", stdout.String(), strings.Join(progress, "\n"))
	require.Equal(t, exitInterrupted, exit.ExitCode(), strings.Join(progress, "\n"))
	require.Contains(t, strings.Join(progress, "\n"), "interrupted")
	require.Contains(t, stdout.String(), "partial results")

	report, err := os.ReadFile(filepath.Join(dir, "report.md"))
	require.NoError(t, err)
	require.Contains(t, string(report), "**Partial results:**")
	f, err := os.Open(filepath.Join(dir, "results.csv"))
	require.NoError(t, err)
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	require.Greater(t, len(recs), 1, "the runs measured before Ctrl-C")
	require.Less(t, len(recs), 1+2*1000, "not every run")
	require.FileExists(t, filepath.Join(dir, "summary.csv"))
}

// -fences both shows the SC path beside the asymmetric one, measured in a
// child process; -fences current does not start one.
func TestFencesSideBySide(t *testing.T) {
	if !fence.Asymmetric {
		t.Skip("the asymmetric path is not in use here: there is no second path to show")
	}
	args := []string{"-structures", "none", "-run", "EpochHandleEnterExit", "-count", "1", "-benchtime", "1ms", "-robust", "0", "-out", t.TempDir()}
	code, stdout, stderr := runCmd(t, args...)
	require.Zero(t, code, stderr)
	require.Contains(t, stdout, "ns/op (SC)")
	require.Regexp(t, `EpochHandleEnterExit\s+[0-9.]+\s+0\s+AnnounceClear\s+[0-9.]+x\s+[0-9.]+\s+[0-9.]+x`, stdout)
	require.Contains(t, stdout, "fences asymmetric")

	code, stdout, stderr = runCmd(t, append(args, "-fences", "current")...)
	require.Zero(t, code, stderr)
	require.NotContains(t, stdout, "ns/op (SC)")

	code, _, stderr = runCmd(t, append(args, "-fences", "sometimes")...)
	require.Equal(t, 2, code)
	require.Contains(t, stderr, `-fences: "sometimes" is neither both nor current`)
}
