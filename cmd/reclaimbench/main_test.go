package main

import (
	"bytes"
	"encoding/csv"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

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
	} {
		code, stdout, stderr := runCmd(t, args...)
		require.Equal(t, 2, code, "%q", args)
		require.Contains(t, stderr, "Usage: reclaimbench", "%q", args)
		require.Empty(t, stdout, "%q: nothing runs", args)
	}
}

func TestHelpExit0(t *testing.T) {
	code, _, stderr := runCmd(t, "-h")
	require.Zero(t, code)
	require.Contains(t, stderr, "-quick")
}

func TestQuickDefaults(t *testing.T) {
	o, err := parseFlags([]string{"-quick"}, new(bytes.Buffer))
	require.NoError(t, err)
	require.Equal(t, []string{"small"}, o.keys)
	require.Equal(t, 40*time.Millisecond, o.duration)
	require.Len(t, o.goroutines, 2)
	require.Len(t, o.schemes, 8, "every scheme")
	require.Len(t, o.structures, 4, "every structure")

	o, err = parseFlags([]string{"-quick", "-duration", "1s", "-keys", "large"}, new(bytes.Buffer))
	require.NoError(t, err)
	require.Equal(t, time.Second, o.duration, "explicit flags win")
	require.Equal(t, []string{"large"}, o.keys)
}

func TestUnwritableOutFailsFirst(t *testing.T) {
	blocker := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(blocker, nil, 0o644))
	code, stdout, stderr := runCmd(t, "-quick", "-out", filepath.Join(blocker, "out"))
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "output folder")
	require.Empty(t, stdout, "no benchmark ran")
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

	const schemes, mixes, gs, reps = 3, 2, 2, 2 // gc, epoch-pool, hazard
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
