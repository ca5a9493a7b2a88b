package autoscale

import (
	"context"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
)

// fixedInterval is upstream's HPA rate limiter (NewDefaultHPARateLimiter):
// every AddRateLimited waits exactly one sync period, so each key is synced
// once per period whatever happens to it meanwhile, and a failure is retried
// at the next period, not sooner.
type fixedInterval struct{ d time.Duration }

var _ workqueue.TypedRateLimiter[string] = fixedInterval{}

func (f fixedInterval) When(string) time.Duration { return f.d }
func (fixedInterval) Forget(string)               {}
func (fixedInterval) NumRequeues(string) int      { return 0 }

func newQueue(name string, rl workqueue.TypedRateLimiter[string], clk clock.WithTicker) workqueue.TypedRateLimitingInterface[string] {
	return workqueue.NewTypedRateLimitingQueueWithConfig(rl, workqueue.TypedRateLimitingQueueConfig[string]{
		Name: name, Clock: clk, MetricsProvider: noMetrics{}})
}

// runWorkers runs n copies of worker until ctx ends, then shuts the queue
// down and waits for them: the end of both controllers' Run.
func runWorkers(ctx context.Context, q workqueue.TypedRateLimitingInterface[string], n int, worker func(context.Context)) {
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { wait.UntilWithContext(ctx, worker, time.Second) })
	}
	<-ctx.Done()
	q.ShutDown()
	wg.Wait()
}

// noMetrics keeps the queue off workqueue's process-wide metrics provider
// (kscale registers nothing globally).
type noMetrics struct{}

func (noMetrics) NewDepthMetric(string) workqueue.GaugeMetric            { return nopMetric{} }
func (noMetrics) NewAddsMetric(string) workqueue.CounterMetric           { return nopMetric{} }
func (noMetrics) NewLatencyMetric(string) workqueue.HistogramMetric      { return nopMetric{} }
func (noMetrics) NewWorkDurationMetric(string) workqueue.HistogramMetric { return nopMetric{} }
func (noMetrics) NewUnfinishedWorkSecondsMetric(string) workqueue.SettableGaugeMetric {
	return nopMetric{}
}
func (noMetrics) NewLongestRunningProcessorSecondsMetric(string) workqueue.SettableGaugeMetric {
	return nopMetric{}
}
func (noMetrics) NewRetriesMetric(string) workqueue.CounterMetric { return nopMetric{} }

type nopMetric struct{}

func (nopMetric) Inc()            {}
func (nopMetric) Dec()            {}
func (nopMetric) Set(float64)     {}
func (nopMetric) Observe(float64) {}
