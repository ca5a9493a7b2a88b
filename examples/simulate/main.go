// Command simulate replays a day of load through kscale's pod and node
// autoscaling — the hpa package's HPA, schedule's cron pre-scaling and
// simulate's cluster-autoscaler on node groups with provisioning delays —
// and reports what happened: a summary table, an SVG chart and the series
// as JSON and CSV.
//
// With no flags it runs the built-in scenario (a diurnal web service with a
// morning peak, a CPU HPA, a cron pre-scale before the peak, on-demand and
// spot node groups) against the same scenario without the pre-scale.
//
//	go run ./examples/simulate
//	go run ./examples/simulate -scenario my.yaml -compare other.yaml -out results -duration 48h
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/kscale/kscale/simulate/cluster"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "simulate:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fl := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fl.SetOutput(stderr)
	scenario := fl.String("scenario", "", "scenario YAML file (default: the built-in scenario)")
	compare := fl.String("compare", "", `second scenario to run side by side ("none" for none; default: the built-in HPA-only scenario when -scenario is not given)`)
	out := fl.String("out", "simulate-out", "directory for the chart, JSON and CSV")
	duration := fl.Duration("duration", 0, "simulated time (default: the scenario's)")
	quiet := fl.Bool("q", false, "no progress line")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if fl.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fl.Args())
	}
	first, err := scenarioFrom(*scenario, "default")
	if err != nil {
		return err
	}
	var second *cluster.Scenario
	switch {
	case *compare == "none":
	case *compare != "":
		if second, err = scenarioFrom(*compare, ""); err != nil {
			return err
		}
	case *scenario == "":
		if second, err = cluster.Builtin("hpa-only"); err != nil {
			return err
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var results []*cluster.Result
	for _, sc := range []*cluster.Scenario{first, second} {
		if sc == nil {
			continue
		}
		opts := cluster.Options{Duration: *duration}
		if !*quiet {
			name := sc.Name
			opts.Progress = func(done, total time.Duration) {
				const width = 24
				n := int(int64(width) * int64(done) / int64(max(total, 1)))
				fmt.Fprintf(stderr, "\rsimulating %-12s [%s%s] %s of %s", name, strings.Repeat("#", n), strings.Repeat(".", width-n),
					done.Round(time.Minute), total)
				if done == total {
					fmt.Fprintln(stderr)
				}
			}
		}
		started := time.Now()
		r, err := cluster.Run(ctx, sc, opts)
		if err != nil {
			return err
		}
		if !*quiet {
			fmt.Fprintf(stderr, "  %s simulated in %s\n", r.Duration.Duration, time.Since(started).Round(time.Millisecond))
		}
		results = append(results, r)
	}
	fmt.Fprintln(stdout)
	if err := cluster.WriteTable(stdout, results...); err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	written, err := write(*out, results)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nwrote %s\n", strings.Join(written, ", "))
	return nil
}

func scenarioFrom(path, builtin string) (*cluster.Scenario, error) {
	if path == "" {
		return cluster.Builtin(builtin)
	}
	return cluster.Load(path)
}

func write(dir string, results []*cluster.Result) ([]string, error) {
	var written []string
	create := func(name string, f func(io.Writer) error) error {
		p := filepath.Join(dir, name)
		w, err := os.Create(p)
		if err != nil {
			return err
		}
		err = f(w)
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		written = append(written, p)
		return err
	}
	var errs []error
	errs = append(errs, create("chart.svg", func(w io.Writer) error { return cluster.WriteSVG(w, results...) }))
	for _, r := range results {
		base := fileName(r.Scenario)
		errs = append(errs, create(base+".json", r.WriteJSON), create(base+".csv", r.WriteCSV))
	}
	return written, errors.Join(errs...)
}

// fileName makes a scenario name safe as a file name.
func fileName(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, s)
	if s == "" {
		return "scenario"
	}
	return s
}
