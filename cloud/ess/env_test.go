package ess_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kscale/kscale/cloud/ess"
	"github.com/kscale/kscale/cloud/ess/esstest"
	"github.com/kscale/kscale/nodegroup"
	"github.com/kscale/kscale/nodegroup/nodegrouptest"
)

// fakeClock is a manual clock; After fires at once and records the wait,
// so backoff never sleeps.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	waited time.Duration
	waits  int
}

func newClock() *fakeClock { return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.waited += d
	c.waits++
	ch := make(chan time.Time, 1)
	ch <- c.now
	return ch
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func (c *fakeClock) Waits() (int, time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.waits, c.waited
}

const (
	testKeyID  = "LTAI-test"
	testSecret = "test-secret"
)

// newServer starts an emulator that checks signatures with the test key.
func newServer(t testing.TB, cfg esstest.Config) *esstest.Server {
	t.Helper()
	cfg.AccessKeys = map[string]string{testKeyID: testSecret}
	if cfg.LaunchDelay == 0 {
		cfg.LaunchDelay = 2 * time.Minute
	}
	s := esstest.NewServer(cfg)
	t.Cleanup(s.Close)
	return s
}

// config points a provider at the emulator.
func config(s *esstest.Server, clock ess.Clock, groups ...string) ess.Config {
	return ess.Config{
		Region:      s.Region(),
		AccessKeyID: testKeyID, AccessKeySecret: testSecret,
		ESSEndpoint: s.URL, ECSEndpoint: s.URL,
		GroupIDs: groups,
		Clock:    clock,
	}
}

func newProvider(t testing.TB, cfg ess.Config) *ess.Provider {
	t.Helper()
	p, err := ess.New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// env adapts a provider and its emulator to the contract suite.
type env struct {
	srv   *esstest.Server
	clock *fakeClock
	p     *ess.Provider
	fix   map[string]nodegrouptest.Group
}

func newEnv(t *testing.T, f nodegrouptest.Fixture, mods ...func(*ess.Config)) *env {
	srv := newServer(t, esstest.Config{})
	e := &env{srv: srv, clock: newClock(), fix: map[string]nodegrouptest.Group{}}
	var ids []string
	for _, g := range f.Groups {
		srv.AddGroup(esstest.Group{ID: g.ID, MinSize: g.Min, MaxSize: g.Max, Size: g.Size, Zone: g.Zone,
			Configuration: esstest.Configuration{InstanceTypes: []string{g.InstanceType}}})
		e.fix[g.ID] = g
		ids = append(ids, g.ID)
	}
	cfg := config(srv, e.clock, ids...)
	for _, m := range mods {
		m(&cfg)
	}
	e.p = newProvider(t, cfg)
	return e
}

func (e *env) Provider() nodegroup.Provider { return e.p }

// Settle finishes every launch and lets the provider's cache expire.
func (e *env) Settle(t *testing.T) {
	t.Helper()
	e.srv.Settle()
	e.clock.Advance(time.Hour)
	if err := e.p.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func (e *env) StockOut(t *testing.T, group string) {
	g := e.fix[group]
	e.srv.SetStockOut(g.InstanceType, g.Zone, true)
}

func cut(providerID string) (region, id string, ok bool) {
	return strings.Cut(providerID, ".")
}

func contextWithCancel(t *testing.T) (context.Context, context.CancelFunc) {
	return context.WithCancel(t.Context())
}
