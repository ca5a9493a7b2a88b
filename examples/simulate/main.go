// Command simulate replays a day of load through kscale's pod and node
// autoscaling — the hpa package's HPA, schedule's cron pre-scaling and
// simulate's cluster-autoscaler on node groups with provisioning delays —
// and reports what happened: a summary table, an SVG chart, the series as
// JSON and CSV, and with -html a self-contained HTML report.
//
// With no flags it runs the built-in scenario (a diurnal web service with a
// morning peak, a CPU HPA, a cron pre-scale before the peak, on-demand and
// spot node groups) against the same scenario without the pre-scale.
//
//	go run ./examples/simulate
//	go run ./examples/simulate -scenario my.yaml -compare other.yaml -out results -duration 48h
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
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
	def := cluster.DefaultLimits()
	var lim cluster.Limits
	fl.DurationVar(&lim.MaxDuration, "max-duration", def.MaxDuration, "refuse to simulate longer than this")
	fl.IntVar(&lim.MaxWorkloads, "max-workloads", def.MaxWorkloads, "refuse scenarios with more workloads (or groups)")
	maxReplicas := fl.Int("max-replicas", int(def.MaxReplicas), "refuse a workload that may reach more replicas")
	fl.IntVar(&lim.MaxNodesPerGroup, "max-nodes", def.MaxNodesPerGroup, "refuse a node group with a larger max")
	fl.IntVar(&lim.MaxTotalPods, "max-pods", def.MaxTotalPods, "refuse scenarios whose workloads may reach more pods in all")
	fl.Int64Var(&lim.MaxCSVBytes, "max-csv-bytes", def.MaxCSVBytes, "refuse larger CSV traces")
	fl.Int64Var(&lim.MaxSeriesValues, "max-series", def.MaxSeriesValues, "refuse runs whose series would hold more values")
	maxOutput := fl.Int64("max-output-bytes", 512<<20, "refuse runs whose JSON and CSV files would be larger in all (estimated before the run)")
	htmlOut := fl.Bool("html", false, "also write report.html: one self-contained page with the table, interactive charts and the scenarios")
	outside := fl.Bool("allow-outside-csv", false, "let a scenario's csvFile leave the scenario's directory")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if fl.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fl.Args())
	}
	switch {
	case *duration < 0:
		return fmt.Errorf("-duration %s must not be negative", *duration)
	case *maxReplicas <= 0 || *maxReplicas > math.MaxInt32:
		return fmt.Errorf("-max-replicas %d must be in [1, %d]", *maxReplicas, math.MaxInt32)
	case lim.MaxDuration <= 0 || lim.MaxWorkloads <= 0 || lim.MaxNodesPerGroup <= 0 || lim.MaxTotalPods <= 0 || lim.MaxCSVBytes <= 0 ||
		lim.MaxSeriesValues <= 0 || *maxOutput <= 0:
		return errors.New("the -max-* flags must be positive")
	}
	lim.MaxReplicas = int32(*maxReplicas)
	popts := cluster.ParseOptions{Limits: lim, AllowOutsideDir: *outside}
	first, err := scenarioFrom(*scenario, "default", popts)
	if err != nil {
		return hint(err)
	}
	var second *cluster.Scenario
	switch {
	case *compare == "none":
	case *compare != "":
		if second, err = scenarioFrom(*compare, "", popts); err != nil {
			return hint(err)
		}
	case *scenario == "":
		if second, err = cluster.Builtin("hpa-only"); err != nil {
			return err
		}
	}
	if *duration > lim.MaxDuration {
		return hint(fmt.Errorf("%w: -duration %s is over the limit of %s (MaxDuration)", cluster.ErrLimit, *duration, lim.MaxDuration))
	}
	// Size the output before running anything.
	var est int64
	for _, sc := range []*cluster.Scenario{first, second} {
		if sc != nil {
			e := cluster.EstimateOutput(sc, cluster.Options{Duration: *duration})
			est += e.JSONBytes + e.CSVBytes
		}
	}
	if est > *maxOutput {
		return fmt.Errorf("the JSON and CSV output would be about %d MB, over -max-output-bytes %d MB: raise sample, shorten the run or raise the flag",
			est>>20, *maxOutput>>20)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var results []*cluster.Result
	for _, sc := range []*cluster.Scenario{first, second} {
		if sc == nil {
			continue
		}
		opts := cluster.Options{Duration: *duration, Limits: lim}
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
			return hint(err)
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
	written, err := write(*out, results, *htmlOut)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nwrote %s\n", strings.Join(written, ", "))
	return nil
}

func scenarioFrom(path, builtin string, o cluster.ParseOptions) (*cluster.Scenario, error) {
	if path == "" {
		return cluster.Builtin(builtin)
	}
	return cluster.LoadWith(path, o)
}

// hint tells how to raise a limit.
func hint(err error) error {
	if errors.Is(err, cluster.ErrLimit) {
		return fmt.Errorf("%w\n(the limits are there to catch typos; raise one with -max-duration, -max-workloads, -max-replicas, "+
			"-max-nodes, -max-pods, -max-csv-bytes or -max-series if you mean it)", err)
	}
	return err
}

func write(dir string, results []*cluster.Result, withHTML bool) ([]string, error) {
	var written []string
	// Each file is written beside its name and renamed into place, so a
	// failure never leaves a partial file.
	create := func(name string, f func(io.Writer) error) error {
		p := filepath.Join(dir, name)
		w, err := os.CreateTemp(dir, "."+name+".*")
		if err != nil {
			return err
		}
		if err := w.Chmod(0o644); err != nil {
			w.Close()
			os.Remove(w.Name())
			return err
		}
		bw := bufio.NewWriterSize(w, 64<<10)
		err = f(bw)
		if err == nil {
			err = bw.Flush()
		}
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(w.Name(), p)
		}
		if err != nil {
			os.Remove(w.Name())
			return fmt.Errorf("%s: %w", p, err)
		}
		written = append(written, p)
		return nil
	}
	var errs []error
	errs = append(errs, create("chart.svg", func(w io.Writer) error { return cluster.WriteSVG(w, results...) }))
	if withHTML {
		errs = append(errs, create("report.html", func(w io.Writer) error { return cluster.WriteHTML(w, results...) }))
	}
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
