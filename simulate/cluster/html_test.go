package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

func htmlReport(t *testing.T, results ...*Result) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := WriteHTML(&b, results...); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestHTMLIsSelfContained(t *testing.T) {
	a, b := mustRun(t, shipped(t, "default"), Options{}), mustRun(t, shipped(t, "hpa-only"), Options{})
	page := string(htmlReport(t, a, b))
	for _, bad := range []string{"src=", "href=", "@import", "url(", "https://", "fetch(", "XMLHttpRequest"} {
		if strings.Contains(page, bad) {
			t.Errorf("the page refers outside itself: %q", bad)
		}
	}
	m := regexp.MustCompile(`(?s)<script type="application/json" id="data">(.*?)</script>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no data")
	}
	var runs []htmlRun
	if err := json.Unmarshal([]byte(m[1]), &runs); err != nil {
		t.Fatal(err)
	}
	if len(runs) != 2 || runs[0].Name != "hpa+cron" || runs[1].Name != "hpa-only" {
		t.Fatalf("runs %+v", len(runs))
	}
	for i, r := range []*Result{a, b} {
		n := 0
		for _, c := range runs[i].Charts {
			for _, l := range c.Lines {
				n++
				if len(l.T) != len(l.Values) || len(l.T) == 0 || len(l.T) > maxHTMLPoints {
					t.Errorf("%s %s: %d times, %d values", c.Title, l.Name, len(l.T), len(l.Values))
				}
			}
		}
		if n != htmlSeriesCount(r) {
			t.Errorf("%d lines, want %d", n, htmlSeriesCount(r))
		}
	}
	for _, want := range []string{"<h2>Scenario hpa-only as run</h2>", "morning-peak", "node-hours", "HPA could not act",
		"Group spot: nodes", "Workload web: replicas"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	// A scenario name cannot inject markup.
	c := mustRun(t, small(Trace{Type: "constant", Value: 10}), Options{Duration: time.Minute})
	c.Scenario = `</script><script>alert(1)</script>`
	if p := string(htmlReport(t, c)); strings.Contains(p, "<script>alert") {
		t.Fatal("a scenario name injected a script")
	}
}

// chromium finds Debian's chromium; without it the test is skipped, unless
// KSCALE_REQUIRE_CHROMIUM is set (make test sets it after installing it).
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("KSCALE_REQUIRE_CHROMIUM") != "" {
		t.Fatal("chromium is required (KSCALE_REQUIRE_CHROMIUM) but not installed: apt-get install -y chromium")
	}
	t.Skip("chromium not installed (make test installs it)")
	return ""
}

func runChromium(t *testing.T, bin string, args ...string) (stdout, stderr []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--user-data-dir=" + t.TempDir(), "--enable-logging=stderr", "--v=0",
		"--virtual-time-budget=10000", "--window-size=1300,2400"}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, errOut.String())
	}
	return out.Bytes(), errOut.Bytes()
}

func TestHTMLRendersInChromium(t *testing.T) {
	bin := chromium(t)
	a, b := mustRun(t, shipped(t, "rps"), Options{}), mustRun(t, shipped(t, "default"), Options{})
	dir := t.TempDir()
	file := filepath.Join(dir, "report.html")
	if err := os.WriteFile(file, htmlReport(t, a, b), 0o644); err != nil {
		t.Fatal(err)
	}
	dom, logs := runChromium(t, bin, "--dump-dom", "file://"+file)
	for _, line := range strings.Split(string(logs), "\n") {
		if strings.Contains(line, "CONSOLE") && (strings.Contains(line, "rror") || strings.Contains(line, "Uncaught")) {
			t.Errorf("console: %s", line)
		}
	}
	if m := regexp.MustCompile(`data-errors="([^"]*)"`).FindSubmatch(dom); m == nil || len(m[1]) != 0 {
		t.Fatalf("script errors: %q", m)
	}
	want := htmlSeriesCount(a) + htmlSeriesCount(b)
	m := regexp.MustCompile(`data-rendered="(\d+)"`).FindSubmatch(dom)
	if m == nil {
		t.Fatal("the charts were not drawn (no data-rendered)")
	}
	if got, _ := strconv.Atoi(string(m[1])); got != want || bytes.Count(dom, []byte(`<polyline class="series"`)) != want {
		t.Fatalf("%s series drawn, %d polylines; want %d", m[1], bytes.Count(dom, []byte(`<polyline class="series"`)), want)
	}
	// Hovering a chart shows the time and each line's value.
	dom, _ = runChromium(t, bin, "--dump-dom", "file://"+file+"#hover-test")
	hm := regexp.MustCompile(`data-hover="([^"]*)"`).FindSubmatch(dom)
	if hm == nil || !regexp.MustCompile(`^1/5 \d\d:\d\d\s+desired: \d+\s+ready: \d+\s+pending: \d+$`).Match(bytes.TrimSpace(hm[1])) {
		t.Fatalf("hover: %q", hm)
	}
	// The screenshot is not blank: the chart colours are on it.
	shot := filepath.Join(dir, "shot.png")
	runChromium(t, bin, "--screenshot="+shot, "file://"+file)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	colours := map[[3]uint8]int{}
	nonWhite := 0
	bounds := img.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			c := [3]uint8{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8)}
			if c != [3]uint8{255, 255, 255} {
				nonWhite++
			}
			colours[c]++
		}
	}
	found := 0
	for _, hex := range palette[:3] {
		v, _ := strconv.ParseUint(hex[1:], 16, 32)
		if colours[[3]uint8{uint8(v >> 16), uint8(v >> 8), uint8(v)}] > 20 {
			found++
		}
	}
	if frac := float64(nonWhite) / float64(bounds.Dx()*bounds.Dy()); frac < 0.01 || found < 2 {
		t.Fatalf("screenshot looks blank: %.3f non-white, %d of the first 3 series colours", frac, found)
	}
}
