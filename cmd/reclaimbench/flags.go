package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-reclaim/reclaim/bench/workload"
)

// options is the parsed command line.
type options struct {
	structures []*workload.Structure
	bigmap     uint64 // entries of the bigmap structure
	schemes    []workload.Scheme
	mixes      []workload.Mix
	keys       []string // key range names
	goroutines []int
	duration   time.Duration
	reps       int
	robust     time.Duration
	micro      bool
	microRun   *regexp.Regexp
	count      int
	benchtime  time.Duration
	out        string
	cpuprofile string
	quick      bool
	dryRun     bool
	fences     string   // "both" or "current"
	scChild    bool     // run only the microbenchmarks, report them as JSON lines (see fences.go)
	args       []string // as given, for the report
}

// maxGoroutines is the most goroutines one -goroutines value may ask for.
const maxGoroutines = 4096

// errUsage marks a command-line error: the usage has been printed.
var errUsage = errors.New("usage error")

// quickDefaults are the settings -quick changes, unless given explicitly:
// every scheme still runs, on the small key range, at one goroutine and at
// 2 x GOMAXPROCS, with short runs.
func quickDefaults() map[string]string {
	return map[string]string{
		"keys":       "small",
		"goroutines": fmt.Sprintf("1,%d", 2*runtime.GOMAXPROCS(0)),
		"duration":   "40ms",
		"robust":     "1s",
		"count":      "1",
		"benchtime":  "30ms",
	}
}

// defaultGoroutines is 1, 2, 4, ... up to 2 x GOMAXPROCS, with GOMAXPROCS
// and 2 x GOMAXPROCS always included.
func defaultGoroutines() string {
	p := runtime.GOMAXPROCS(0)
	var gs []int
	for g := 1; g < 2*p; g *= 2 {
		gs = append(gs, g)
	}
	gs = append(gs, p, 2*p)
	slices.Sort(gs)
	return joinInts(slices.Compact(gs))
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}

// structureNames lists the structures, the opt-in ones only with all.
func structureNames(all bool) string {
	var ss []*workload.Structure
	for _, s := range workload.Structures() {
		if all || !s.OptIn {
			ss = append(ss, s)
		}
	}
	return names(ss, func(s *workload.Structure) string { return s.Name })
}

// maxBigmapEntries is the most entries -bigmap-entries may ask for: the
// key range, twice the entries, must fit the workload's 2^32 keys.
const maxBigmapEntries = 1 << 31

func names[T any](xs []T, name func(T) string) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = name(x)
	}
	return strings.Join(s, ",")
}

const usageHead = `Usage: reclaimbench [flags]

Runs the reclaim benchmark suite in this process: the library's lock-free
containers under each reclamation scheme, beside the Go alternatives, for
read/update mixes, key ranges and goroutine counts; a robustness run with a
stalled reader; and the microbenchmarks with their floors. Prints tables and
writes CSV, a markdown report, plots and benchstat-compatible lines to -out.

Flags:
`

// usageTail says how long a run takes; it follows the flags in -h.
func usageTail() string {
	o, err := parseFlags(nil, io.Discard)
	if err != nil {
		return ""
	}
	q, err := parseFlags([]string{"-quick"}, io.Discard)
	if err != nil {
		return ""
	}
	b, err := parseFlags([]string{"-structures", "bigmap", "-micro=false"}, io.Discard)
	if err != nil {
		return ""
	}
	return fmt.Sprintf(`
With the default flags a run takes about %v on this machine (GOMAXPROCS=%d),
-quick about %v, -structures bigmap -micro=false about %v (its prefill
and collections estimated). -dry-run lists what a command line would
measure and how long it would take, without running it. Ctrl-C stops a run
after the current measurement and writes what has been measured (the
report is marked as partial).
`, roundEstimate(planEstimate(o)), runtime.GOMAXPROCS(0), roundEstimate(planEstimate(q)), roundEstimate(planEstimate(b)))
}

// roundEstimate rounds an estimate to what it is worth: seconds under a
// minute, then minutes.
func roundEstimate(d time.Duration) time.Duration {
	if d < time.Minute {
		return d.Round(time.Second)
	}
	return d.Round(time.Minute)
}

// parseFlags parses args. On a usage error it prints the error on one line
// to stderr, with a hint to -h, and returns errUsage; -h prints the usage
// and returns flag.ErrHelp.
func parseFlags(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("reclaimbench", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are printed below, on one line
	fs.Usage = func() {}
	structures := fs.String("structures", structureNames(false), "comma-separated `structures` to measure, or none (only the microbenchmarks and no robustness run);\nthe default leaves out the opt-in ones, which run only when named: "+optInText())
	bigmap := fs.Uint64("bigmap-entries", workload.DefaultBigmapEntries, "`entries` of the bigmap structure (-structures bigmap): its key range is twice that, of which the prefill stores about half")
	schemes := fs.String("schemes", names(workload.Schemes(), func(s workload.Scheme) string { return string(s) }), "comma-separated `schemes` (a structure runs those it has)")
	mixes := fs.String("workloads", names(workload.Mixes(), workload.Mix.String), "comma-separated read/update `mixes` for the set, map and bigmap (stack and queue run 0/100)")
	keys := fs.String("keys", "small,large", "comma-separated key `ranges` (small, large; sizes per structure)")
	goroutines := fs.String("goroutines", defaultGoroutines(), "comma-separated goroutine `counts`")
	duration := fs.Duration("duration", time.Second, "length of each measured run")
	reps := fs.Int("reps", 5, "measured runs of each point; tables show the median and the spread")
	robust := fs.Duration("robust", 5*time.Second, "length of each robustness run (stalled reader); 0 skips it")
	micro := fs.Bool("micro", true, "run the microbenchmarks with their floors")
	microRun := fs.String("run", "", "only microbenchmarks matching this `regexp`, and the floors they are compared with")
	count := fs.Int("count", 5, "runs of each microbenchmark; tables show the median")
	benchtime := fs.Duration("benchtime", 300*time.Millisecond, "target length of each microbenchmark run")
	out := fs.String("out", "out/reclaimbench", "output `folder` for CSV, report.md, plots and benchstat.txt")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the whole invocation to this `file` (narrow it to one cell with the other flags)")
	dryRun := fs.Bool("dry-run", false, "list the points, robustness runs and microbenchmarks the other flags select, and the time they would take; run nothing and write nothing")
	fences := fs.String("fences", "both", "`both`: where asymmetric fences are in use, also run the microbenchmarks on the sequentially consistent path\n(RECLAIM_FENCE=sc, in a child process) and show the two side by side; current: only the path in use")
	scChild := fs.Bool("sc-child", false, "internal: the child process of -fences both")
	quick := fs.Bool("quick", false, "a run of under a minute with every scheme side by side: keys small, goroutines 1 and 2xGOMAXPROCS,\nduration 40ms, robust 1s, count 1, benchtime 30ms (flags given explicitly win)")

	usage := func(format string, a ...any) (*options, error) {
		fmt.Fprintf(stderr, "reclaimbench: %s (reclaimbench -h lists every flag)\n", fmt.Sprintf(format, a...))
		return nil, errUsage
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stderr, usageHead)
			fs.SetOutput(stderr)
			fs.PrintDefaults()
			fmt.Fprint(stderr, usageTail())
			return nil, flag.ErrHelp
		}
		return usage("%v", err)
	}
	if fs.NArg() > 0 {
		return usage("unexpected argument %q", fs.Arg(0))
	}
	if *quick {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		for name, v := range quickDefaults() {
			if !set[name] {
				if err := fs.Set(name, v); err != nil {
					panic(err)
				}
			}
		}
	}

	o := &options{bigmap: *bigmap, duration: *duration, reps: *reps, robust: *robust, micro: *micro,
		count: *count, benchtime: *benchtime, out: *out, cpuprofile: *cpuprofile, quick: *quick, dryRun: *dryRun, fences: *fences, scChild: *scChild, args: args}
	if o.fences != "both" && o.fences != "current" {
		return usage("-fences: %q is neither both nor current", o.fences)
	}
	var err error
	if *structures != "none" {
		if o.structures, err = parseList(*structures, lookupStructure); err != nil {
			return usage("-structures: %v", err)
		}
	}
	switch {
	case o.bigmap < 1:
		return usage("-bigmap-entries must be at least 1")
	case o.bigmap > maxBigmapEntries:
		return usage("-bigmap-entries: %d entries need a key range of %d, more than the 2^32 keys a run may have", o.bigmap, 2*o.bigmap)
	}
	for i, s := range o.structures {
		if s.Name == "bigmap" {
			o.structures[i] = workload.Bigmap(o.bigmap)
		}
	}
	if o.schemes, err = parseList(*schemes, lookupScheme); err != nil {
		return usage("-schemes: %v", err)
	}
	if o.mixes, err = parseList(*mixes, workload.ParseMix); err != nil {
		return usage("-workloads: %v", err)
	}
	if o.keys, err = parseList(*keys, lookupKeys); err != nil {
		return usage("-keys: %v", err)
	}
	if o.goroutines, err = parseList(*goroutines, parseCount); err != nil {
		return usage("-goroutines: %v", err)
	}
	slices.Sort(o.goroutines) // measured smallest first: the plan, the report and the tables say so too
	if s := unsized(o); s != nil {
		return usage("-keys %s selects none of %s's key ranges (it has %s)", strings.Join(o.keys, ","), s.Name,
			names(s.KeyRanges, func(kr workload.KeyRange) string { return kr.Name }))
	}
	if o.microRun, err = regexp.Compile(*microRun); err != nil {
		return usage("-run: %v", err)
	}
	switch {
	case o.duration < time.Millisecond:
		return usage("-duration must be at least 1ms: a shorter run may complete no operation, and a ratio of none means nothing")
	case o.reps < 1:
		return usage("-reps must be at least 1")
	case o.robust < 0:
		return usage("-robust must not be negative")
	case o.count < 1:
		return usage("-count must be at least 1")
	case o.benchtime <= 0:
		return usage("-benchtime must be positive")
	case o.out == "":
		return usage("-out must name a folder")
	}
	if len(plan(o)) == 0 && len(robustPlan(o)) == 0 && !o.micro {
		return usage("nothing to run: no selected structure has a selected scheme")
	}
	return o, nil
}

// parseList splits a comma-separated list and parses each item, refusing
// empty lists and duplicates.
func parseList[T comparable](s string, parse func(string) (T, error)) ([]T, error) {
	var out []T
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		v, err := parse(item)
		if err != nil {
			return nil, err
		}
		if slices.Contains(out, v) {
			return nil, fmt.Errorf("%q given twice", item)
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, errors.New("empty list")
	}
	return out, nil
}

// optInText lists the opt-in structures for -h.
func optInText() string {
	var s []string
	for _, st := range workload.Structures() {
		if st.OptIn {
			s = append(s, st.Name)
		}
	}
	return strings.Join(s, ", ")
}

// unsized returns a selected opt-in structure none of whose key ranges
// -keys selects, or nil. An opt-in structure is always named on the
// command line, so leaving it out (bigmap, whose one range is large, under
// -quick's keys small) is an error rather than a silent omission; stack
// and queue, which have only small keys, are left out of -keys large as
// before.
func unsized(o *options) *workload.Structure {
	for _, s := range o.structures {
		if s.OptIn && !slices.ContainsFunc(s.KeyRanges, func(kr workload.KeyRange) bool { return slices.Contains(o.keys, kr.Name) }) {
			return s
		}
	}
	return nil
}

func lookupStructure(name string) (*workload.Structure, error) {
	for _, s := range workload.Structures() {
		if s.Name == name {
			return s, nil
		}
	}
	return nil, fmt.Errorf("unknown structure %q (have %s)", name, structureNames(true))
}

func lookupScheme(name string) (workload.Scheme, error) {
	if slices.Contains(workload.Schemes(), workload.Scheme(name)) {
		return workload.Scheme(name), nil
	}
	return "", fmt.Errorf("unknown scheme %q (have %s)", name,
		names(workload.Schemes(), func(s workload.Scheme) string { return string(s) }))
}

func lookupKeys(name string) (string, error) {
	if name != "small" && name != "large" {
		return "", fmt.Errorf("unknown key range %q (have small, large)", name)
	}
	return name, nil
}

func parseCount(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%q is not a positive count", s)
	}
	if n > maxGoroutines {
		return 0, fmt.Errorf("%d goroutines is more than the %d one run may have", n, maxGoroutines)
	}
	return n, nil
}
