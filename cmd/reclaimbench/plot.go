package main

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/go-reclaim/reclaim/bench/workload"
)

// plotDir is where the plots go, under -out.
const plotDir = "plots"

// errXYs are points with a range around each y, for error bars.
type errXYs []struct{ x, y, lo, hi float64 }

func (e errXYs) Len() int                    { return len(e) }
func (e errXYs) XY(i int) (float64, float64) { return e[i].x, e[i].y }
func (e errXYs) YError(i int) (float64, float64) {
	return e[i].y - e[i].lo, e[i].hi - e[i].y
}

// schemeColors gives each scheme a distinct color (plotutil's default
// palette has only seven).
var schemeColors = map[workload.Scheme]color.RGBA{
	workload.GC:          {0x33, 0x33, 0x33, 0xff},
	workload.Epoch:       {0x1f, 0x77, 0xb4, 0xff},
	workload.EpochPool:   {0x2c, 0xa0, 0x2c, 0xff},
	workload.EpochRobust: {0xd6, 0x27, 0x28, 0xff},
	workload.Hazard:      {0xff, 0x7f, 0x0e, 0xff},
	workload.Offheap:     {0xbc, 0xbd, 0x22, 0xff},
	workload.Floor:       {0xaa, 0xaa, 0xaa, 0xff},
	workload.Chan:        {0x94, 0x67, 0xbd, 0xff},
	workload.Mutex:       {0x8c, 0x56, 0x4b, 0xff},
	workload.SyncMap:     {0xe3, 0x77, 0xc2, 0xff},
	workload.XSync:       {0x17, 0xbe, 0xcf, 0xff},
	workload.Fastcache:   {0x7f, 0x7f, 0x7f, 0xff},
	workload.Bigcache:    {0x00, 0x00, 0x80, 0xff},
}

// schemeStyle gives each scheme the same color and glyph in every plot.
func schemeStyle(s workload.Scheme) (color.Color, int) {
	return schemeColors[s], slices.Index(workload.Schemes(), s)
}

func newPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = x
	p.Y.Label.Text = y
	p.Y.Tick.Marker = humanTicks{}
	p.Legend.Top = true
	p.Legend.Left = true
	p.Add(plotter.NewGrid())
	return p
}

// finish leaves room above the data for the legend, which sits top left.
func finish(p *plot.Plot, legendLines int) {
	p.Y.Min = 0
	p.Y.Max *= 1 + 0.07*float64(legendLines)
}

// humanTicks are the default ticks labeled 250k, 1.5M rather than
// 250000.00.
type humanTicks struct{}

func (humanTicks) Ticks(min, max float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(min, max)
	for i := range ts {
		if ts[i].Label != "" {
			ts[i].Label = human(ts[i].Value)
		}
	}
	return ts
}

func human(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1e6:
		return strconv.FormatFloat(v/1e6, 'g', 4, 64) + "M"
	case a >= 1e4:
		return strconv.FormatFloat(v/1e3, 'g', 4, 64) + "k"
	default:
		return strconv.FormatFloat(v, 'g', 4, 64)
	}
}

// throughputPlot draws a group's throughput against goroutines, one line
// per scheme, with bars from the slowest to the fastest run.
func throughputPlot(g *group, file string) error {
	p := newPlot(g.title(), "goroutines", "Mops/s (median; bars: min to max)")
	var schemes []workload.Scheme
	var ticks []plot.Tick
	for _, pt := range g.points {
		if !slices.Contains(schemes, pt.variant.Scheme) {
			schemes = append(schemes, pt.variant.Scheme)
		}
		if !slices.ContainsFunc(ticks, func(t plot.Tick) bool { return t.Value == float64(pt.goroutines) }) {
			ticks = append(ticks, plot.Tick{Value: float64(pt.goroutines), Label: fmt.Sprint(pt.goroutines)})
		}
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	for _, sc := range schemes {
		var xys errXYs
		for _, pt := range g.points {
			if pt.variant.Scheme == sc {
				s := pt.sum
				xys = append(xys, struct{ x, y, lo, hi float64 }{float64(pt.goroutines), s.mops, s.mopsMin, s.mopsMax})
			}
		}
		line, points, err := plotter.NewLinePoints(xys)
		if err != nil {
			return err
		}
		bars, err := plotter.NewYErrorBars(xys)
		if err != nil {
			return err
		}
		c, i := schemeStyle(sc)
		line.Color, points.Color, points.Shape, bars.Color = c, c, plotutil.Shape(i), c
		line.Dashes = plotutil.Dashes(i)
		p.Add(line, points, bars)
		p.Legend.Add(string(sc), line, points)
	}
	finish(p, len(schemes))
	return p.Save(7*vg.Inch, 4.5*vg.Inch, file)
}

// pendingPlot draws pending objects over time in the robustness run, one
// line per scheme, and hazard's documented bound as a dotted line.
// epoch-robust's bound is not drawn: it holds once the churn has stopped
// (Robust.Settled), not for the samples taken during it.
func pendingPlot(res *results, file string) error {
	r0 := res.robust[0]
	p := newPlot(fmt.Sprintf("robustness: %s, one reader stalled, %d goroutines churning",
		r0.Variant.Structure.Name, res.machine.gomaxprocs), "seconds", "pending objects")
	for _, r := range res.robust {
		xys := make(plotter.XYs, len(r.Result.Series))
		for i, s := range r.Result.Series {
			xys[i] = plotter.XY{X: s.At.Seconds(), Y: float64(s.Pending)}
		}
		line, err := plotter.NewLine(xys)
		if err != nil {
			return err
		}
		c, _ := schemeStyle(r.Variant.Scheme)
		line.Color = c
		line.Width = vg.Points(1.5)
		p.Add(line)
		p.Legend.Add(string(r.Variant.Scheme), line)
		if r.Hazard != nil && len(xys) > 0 {
			end := xys[len(xys)-1].X
			bound, err := plotter.NewLine(plotter.XYs{{X: 0, Y: float64(r.Bound)}, {X: end, Y: float64(r.Bound)}})
			if err != nil {
				return err
			}
			bound.Color = c
			bound.Dashes = []vg.Length{vg.Points(2), vg.Points(3)}
			p.Add(bound)
			p.Legend.Add(string(r.Variant.Scheme)+" bound", bound)
		}
	}
	finish(p, len(res.robust)+1)
	return p.Save(7*vg.Inch, 4.5*vg.Inch, file)
}

// writePlots writes plots/throughput-<group>.png for each group,
// plots/costs-<group>.png for each bigmap group and
// plots/pending-robustness.png, and returns their paths relative to dir,
// throughput plots keyed by group slug, cost plots by bigmapPlotFile. It
// first removes the plots an earlier run left in the folder, so that a
// reused -out holds only this run's.
func writePlots(dir string, res *results) (map[string]string, string, error) {
	if err := os.MkdirAll(filepath.Join(dir, plotDir), 0o755); err != nil {
		return nil, "", err
	}
	if err := removeOldPlots(filepath.Join(dir, plotDir)); err != nil {
		return nil, "", err
	}
	files := map[string]string{}
	for _, g := range groups(res.points) {
		rel := filepath.Join(plotDir, "throughput-"+g.slug()+".png")
		if err := throughputPlot(g, filepath.Join(dir, rel)); err != nil {
			return nil, "", fmt.Errorf("plot %s: %w", rel, err)
		}
		files[g.slug()] = rel
		if isBigmap(g.structure) {
			rel := filepath.Join(plotDir, bigmapPlotFile(g))
			if err := costsPlot(g, filepath.Join(dir, rel)); err != nil {
				return nil, "", fmt.Errorf("plot %s: %w", rel, err)
			}
			files[bigmapPlotFile(g)] = rel
		}
	}
	var pending string
	if len(res.robust) > 0 {
		pending = filepath.Join(plotDir, "pending-robustness.png")
		if err := pendingPlot(res, filepath.Join(dir, pending)); err != nil {
			return nil, "", fmt.Errorf("plot %s: %w", pending, err)
		}
	}
	return files, pending, nil
}

// plotNames match the files writePlots writes, and nothing else.
var plotNames = []string{"throughput-*.png", "costs-*.png", "pending-robustness.png"}

// removeOldPlots removes the plots in dir that an earlier run wrote. Files
// of other names are left alone.
func removeOldPlots(dir string) error {
	for _, pattern := range plotNames {
		old, err := filepath.Glob(filepath.Join(dir, pattern))
		if err != nil {
			return err
		}
		for _, f := range old {
			if err := os.Remove(f); err != nil {
				return fmt.Errorf("removing an earlier run's plot: %w", err)
			}
		}
	}
	return nil
}
