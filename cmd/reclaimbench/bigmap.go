package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/go-reclaim/reclaim/bench/workload"
)

// The bigmap structure asks what a map of millions of entries costs the
// rest of the program: the collector's share of the CPU, the heap it
// keeps live and scans, the memory it holds, and how its reads fare while
// the collector runs. Its table and plot show those rather than
// allocations and pending objects.

func isBigmap(s *workload.Structure) bool { return s.Name == "bigmap" }

var bigmapHeader = []string{"scheme", "goroutines", "Mops/s", "read p99", "read p99.9", "GC CPU", "GCs/run",
	"heap live (MB)", "scannable heap (MB)", "RSS (MB)"}

func (p *point) bigmapRow() []string {
	s := p.sum
	p99, p999 := "-", "-"
	if p.mix.Read > 0 {
		p99, p999 = latency(s.readP99), latency(s.readP999)
	}
	return []string{
		string(p.variant.Scheme), fmt.Sprint(p.goroutines), fmt.Sprintf("%.3g", s.mops), p99, p999,
		fmt.Sprintf("%.1f%%", 100*s.gcCPU), fmt.Sprintf("%.1f", s.gcCycles),
		megabytes(s.heapLive), megabytes(s.heapScan), megabytes(s.rss),
	}
}

func megabytes(b float64) string { return fmt.Sprintf("%.1f", b/1e6) }

// barLabel is a bar's value to three digits, whole from 1000 up.
func barLabel(v float64) string {
	if v >= 1000 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.3g", v)
}

// bigmapNote is how to read the bigmap tables, for the report; every is
// the structure's CollectEvery.
func bigmapNote(every time.Duration) string {
	return fmt.Sprintf(`How to read the bigmap tables: a garbage collection is started every %v
during each run, besides those the allocations trigger, as the application
around a big map would cause; GCs/run counts both. Read p99 and p99.9 are
the latency of the timed reads alone (none in 0/100). Heap live is what the
last collection of the run found live, scannable heap the part of the heap
a collection scans for pointers (its mark work), RSS the process's resident
memory at the end of the run (MB: 10^6 bytes). RSS is the whole process's:
freed Go heap is returned to the system before each bigmap cell, but
fastcache never unmaps its chunks, so cells measured after a fastcache cell
carry its memory; measure one scheme per invocation (-schemes) for an RSS
of its own. The plot beside each table shows the costs at the largest
goroutine count.

`, every)
}

// bigmapCost is what a bigmap cell costs beyond its measured runs, per
// entry, for the estimate of -dry-run and -h. Measured with 10 million
// entries and GOMAXPROCS=2; figures, not guarantees.
type bigmapCost struct {
	prefill time.Duration // once a cell, on one goroutine
	// collect is per run: the collection Run starts each run with, and
	// the periodic one a run's end waits for, mark every entry of a map
	// that keeps pointers on the Go heap. Marking is parallel, so it is
	// scaled by 2/GOMAXPROCS.
	collect time.Duration
}

var bigmapCosts = map[workload.Scheme]bigmapCost{
	workload.Offheap:   {prefill: 900 * time.Nanosecond},
	workload.Floor:     {prefill: 300 * time.Nanosecond}, // page faults: the entries are mapped as first written
	workload.GC:        {prefill: 300 * time.Nanosecond, collect: 190 * time.Nanosecond},
	workload.Mutex:     {prefill: 300 * time.Nanosecond}, // no pointers: the collector skips the buckets
	workload.SyncMap:   {prefill: 1400 * time.Nanosecond, collect: 550 * time.Nanosecond},
	workload.XSync:     {prefill: 300 * time.Nanosecond, collect: 250 * time.Nanosecond},
	workload.Fastcache: {prefill: 450 * time.Nanosecond},
	workload.Bigcache:  {prefill: 750 * time.Nanosecond},
}

// bigmapOverhead is a bigmap cell's estimated prefill and collections
// over runs runs.
func bigmapOverhead(c cell, runs int) time.Duration {
	cost, ok := bigmapCosts[c.variant.Scheme]
	if !ok {
		cost.prefill = prefillPerEntry
	}
	collect := cost.collect * 2 / time.Duration(max(2, runtime.GOMAXPROCS(0)))
	return time.Duration(c.keys.N/2) * (cost.prefill + collect*time.Duration(runs))
}

// writeBigmapEstimate says, in -dry-run, what the estimate counts for
// the bigmap cells beyond their runs, which at ten million entries is
// most of their time.
func writeBigmapEstimate(w io.Writer, o *options, cells []cell) {
	var d time.Duration
	var entries uint64
	for _, c := range cells {
		if isBigmap(c.variant.Structure) {
			d += overhead(o, c)
			entries = c.keys.N / 2
		}
	}
	if d >= time.Second {
		fmt.Fprintf(w, "  (bigmap: each cell first prefills about %d entries, and a collection before each run marks them\n"+
			"  where they are on the Go heap: the estimate counts about %v for these, from per-entry figures\n"+
			"  measured on a 2-core machine)\n", entries, roundEstimate(d))
	}
}

// releaseMemory returns what earlier cells freed to the system before a
// bigmap cell, so that its RSS is not theirs as far as the Go runtime can
// help it.
func releaseMemory(s *workload.Structure) {
	if isBigmap(s) {
		debug.FreeOSMemory()
	}
}

// bigmapPlotFile names a bigmap group's cost plot under plotDir, and keys
// it in writePlots' map.
func bigmapPlotFile(g *group) string { return "costs-" + g.slug() + ".png" }

// costsPlot draws, for a bigmap group at its largest goroutine count, a
// bar per scheme in four panels: GC CPU share, read p99.9, heap live and
// RSS; a 0/100 group, which has no reads, shows the scannable heap
// instead of the read latency.
func costsPlot(g *group, file string) error {
	top := 0
	for _, p := range g.points {
		top = max(top, p.goroutines)
	}
	var ps []*point
	for _, p := range g.points {
		if p.goroutines == top {
			ps = append(ps, p)
		}
	}
	panel := func(title string, value func(summary) float64) (*plot.Plot, error) {
		p := newPlot(title, "", "")
		names := make([]string, len(ps))
		labels := plotter.XYLabels{XYs: make(plotter.XYs, len(ps)), Labels: make([]string, len(ps))}
		for i, pt := range ps {
			v := value(pt.sum)
			bar, err := plotter.NewBarChart(plotter.Values{v}, vg.Points(18))
			if err != nil {
				return nil, err
			}
			c, _ := schemeStyle(pt.variant.Scheme)
			bar.XMin, bar.Color, bar.LineStyle.Width = float64(i), c, 0
			p.Add(bar)
			names[i] = string(pt.variant.Scheme)
			labels.XYs[i] = plotter.XY{X: float64(i), Y: v}
			labels.Labels[i] = barLabel(v)
		}
		l, err := plotter.NewLabels(labels)
		if err != nil {
			return nil, err
		}
		for i := range l.TextStyle {
			l.TextStyle[i].XAlign, l.TextStyle[i].YAlign = draw.XCenter, draw.YBottom
		}
		l.Offset.Y = vg.Points(2)
		p.Add(l)
		p.NominalX(names...)
		finish(p, 2) // room for the labels
		p.Y.Max = max(p.Y.Max, 1)
		return p, nil
	}
	type spec struct {
		title string
		value func(summary) float64
	}
	specs := []spec{
		{"GC CPU share (%)", func(s summary) float64 { return 100 * s.gcCPU }},
		{"read p99.9 (µs)", func(s summary) float64 { return s.readP999.Seconds() * 1e6 }},
		{"heap live (MB)", func(s summary) float64 { return s.heapLive / 1e6 }},
		{"RSS (MB)", func(s summary) float64 { return s.rss / 1e6 }},
	}
	if g.mix.Read == 0 {
		specs = slices.Delete(specs, 1, 2)
		specs = append(specs, spec{"scannable heap (MB)", func(s summary) float64 { return s.heapScan / 1e6 }})
	}
	plots := [][]*plot.Plot{make([]*plot.Plot, 2), make([]*plot.Plot, 2)}
	for i, sp := range specs {
		p, err := panel(sp.title, sp.value)
		if err != nil {
			return err
		}
		plots[i/2][i%2] = p
	}

	const w, h = 9 * vg.Inch, 6.5 * vg.Inch
	img := vgimg.New(w, h)
	dc := draw.New(img)
	title := plot.New().Title.TextStyle
	dc.FillText(title, vg.Point{X: w / 2, Y: h - vg.Points(4)}, fmt.Sprintf("%s, %s", g.title(), plural(top, "goroutine")))
	tiles := draw.Tiles{Rows: 2, Cols: 2, PadTop: vg.Points(24), PadBottom: vg.Points(6), PadLeft: vg.Points(6),
		PadRight: vg.Points(12), PadX: vg.Points(24), PadY: vg.Points(18)}
	canvases := plot.Align(plots, tiles, dc)
	for i, row := range plots {
		for j, p := range row {
			p.Draw(canvases[i][j])
		}
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
