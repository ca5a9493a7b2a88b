package cluster

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"time"

	"sigs.k8s.io/yaml"
)

// maxHTMLPoints bounds the points of one line in the HTML report (each
// bucket's minimum and maximum are kept, so peaks show; hover values are
// those points).
const maxHTMLPoints = 1000

// htmlLine and htmlChart are the report's chart data, read by its script.
type htmlLine struct {
	Name   string    `json:"name"`
	Color  string    `json:"color"`
	T      []int64   `json:"t"`
	Values []float64 `json:"v"`
}

type htmlChart struct {
	Title string     `json:"title"`
	Lines []htmlLine `json:"lines"`
}

type htmlRun struct {
	Name     string      `json:"name"`
	Start    string      `json:"start"`
	Duration int64       `json:"duration"`
	Charts   []htmlChart `json:"charts"`
}

type htmlRow struct {
	Name   string
	Values []string
}

type htmlPage struct {
	Title     string
	Names     []string
	Rows      []htmlRow
	Notes     []string
	Scenarios []htmlScenario
	Data      template.JS
}

type htmlScenario struct {
	Name string
	YAML string
}

// WriteHTML writes the results as one self-contained HTML page (no network
// access, no external file): the summary table and its notes, then for
// every chart — the cluster's replicas, pending pods and nodes, each node
// group's nodes and target, each workload's replicas, load and metrics —
// one panel per result side by side, with the values under the pointer
// shown as it moves, and the scenarios as run (defaults applied, inline
// CSV traces elided). Lines are downsampled to 1 000 points keeping peaks;
// the CSV has every sample.
func WriteHTML(w io.Writer, results ...*Result) error {
	if len(results) == 0 {
		return fmt.Errorf("cluster: WriteHTML needs a result")
	}
	page := htmlPage{}
	var runs []htmlRun
	for _, r := range results {
		page.Names = append(page.Names, r.Scenario)
		runs = append(runs, htmlRun{Name: r.Scenario, Start: r.Start.UTC().Format(time.RFC3339), Duration: int64(r.Duration.Seconds()),
			Charts: htmlCharts(r)})
		if r.scenario != nil {
			sc := *r.scenario
			sc.Workloads = append([]Workload(nil), sc.Workloads...)
			for i := range sc.Workloads {
				if t := &sc.Workloads[i].Load; t.CSV != "" {
					t.CSV = fmt.Sprintf("(%d points, %d bytes)", len(t.points), len(t.CSV))
				}
			}
			y, err := yaml.Marshal(&sc)
			if err != nil {
				return fmt.Errorf("cluster: WriteHTML: %w", err)
			}
			page.Scenarios = append(page.Scenarios, htmlScenario{Name: r.Scenario, YAML: string(y)})
		}
	}
	page.Title = page.Names[0]
	if len(page.Names) > 1 {
		page.Title = fmt.Sprintf("%s vs %s", page.Names[0], page.Names[1])
	}
	for _, row := range tableRows() {
		hr := htmlRow{Name: row.name}
		for _, r := range results {
			hr.Values = append(hr.Values, row.f(&r.Summary))
		}
		page.Rows = append(page.Rows, hr)
	}
	page.Notes = notes(results)
	data, err := json.Marshal(runs) // escapes <, > and &: safe inside a script element
	if err != nil {
		return fmt.Errorf("cluster: WriteHTML: %w", err)
	}
	page.Data = template.JS(data)
	return htmlTemplate.Execute(w, page)
}

func htmlCharts(r *Result) []htmlChart {
	se := &r.Series
	mk := func(name, color string, v []float64) htmlLine {
		t, vs := downsample(se.T, v, maxHTMLPoints)
		return htmlLine{Name: name, Color: color, T: t, Values: vs}
	}
	charts := []htmlChart{
		{Title: "Cluster: replicas", Lines: []htmlLine{mk("desired", palette[0], ints(se.Desired)), mk("ready", palette[1], ints(se.Ready)),
			mk("pending", palette[2], ints(se.Pending))}},
	}
	nodes := htmlChart{Title: "Cluster: nodes"}
	for i, g := range se.Groups {
		nodes.Lines = append(nodes.Lines, mk(g.Name, palette[(3+i)%len(palette)], ints(g.Ready)))
	}
	nodes.Lines = append(nodes.Lines, mk("total", palette[7], ints(se.Nodes)))
	charts = append(charts, nodes)
	for _, g := range se.Groups {
		charts = append(charts, htmlChart{Title: "Group " + g.Name + ": nodes", Lines: []htmlLine{
			mk("target", palette[4], ints(g.Target)), mk("ready", palette[3], ints(g.Ready))}})
	}
	for _, ws := range se.Workloads {
		charts = append(charts, htmlChart{Title: "Workload " + ws.Name + ": replicas", Lines: []htmlLine{
			mk("desired", palette[0], ints(ws.Desired)), mk("ready", palette[1], ints(ws.Ready)), mk("pending", palette[2], ints(ws.Pending))}})
		load := htmlChart{Title: "Workload " + ws.Name + ": load (requests/s)", Lines: []htmlLine{mk("load", palette[4], ws.Load)}}
		if ws.RPSPerPod != nil {
			load.Lines = append(load.Lines, mk("per pod", palette[6], ws.RPSPerPod))
		}
		if ws.Queue != nil {
			load.Lines = append(load.Lines, mk("queue", palette[5], ws.Queue))
		}
		charts = append(charts, load, htmlChart{Title: "Workload " + ws.Name + ": CPU utilization (%)", Lines: []htmlLine{
			mk("utilization", palette[3], ws.Utilization)}})
		if ws.Memory != nil {
			charts = append(charts, htmlChart{Title: "Workload " + ws.Name + ": memory per pod (MiB)", Lines: []htmlLine{
				mk("memory", palette[5], ws.Memory)}})
		}
	}
	return charts
}

// htmlSeriesCount is the number of chart lines WriteHTML draws for r (for
// checking a rendered report).
func htmlSeriesCount(r *Result) int {
	n := 0
	for _, c := range htmlCharts(r) {
		n += len(c.Lines)
	}
	return n
}

// tableRow is one row of the summary table.
type tableRow struct {
	name string
	f    func(*Summary) string
}

func tableRows() []tableRow {
	fl := func(v float64, d int) string { return strconv.FormatFloat(v, 'f', d, 64) }
	return []tableRow{
		{"node-hours", func(s *Summary) string { return fl(s.NodeHours, 1) }},
		{"cost ($)", func(s *Summary) string { return fl(s.Cost, 2) }},
		{"peak nodes", func(s *Summary) string { return strconv.Itoa(s.PeakNodes) }},
		{"pod-seconds pending", func(s *Summary) string { return fl(s.PendingPodSeconds, 0) }},
		{"max pending pods", func(s *Summary) string { return strconv.Itoa(s.MaxPendingPods) }},
		{"pod-seconds pending under load", func(s *Summary) string { return fl(s.PendingUnderLoadSeconds, 0) }},
		{"max pod wait (s)", func(s *Summary) string { return strconv.FormatInt(s.MaxPodWait, 10) }},
		{"seconds above target", func(s *Summary) string { return fl(s.AboveTargetSeconds, 0) }},
		{"peak replicas", func(s *Summary) string { return strconv.Itoa(s.PeakReplicas) }},
		{"workload scale events", func(s *Summary) string { return strconv.Itoa(s.WorkloadScaleEvents) }},
		{"node scale-ups", func(s *Summary) string { return strconv.Itoa(s.NodeScaleUps) }},
		{"node scale-downs", func(s *Summary) string { return strconv.Itoa(s.NodeScaleDowns) }},
		{"failed launches", func(s *Summary) string { return strconv.Itoa(s.FailedLaunches) }},
	}
}

var htmlTemplate = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>{{.Title}}</title>
<style>
body { font-family: sans-serif; font-size: 13px; margin: 20px; color: #222; }
table.summary { border-collapse: collapse; }
table.summary td, table.summary th { padding: 2px 10px; border-bottom: 1px solid #ddd; text-align: right; }
table.summary td:first-child { text-align: left; }
.notes li { color: #a33; }
.grid { display: grid; gap: 12px; }
.chart { position: relative; border: 1px solid #eee; }
.chart h3 { font-size: 13px; margin: 4px 8px; }
.tip { position: absolute; pointer-events: none; background: rgba(255,255,255,0.95); border: 1px solid #999; padding: 3px 6px; font-size: 11px; display: none; white-space: nowrap; }
pre { background: #f6f6f6; padding: 8px; overflow: auto; max-height: 400px; }
</style>
</head>
<body data-errors="">
<h1>{{.Title}}</h1>
<table class="summary">
<tr><th></th>{{range .Names}}<th>{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr><td>{{.Name}}</td>{{range .Values}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table>
{{if .Notes}}<ul class="notes">{{range .Notes}}<li>{{.}}</li>{{end}}</ul>{{end}}
<div id="charts"></div>
{{range .Scenarios}}<h2>Scenario {{.Name}} as run</h2>
<pre class="scenario">{{.YAML}}</pre>
{{end}}
<script type="application/json" id="data">{{.Data}}</script>
<script>
(function () {
  "use strict";
  var errors = [];
  function fail(msg) { errors.push(String(msg)); document.body.setAttribute("data-errors", errors.join("\n")); }
  window.addEventListener("error", function (e) { fail(e.message); });
  var origError = console.error;
  console.error = function () { fail(Array.prototype.join.call(arguments, " ")); origError.apply(console, arguments); };
  var NS = "http://www.w3.org/2000/svg";
  var W = 560, H = 200, L = 50, R = 10, T = 10, B = 24;
  function el(name, attrs, parent) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) { e.setAttribute(k, attrs[k]); }
    if (parent) { parent.appendChild(e); }
    return e;
  }
  function clock(start, s) {
    var d = new Date(Date.parse(start) + s * 1000);
    var p = function (n) { return (n < 10 ? "0" : "") + n; };
    return (d.getUTCMonth() + 1) + "/" + d.getUTCDate() + " " + p(d.getUTCHours()) + ":" + p(d.getUTCMinutes());
  }
  function nice(v) {
    if (v <= 0) { return 1; }
    var m = Math.pow(10, Math.floor(Math.log10(v)));
    var steps = [1, 2, 2.5, 5, 10];
    for (var i = 0; i < steps.length; i++) { if (v <= steps[i] * m) { return steps[i] * m; } }
    return 10 * m;
  }
  function draw(box, run, chart, total) {
    var ymax = 1;
    chart.lines.forEach(function (l) { l.v.forEach(function (v) { if (v > ymax) { ymax = v; } }); });
    ymax = nice(ymax);
    var svg = el("svg", {width: W, height: H, viewBox: "0 0 " + W + " " + H, "class": "plot"}, box);
    var pw = W - L - R, ph = H - T - B;
    var x = function (t) { return L + pw * t / total; };
    var y = function (v) { return T + ph - ph * v / ymax; };
    for (var i = 0; i <= 4; i++) {
      var v = ymax * i / 4;
      el("line", {x1: L, x2: W - R, y1: y(v), y2: y(v), stroke: "#eee"}, svg);
      el("text", {x: L - 4, y: y(v) + 4, "text-anchor": "end", "font-size": 10}, svg).textContent = String(Math.round(v * 10) / 10);
    }
    for (var j = 0; j <= 4; j++) {
      var t = total * j / 4;
      el("text", {x: x(t), y: H - 6, "text-anchor": j === 0 ? "start" : j === 4 ? "end" : "middle", "font-size": 10}, svg).textContent = clock(run.start, t);
    }
    el("line", {x1: L, x2: L, y1: T, y2: T + ph, stroke: "#000"}, svg);
    el("line", {x1: L, x2: W - R, y1: T + ph, y2: T + ph, stroke: "#000"}, svg);
    var n = chart.lines.length;
    chart.lines.forEach(function (l, k) {
      var pts = l.t.map(function (t, i) { return x(t).toFixed(1) + "," + y(l.v[i]).toFixed(1); }).join(" ");
      el("polyline", {"class": "series", "data-series": l.name, points: pts, fill: "none", stroke: l.color,
        "stroke-width": 1.5 + 1.5 * (n - 1 - k), "stroke-opacity": 1 - 0.25 * Math.min(n - 1 - k, 2)}, svg);
    });
    var cursor = el("line", {y1: T, y2: T + ph, stroke: "#888", "stroke-dasharray": "3 3", visibility: "hidden"}, svg);
    var tip = document.createElement("div");
    tip.className = "tip";
    box.appendChild(tip);
    svg.addEventListener("mousemove", function (ev) {
      var r = svg.getBoundingClientRect();
      var t = (ev.clientX - r.left - L) / pw * total;
      if (t < 0 || t > total) { tip.style.display = "none"; cursor.setAttribute("visibility", "hidden"); return; }
      var lines = [clock(run.start, t)];
      chart.lines.forEach(function (l) {
        var best = 0;
        for (var i = 0; i < l.t.length; i++) { if (Math.abs(l.t[i] - t) < Math.abs(l.t[best] - t)) { best = i; } }
        if (l.t.length) { lines.push(l.name + ": " + l.v[best]); }
      });
      tip.textContent = "";
      lines.forEach(function (s, i) { if (i) { tip.appendChild(document.createElement("br")); } tip.appendChild(document.createTextNode(s)); });
      tip.style.display = "block";
      tip.style.left = (ev.clientX - r.left + 12) + "px";
      tip.style.top = (ev.clientY - r.top + 30) + "px";
      cursor.setAttribute("x1", x(t)); cursor.setAttribute("x2", x(t)); cursor.setAttribute("visibility", "visible");
    });
    svg.addEventListener("mouseleave", function () { tip.style.display = "none"; cursor.setAttribute("visibility", "hidden"); });
    var legend = document.createElement("div");
    legend.style.margin = "0 8px 6px";
    chart.lines.forEach(function (l) {
      var s = document.createElement("span");
      s.style.color = l.color;
      s.style.marginRight = "12px";
      s.textContent = "\u25A0 " + l.name;
      legend.appendChild(s);
    });
    box.appendChild(legend);
  }
  try {
    var runs = JSON.parse(document.getElementById("data").textContent);
    var total = 1;
    runs.forEach(function (r) { if (r.duration > total) { total = r.duration; } });
    var root = document.getElementById("charts");
    var titles = [];
    runs.forEach(function (r) { r.charts.forEach(function (c) { if (titles.indexOf(c.title) < 0) { titles.push(c.title); } }); });
    titles.forEach(function (title) {
      var h = document.createElement("h2");
      h.textContent = title;
      root.appendChild(h);
      var grid = document.createElement("div");
      grid.className = "grid";
      grid.style.gridTemplateColumns = "repeat(" + runs.length + ", " + W + "px)";
      root.appendChild(grid);
      runs.forEach(function (r) {
        var box = document.createElement("div");
        box.className = "chart";
        var h3 = document.createElement("h3");
        h3.textContent = r.name;
        box.appendChild(h3);
        grid.appendChild(box);
        var c = r.charts.filter(function (c) { return c.title === title; })[0];
        if (c) { draw(box, r, c, total); }
      });
    });
    document.body.setAttribute("data-rendered", String(document.querySelectorAll("polyline.series").length));
    if (location.hash === "#hover-test") {
      // For the report's own test: hover the middle of the first chart.
      var svg = document.querySelector("svg.plot");
      var r = svg.getBoundingClientRect();
      svg.dispatchEvent(new MouseEvent("mousemove", {clientX: r.left + r.width / 2, clientY: r.top + r.height / 2, bubbles: true}));
      document.body.setAttribute("data-hover", svg.parentNode.querySelector(".tip").innerText);
    }
  } catch (e) {
    fail(e && e.stack ? e.stack : e);
  }
})();
</script>
</body>
</html>
`))
