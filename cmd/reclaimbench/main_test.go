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
	"slices"
	"strconv"
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
		{"-duration", "1ns"}, // no operation completes: ratios of none
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
		{"-bigmap-entries", "0"},
		{"-bigmap-entries", "-1"},
		{"-bigmap-entries", "2147483649"},
		{"-structures", "bigmap", "-quick"}, // -quick's keys are small, bigmap's large
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
	require.Contains(t, stderr, "-bigmap-entries")
	require.Contains(t, stderr, "the default leaves out the opt-in ones, which run only when named: bigmap")
	require.Regexp(t, `-structures bigmap -micro=false about \d+m`, stderr)
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
	require.Equal(t, "stack,queue,set,map", names(o.structures, func(s *workload.Structure) string { return s.Name }),
		"every structure but the opt-in bigmap")

	o, err = parseFlags([]string{"-quick", "-duration", "1s", "-keys", "large"}, new(bytes.Buffer))
	require.NoError(t, err)
	require.Equal(t, time.Second, o.duration, "explicit flags win")
	require.Equal(t, []string{"large"}, o.keys)
}

// bigmap runs only when named; -bigmap-entries sets its size, its key
// range twice that, up to the 2^32 keys a run may have.
func TestBigmapFlags(t *testing.T) {
	o, err := parseFlags(nil, new(bytes.Buffer))
	require.NoError(t, err)
	require.False(t, slices.ContainsFunc(o.structures, func(s *workload.Structure) bool { return s.OptIn }), "opt-in")

	o, err = parseFlags([]string{"-structures", "map,bigmap", "-bigmap-entries", "1000"}, new(bytes.Buffer))
	require.NoError(t, err)
	require.Len(t, o.structures, 2)
	big := o.structures[1]
	require.Equal(t, "bigmap", big.Name)
	require.Equal(t, []workload.KeyRange{{Name: "large", N: 2000}}, big.KeyRanges)
	require.Equal(t, "map", robustPlan(o)[0].Structure.Name, "the robustness run is the map's")
	o.structures = o.structures[1:]
	require.Empty(t, robustPlan(o), "none on bigmap")

	o, err = parseFlags([]string{"-structures", "bigmap", "-bigmap-entries", "2147483648"}, new(bytes.Buffer))
	require.NoError(t, err, "2^32 keys")
	require.Equal(t, uint64(1<<32), o.structures[0].KeyRanges[0].N)

	var stderr bytes.Buffer
	_, err = parseFlags([]string{"-structures", "bigmap", "-keys", "small"}, &stderr)
	require.ErrorIs(t, err, errUsage)
	require.Contains(t, stderr.String(), "-keys small selects none of bigmap's key ranges (it has large)")
	_, err = parseFlags([]string{"-keys", "large"}, new(bytes.Buffer))
	require.NoError(t, err, "stack and queue are left out of -keys large as before")
}

// -dry-run with bigmap lists its points and counts its prefill and
// collections in the estimate.
func TestBigmapDryRun(t *testing.T) {
	args := []string{"-dry-run", "-structures", "bigmap", "-schemes", "offheap,xsync,chan", "-workloads", "90/10",
		"-goroutines", "1,2", "-micro=false"}
	code, stdout, stderr := runCmd(t, args...)
	require.Zero(t, code, stderr)
	require.Contains(t, stdout, "2 workload cells x 2 goroutine counts x 5 runs of 1s, 0 robustness runs")
	require.Contains(t, stdout, "  bigmap 90/10, large keys (20000000), offheap, 1 goroutine\n")
	require.Contains(t, stdout, "  bigmap 90/10, large keys (20000000), xsync, 2 goroutines\n")
	require.Contains(t, stdout, "prefills about 10000000 entries")

	o, err := parseFlags(args, new(bytes.Buffer))
	require.NoError(t, err)
	runs := 2 * 2 * (1 + 5) * time.Second // two cells, each a warm-up and five runs at each of two counts
	require.Greater(t, planEstimate(o), runs+2*workload.DefaultBigmapEntries*prefillPerEntry, "the prefill is counted")
	o, err = parseFlags(append(args, "-bigmap-entries", "1000"), new(bytes.Buffer))
	require.NoError(t, err)
	require.Less(t, planEstimate(o), runs+time.Second)
	_, stdout, _ = runCmd(t, append(args, "-bigmap-entries", "1000")...)
	require.Contains(t, stdout, "large keys (2000)")
	require.NotContains(t, stdout, "prefills about", "nothing worth a note")
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
	requireImages(t, dir, images)

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

// A bigmap run writes the memory and read-latency columns, the bigmap
// table with its cost plot per mix, and issue 14's targets.
func TestBigmapEndToEnd(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	code, stdout, stderr := runCmd(t, "-structures", "bigmap", "-bigmap-entries", "1000",
		"-schemes", "offheap,xsync,fastcache,bigcache,gc,mutex,syncmap", "-goroutines", "1", "-reps", "1",
		"-duration", "20ms", "-micro=false", "-robust", "0", "-out", dir)
	require.Zero(t, code, stderr)
	require.Contains(t, stdout, "bigmap 90/10, large keys (2000)")

	const schemes, mixes = 7, 4
	for _, name := range []string{"results.csv", "summary.csv"} {
		f, err := os.Open(filepath.Join(dir, name))
		require.NoError(t, err)
		recs, err := csv.NewReader(f).ReadAll()
		f.Close()
		require.NoError(t, err, name)
		require.Len(t, recs, 1+schemes*mixes, name)
		col := map[string]int{}
		for i, h := range recs[0] {
			col[h] = i
		}
		for _, h := range []string{"heap_live_bytes", "heap_scan_bytes", "rss_bytes", "read_p99_ns", "read_p999_ns"} {
			require.Contains(t, col, h, name)
		}
		for _, r := range recs[1:] {
			num := func(h string) float64 {
				x, err := strconv.ParseFloat(r[col[h]], 64)
				require.NoError(t, err, "%s %s: %q", name, h, r[col[h]])
				return x
			}
			require.Positive(t, num("heap_live_bytes"), name)
			require.Positive(t, num("heap_scan_bytes"), name)
			if runtime.GOOS == "linux" {
				require.Positive(t, num("rss_bytes"), name)
			}
			if r[col["mix"]] == "0/100" {
				require.Zero(t, num("read_p999_ns"), "%s: no reads in 0/100", name)
			} else {
				require.Positive(t, num("read_p99_ns"), "%s %s", name, r[col["mix"]])
				require.GreaterOrEqual(t, num("read_p999_ns"), num("read_p99_ns"), name)
			}
		}
	}

	b, err := os.ReadFile(filepath.Join(dir, "report.md"))
	require.NoError(t, err)
	report := string(b)
	require.Equal(t, mixes, strings.Count(report, "| scheme | goroutines | Mops/s | read p99 | read p99.9 | GC CPU | GCs/run | heap live (MB) | scannable heap (MB) | RSS (MB) |\n"))
	require.Contains(t, report, "How to read the bigmap tables")
	require.Regexp(t, `\| offheap vs xsync: >= 10x lower GC CPU share \| bigmap 90/10, large keys \(2000\) \| g=1: [^|]+ \| [^|]+\(indicative: 1 run, 1000 entries, not 10000000\) \|`, report)
	require.Contains(t, report, "| offheap vs bigcache: >= 1.5x throughput | bigmap 0/100")
	require.NotContains(t, report, "| offheap vs xsync: read p99.9 <= 0.5x | bigmap 0/100", "no reads to compare")
	require.NotContains(t, report, "epoch-pool vs gc", "the classic targets do not apply to bigmap")
	images := regexp.MustCompile(`!\[[^]]*\]\(([^)]+)\)`).FindAllStringSubmatch(report, -1)
	require.Len(t, images, 2*mixes, "a throughput and a cost plot per mix")
	require.Contains(t, report, "(plots/costs-bigmap-90-10-large.png)")
	requireImages(t, dir, images)
}

// requireImages checks that every image the report links is a PNG.
func requireImages(t *testing.T, dir string, images [][]string) {
	t.Helper()
	for _, m := range images {
		f, err := os.Open(filepath.Join(dir, m[1]))
		require.NoError(t, err)
		cfg, err := png.DecodeConfig(f)
		f.Close()
		require.NoError(t, err, m[1])
		require.Positive(t, cfg.Width)
	}
}

// -goroutines is measured smallest first whatever the order given, and the
// plan, the report and the tables list it so.
func TestGoroutinesSorted(t *testing.T) {
	o, err := parseFlags([]string{"-goroutines", "4,1,2"}, new(bytes.Buffer))
	require.NoError(t, err)
	require.Equal(t, []int{1, 2, 4}, o.goroutines)
}
