package cluster

import (
	"fmt"
	"html"
	"io"
	"math"
	"strings"
	"time"
)

// Chart geometry.
const (
	svgWidth    = 960
	panelHeight = 170
	marginLeft  = 60
	marginRight = 210
	marginTop   = 40
	panelGap    = 40
)

var palette = []string{"#1f77b4", "#2ca02c", "#d62728", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#7f7f7f"}

// dashes tells the results of a comparison apart.
var dashes = []string{"", "6 4", "2 3", "10 3 2 3"}

type line struct {
	name   string
	color  string
	values []float64
}

type panel struct {
	title string
	lines [][]line // per result
}

// maxChartPoints bounds the points of one chart line; longer series are
// downsampled keeping each bucket's minimum and maximum, so peaks survive
// (the CSV keeps every sample).
const maxChartPoints = 2000

// maxWorkloadPanels bounds the workloads charted one by one.
const maxWorkloadPanels = 20

// chartPanels lays out the panels of a chart: the cluster totals, then per
// workload (matched by name across the results) its replicas and its load
// and metrics.
func chartPanels(results []*Result) []panel {
	panels := []panel{{title: "Replicas"}, {title: "Pending pods"}, {title: "Nodes"}}
	for _, r := range results {
		se := &r.Series
		panels[0].lines = append(panels[0].lines, []line{
			{"desired", palette[0], ints(se.Desired)}, {"ready", palette[1], ints(se.Ready)}})
		panels[1].lines = append(panels[1].lines, []line{{"pending", palette[2], ints(se.Pending)}})
		var nodes []line
		for i, g := range se.Groups {
			nodes = append(nodes, line{g.Name, palette[(3+i)%len(palette)], ints(g.Ready)})
		}
		nodes = append(nodes, line{"total", palette[7], ints(se.Nodes)})
		panels[2].lines = append(panels[2].lines, nodes)
	}
	for wi, w0 := range results[0].Series.Workloads {
		if wi == maxWorkloadPanels {
			break
		}
		reps := panel{title: w0.Name + ": replicas"}
		load := panel{title: w0.Name + ": load (requests/s)"}
		util := panel{title: w0.Name + ": CPU utilization (%)"}
		mem := panel{title: w0.Name + ": memory per pod (MiB)"}
		hasMem := false
		for _, r := range results {
			var ws *WorkloadSeries
			for i := range r.Series.Workloads {
				if r.Series.Workloads[i].Name == w0.Name {
					ws = &r.Series.Workloads[i]
				}
			}
			if ws == nil {
				reps.lines, load.lines, util.lines, mem.lines = append(reps.lines, nil), append(load.lines, nil), append(util.lines, nil), append(mem.lines, nil)
				continue
			}
			reps.lines = append(reps.lines, []line{{"desired", palette[0], ints(ws.Desired)}, {"ready", palette[1], ints(ws.Ready)},
				{"pending", palette[2], ints(ws.Pending)}})
			ls := []line{{"load", palette[4], ws.Load}}
			if ws.RPSPerPod != nil {
				ls = append(ls, line{"per pod", palette[6], ws.RPSPerPod})
			}
			if ws.Queue != nil {
				ls = append(ls, line{"queue", palette[5], ws.Queue})
			}
			load.lines = append(load.lines, ls)
			util.lines = append(util.lines, []line{{"utilization", palette[3], ws.Utilization}})
			if ws.Memory != nil {
				hasMem = true
				mem.lines = append(mem.lines, []line{{"memory", palette[5], ws.Memory}})
			} else {
				mem.lines = append(mem.lines, nil)
			}
		}
		panels = append(panels, reps, load, util)
		if hasMem {
			panels = append(panels, mem)
		}
	}
	return panels
}

// downsample returns at most maxPts points of (t, v), keeping each
// bucket's minimum and maximum in time order.
func downsample(t []int64, v []float64, maxPts int) ([]int64, []float64) {
	n := min(len(t), len(v))
	if n <= maxPts {
		return t[:n], v[:n]
	}
	buckets := maxPts / 2
	ot, ov := make([]int64, 0, maxPts), make([]float64, 0, maxPts)
	for b := range buckets {
		lo, hi := b*n/buckets, (b+1)*n/buckets
		imin, imax := lo, lo
		for i := lo; i < hi; i++ {
			if v[i] < v[imin] {
				imin = i
			}
			if v[i] > v[imax] {
				imax = i
			}
		}
		first, second := min(imin, imax), max(imin, imax)
		ot, ov = append(ot, t[first]), append(ov, v[first])
		if second != first {
			ot, ov = append(ot, t[second]), append(ov, v[second])
		}
	}
	return ot, ov
}

// WriteSVG draws the results on one time axis as a plain SVG document (no
// script): the cluster's replicas (desired and ready), pending pods and
// nodes per group, then for each workload its replicas, load (with the
// per-pod rate and queue when modelled), CPU utilization and memory when
// modelled. With several results (a comparison) each result has its own
// dash pattern, named in the legend; within a panel earlier lines are drawn
// wider and lighter, so lines that overlap stay visible. Long series are
// downsampled to 2 000 points a line, keeping peaks.
func WriteSVG(w io.Writer, results ...*Result) error {
	if len(results) == 0 {
		return fmt.Errorf("cluster: WriteSVG needs a result")
	}
	if len(results) > len(dashes) {
		return fmt.Errorf("cluster: WriteSVG draws at most %d results", len(dashes))
	}
	panels := chartPanels(results)
	total := time.Second
	for _, r := range results {
		total = max(total, r.Duration.Duration)
	}
	height := marginTop + len(panels)*(panelHeight+panelGap) + 10
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`+"\n",
		svgWidth, height, svgWidth, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	names := make([]string, len(results))
	for i, r := range results {
		names[i] = r.Scenario
	}
	fmt.Fprintf(&b, `<text class="title" x="%d" y="20" font-size="14" font-weight="bold">%s</text>`+"\n", marginLeft, html.EscapeString(strings.Join(names, " vs ")))
	plotW := float64(svgWidth - marginLeft - marginRight)
	for pi, p := range panels {
		top := marginTop + pi*(panelHeight+panelGap)
		ymax := 1.0
		for _, ls := range p.lines {
			for _, l := range ls {
				for _, v := range l.values {
					ymax = math.Max(ymax, v)
				}
			}
		}
		ymax, step := niceScale(ymax)
		fmt.Fprintf(&b, `<g class="panel" data-title="%s">`+"\n", html.EscapeString(p.title))
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-weight="bold">%s</text>`+"\n", marginLeft, top-6, html.EscapeString(p.title))
		bottom := float64(top + panelHeight)
		// y axis and grid
		fmt.Fprintf(&b, `<line class="axis y" x1="%d" y1="%d" x2="%d" y2="%.1f" stroke="black"/>`+"\n", marginLeft, top, marginLeft, bottom)
		for v := 0.0; v <= ymax+1e-9; v += step {
			y := bottom - v/ymax*panelHeight
			fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e0e0e0"/>`+"\n", marginLeft, y, float64(marginLeft)+plotW, y)
			fmt.Fprintf(&b, `<text class="tick y" x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", marginLeft-4, y+4, fmtNum(v))
		}
		// x axis and ticks
		fmt.Fprintf(&b, `<line class="axis x" x1="%d" y1="%.1f" x2="%.1f" y2="%.1f" stroke="black"/>`+"\n", marginLeft, bottom, float64(marginLeft)+plotW, bottom)
		tick := timeTick(total)
		for t := time.Duration(0); t <= total; t += tick {
			x := float64(marginLeft) + plotW*t.Seconds()/total.Seconds()
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="black"/>`+"\n", x, bottom, x, bottom+4)
			label := results[0].Start.Add(t).UTC().Format("15:04")
			if total > 48*time.Hour {
				label = results[0].Start.Add(t).UTC().Format("Jan 2")
			}
			fmt.Fprintf(&b, `<text class="tick x" x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", x, bottom+15, label)
		}
		// series
		legendY := top + 10
		for ri, ls := range p.lines {
			r := results[ri]
			for li, l := range ls {
				width := 1.5 + 1.5*float64(len(ls)-1-li)
				fmt.Fprintf(&b, `<polyline class="series" data-series="%s" data-result="%s" fill="none" stroke="%s" stroke-width="%.1f" stroke-opacity="%.2f"`,
					html.EscapeString(l.name), html.EscapeString(r.Scenario), l.color, width, 1-0.25*min(float64(len(ls)-1-li), 2))
				if dashes[ri] != "" {
					fmt.Fprintf(&b, ` stroke-dasharray="%s"`, dashes[ri])
				}
				b.WriteString(` points="`)
				ts, vs := downsample(r.Series.T, l.values, maxChartPoints)
				for i, v := range vs {
					x := float64(marginLeft) + plotW*float64(ts[i])/total.Seconds()
					y := bottom - v/ymax*panelHeight
					if i > 0 {
						b.WriteByte(' ')
					}
					fmt.Fprintf(&b, "%.1f,%.1f", x, y)
				}
				b.WriteString(`"/>` + "\n")
				// legend entry
				lx := float64(marginLeft) + plotW + 12
				fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s" stroke-width="2"`, lx, legendY, lx+20, legendY, l.color)
				if dashes[ri] != "" {
					fmt.Fprintf(&b, ` stroke-dasharray="%s"`, dashes[ri])
				}
				b.WriteString("/>\n")
				label := l.name
				if len(results) > 1 {
					label += " (" + r.Scenario + ")"
				}
				fmt.Fprintf(&b, `<text class="legend" x="%.1f" y="%d">%s</text>`+"\n", lx+25, legendY+4, html.EscapeString(label))
				legendY += 14
			}
		}
		b.WriteString("</g>\n")
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func ints(v []int32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// niceScale rounds max up to a round axis end with about five steps.
func niceScale(maxv float64) (top, step float64) {
	raw := maxv / 5
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if step = m * mag; raw <= step {
			break
		}
	}
	step = math.Max(step, 1)
	return math.Ceil(maxv/step) * step, step
}

func timeTick(total time.Duration) time.Duration {
	for _, t := range []time.Duration{10 * time.Minute, 30 * time.Minute, time.Hour, 3 * time.Hour, 6 * time.Hour, 24 * time.Hour, 7 * 24 * time.Hour} {
		if total/t <= 10 {
			return t
		}
	}
	return 30 * 24 * time.Hour
}

func fmtNum(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%d", int64(v))
	}
	return fmt.Sprintf("%.1f", v)
}
