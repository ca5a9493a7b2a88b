package ess_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kscale/kscale/cloud/ess"
	"github.com/kscale/kscale/cloud/ess/esstest"
	"github.com/kscale/kscale/nodegroup"
)

// hostileEnv is two groups, "good" and "bad", behind one emulator whose
// middleware the test sets after the provider is built.
type hostileEnv struct {
	srv   *esstest.Server
	clock *fakeClock
	p     *ess.Provider
}

func newHostileEnv(t *testing.T, badSize int, mods ...func(*ess.Config)) *hostileEnv {
	t.Helper()
	srv := newServer(t, esstest.Config{LaunchDelay: -1})
	srv.AddGroup(esstest.Group{ID: "good", MinSize: 0, MaxSize: 10, Size: 2, Configuration: esstest.Configuration{InstanceTypes: []string{"ecs.g7.large"}}})
	srv.AddGroup(esstest.Group{ID: "bad", MinSize: 0, MaxSize: 200, Size: badSize, Configuration: esstest.Configuration{InstanceTypes: []string{"ecs.c7.large"}}})
	clock := newClock()
	cfg := config(srv, clock, "good", "bad")
	for _, m := range mods {
		m(&cfg)
	}
	return &hostileEnv{srv: srv, clock: clock, p: newProvider(t, cfg)}
}

func (e *hostileEnv) refresh(t *testing.T) error {
	t.Helper()
	e.clock.Advance(time.Hour)
	return e.p.Refresh(t.Context())
}

func (e *hostileEnv) group(t *testing.T, id string) nodegroup.NodeGroup {
	t.Helper()
	gs, err := e.p.NodeGroups(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range gs {
		if g.Id() == id {
			return g
		}
	}
	return nil
}

// groupsOf edits every group object of a DescribeScalingGroups answer.
func groupsOf(body map[string]any, edit func(g map[string]any)) {
	for _, g := range body["ScalingGroups"].(map[string]any)["ScalingGroup"].([]any) {
		edit(g.(map[string]any))
	}
}

// checkIsolated: Refresh reported the bad group (naming it, wrapping
// want), dropped it from NodeGroups and its handle returns the error,
// while the good group keeps working.
func checkIsolated(t *testing.T, e *hostileEnv, badHandle nodegroup.NodeGroup, err error, want error, mention string) {
	t.Helper()
	var ne *nodegroup.Error
	if !errors.Is(err, want) || !errors.As(err, &ne) || ne.Group != "bad" || !strings.Contains(err.Error(), mention) {
		t.Fatalf("Refresh: %v; want an error for group bad wrapping %v and naming %q", err, want, mention)
	}
	if e.group(t, "bad") != nil {
		t.Error("the bad group is still listed by NodeGroups")
	}
	if _, err := badHandle.TargetSize(t.Context()); !errors.Is(err, want) {
		t.Errorf("bad TargetSize: %v", err)
	}
	if ns, err := badHandle.Nodes(t.Context()); !errors.Is(err, want) || len(ns) != 0 {
		t.Errorf("bad Nodes: %d nodes, %v", len(ns), err)
	}
	if err := badHandle.IncreaseSize(t.Context(), 1); !errors.Is(err, want) {
		t.Errorf("bad IncreaseSize: %v", err)
	}
	good := e.group(t, "good")
	if good == nil {
		t.Fatal("the good group is gone")
	}
	if err := good.IncreaseSize(t.Context(), 1); err != nil {
		t.Errorf("good IncreaseSize: %v", err)
	}
	if ns, err := good.Nodes(t.Context()); err != nil || len(ns) != 3 {
		t.Errorf("good Nodes: %d, %v", len(ns), err)
	}
}

// Impossible sizes are errors for that group only, and never size an
// allocation: no placeholder is made for a desired capacity of 2^31-1.
func TestAbsurdGroupSizes(t *testing.T) {
	for _, c := range []struct {
		name    string
		edit    func(g map[string]any)
		mention string
	}{
		{"desired 2^31-1", func(g map[string]any) { g["DesiredCapacity"] = 2147483647 }, "DesiredCapacity 2147483647"},
		{"desired and max 2^31-1", func(g map[string]any) { g["DesiredCapacity"], g["MaxSize"] = 2147483647, 2147483647 }, "MaxSize 2147483647"},
		{"negative desired", func(g map[string]any) { g["DesiredCapacity"] = -1 }, "DesiredCapacity -1"},
		{"negative min", func(g map[string]any) { g["MinSize"] = -3 }, "MinSize -3"},
		{"min above max", func(g map[string]any) { g["MinSize"], g["MaxSize"] = 9, 4 }, "MinSize 9 is above MaxSize 4"},
		{"desired above max", func(g map[string]any) { g["DesiredCapacity"] = 201 }, "DesiredCapacity 201 is outside [MinSize 0, MaxSize 200]"},
		{"desired below min", func(g map[string]any) { g["MinSize"] = 5 }, "DesiredCapacity 3 is outside [MinSize 5, MaxSize 200]"},
		{"huge total capacity", func(g map[string]any) { g["TotalCapacity"] = 1 << 40 }, "TotalCapacity 1099511627776"},
		{"negative pending", func(g map[string]any) { g["PendingCapacity"] = -7 }, "PendingCapacity -7"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newHostileEnv(t, 3)
			bad := e.group(t, "bad")
			e.srv.Use(esstest.RewriteJSON("ess:DescribeScalingGroups", func(r *http.Request, body map[string]any) {
				groupsOf(body, func(g map[string]any) {
					if g["ScalingGroupId"] == "bad" {
						c.edit(g)
					}
				})
			}))
			err := e.refresh(t)
			checkIsolated(t, e, bad, err, ess.ErrInvalidResponse, c.mention)
			// Once the cloud answers sanely again, the group is back.
			e.srv.ClearMiddleware()
			if err := e.refresh(t); err != nil || e.group(t, "bad") == nil {
				t.Errorf("after recovery: %v", err)
			}
		})
	}
}

// New refuses to start on a group with impossible sizes, naming it.
func TestNewRefusesAbsurdGroup(t *testing.T) {
	srv := newServer(t, esstest.Config{})
	id := srv.AddGroup(esstest.Group{MaxSize: 5, Size: 1, Configuration: esstest.Configuration{InstanceTypes: []string{"ecs.g7.large"}}})
	srv.Use(esstest.RewriteJSON("ess:DescribeScalingGroups", func(r *http.Request, body map[string]any) {
		groupsOf(body, func(g map[string]any) { g["DesiredCapacity"] = 2147483647 })
	}))
	_, err := ess.New(t.Context(), config(srv, newClock(), id))
	if !errors.Is(err, ess.ErrInvalidResponse) || !strings.Contains(err.Error(), id) {
		t.Fatalf("New: %v", err)
	}
}

// A named group the cloud stops returning is an error naming it; the
// other groups keep working.
func TestNamedGroupMissing(t *testing.T) {
	e := newHostileEnv(t, 3)
	bad := e.group(t, "bad")
	e.srv.Use(esstest.RewriteJSON("ess:DescribeScalingGroups", func(r *http.Request, body map[string]any) {
		var keep []any
		for _, g := range body["ScalingGroups"].(map[string]any)["ScalingGroup"].([]any) {
			if g.(map[string]any)["ScalingGroupId"] != "bad" {
				keep = append(keep, g)
			}
		}
		body["ScalingGroups"] = map[string]any{"ScalingGroup": keep}
		body["TotalCount"] = len(keep)
	}))
	checkIsolated(t, e, bad, e.refresh(t), nodegroup.ErrNotFound, "scaling group bad does not exist")
}

// A group's instance listing that never ends, whichever way, is an error
// for that group after a bounded number of calls.
func TestEndlessInstancePages(t *testing.T) {
	for _, c := range []struct {
		name    string
		mw      esstest.Middleware
		mention string
		calls   int
	}{
		{"same full page, PageNumber echoed", esstest.IgnorePageNumber("ess:DescribeScalingInstances"), "only repeats items", 2},
		{"same full page, PageNumber 1", func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if esstest.Action(r) == "ess:DescribeScalingInstances" {
					r.Form.Set("PageNumber", "1")
				}
				next.ServeHTTP(w, r)
			})
		}, "answered with page 1", 2},
		{"fresh items forever, TotalCount huge", esstest.RewriteJSON("ess:DescribeScalingInstances", func(r *http.Request, body map[string]any) {
			body["TotalCount"] = 1 << 40
		}), "TotalCount 1099511627776", 1},
		{"made-up items beyond the group's size", madeUpInstances(10000), "TotalCount 10000 is outside [0, 300]", 1},
		{"made-up items, TotalCount honest", madeUpInstances(0), "", 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newHostileEnv(t, 60)
			bad := e.group(t, "bad")
			e.srv.Use(func(next http.Handler) http.Handler {
				hostile := c.mw(next)
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.Form.Get("ScalingGroupId") == "bad" {
						hostile.ServeHTTP(w, r)
						return
					}
					next.ServeHTTP(w, r)
				})
			})
			e.srv.ResetCalls()
			err := e.refresh(t)
			if n := e.srv.Calls()["ess:DescribeScalingInstances"]; n > c.calls+1 {
				t.Errorf("%d DescribeScalingInstances calls, want at most %d", n, c.calls+1)
			}
			if c.mention == "" {
				// Bounded by the honest TotalCount: the listing ends, with
				// the made-up instances (nothing tells them apart).
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			checkIsolated(t, e, bad, err, ess.ErrInvalidResponse, c.mention)
		})
	}
}

// madeUpInstances answers every instance page with 50 new made-up
// instances and the given TotalCount (0: the real one).
func madeUpInstances(total int) esstest.Middleware {
	n := 0
	return esstest.RewriteJSON("ess:DescribeScalingInstances", func(r *http.Request, body map[string]any) {
		var list []any
		for range 50 {
			n++
			list = append(list, map[string]any{"InstanceId": fmt.Sprint("i-fake", n), "ScalingGroupId": "bad", "LifecycleState": "InService"})
		}
		body["ScalingInstances"] = map[string]any{"ScalingInstance": list}
		if total > 0 {
			body["TotalCount"] = total
		}
	})
}

// Tag discovery whose pages never end fails the refresh (the provider
// cannot know which groups exist) after two calls, keeping the last cache.
func TestEndlessGroupPages(t *testing.T) {
	srv := newServer(t, esstest.Config{})
	tags := map[string]string{"k8s.io/cluster-autoscaler/enabled": "true"}
	for range 60 {
		srv.AddGroup(esstest.Group{MaxSize: 3, Tags: tags, Configuration: esstest.Configuration{InstanceTypes: []string{"ecs.g7.large"}}})
	}
	clock := newClock()
	cfg := config(srv, clock)
	cfg.DiscoveryTags = map[string]string{"k8s.io/cluster-autoscaler/enabled": ""}
	p := newProvider(t, cfg)
	if gs, _ := p.NodeGroups(t.Context()); len(gs) != 60 {
		t.Fatalf("%d groups over two honest pages, want 60", len(gs))
	}
	srv.Use(esstest.IgnorePageNumber("ess:DescribeScalingGroups"))
	srv.ResetCalls()
	clock.Advance(time.Hour)
	err := p.Refresh(t.Context())
	if !errors.Is(err, ess.ErrInvalidResponse) || !strings.Contains(err.Error(), "page 2") {
		t.Fatalf("Refresh: %v", err)
	}
	if n := srv.Calls()["ess:DescribeScalingGroups"]; n != 2 {
		t.Errorf("%d DescribeScalingGroups calls, want 2", n)
	}
	if gs, _ := p.NodeGroups(t.Context()); len(gs) != 60 {
		t.Errorf("%d groups after the failed refresh, want the cached 60", len(gs))
	}
}

// An empty 200 body, a 200 without a RequestId and a 200 carrying an
// error code are errors (retried as the call is safe to repeat), never "no
// groups"; a throttling code in a 200 is still throttling.
func TestBrokenOKResponses(t *testing.T) {
	for _, c := range []struct {
		name string
		mw   esstest.Middleware
		want []error
		text string
	}{
		{"empty body", esstest.EmptyBody("ess:DescribeScalingGroups"), []error{ess.ErrInvalidResponse}, "empty body"},
		{"no RequestId", esstest.RewriteJSON("ess:DescribeScalingGroups", func(r *http.Request, body map[string]any) {
			clear(body)
		}), []error{ess.ErrInvalidResponse}, "without a RequestId"},
		{"error code", esstest.ErrorIn200("ess:DescribeScalingGroups", "InternalError", "The request processing has failed due to some unknown error."),
			[]error{ess.ErrInvalidResponse}, "InternalError"},
		{"not JSON", func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				_, _ = w.Write([]byte("<html>502 Bad Gateway</html>"))
			})
		}, nil, "JsonUnmarshalError"},
		{"throttling code", esstest.ErrorIn200("ess:DescribeScalingGroups", "Throttling.User", "Request was denied due to user flow control."),
			[]error{ess.ErrInvalidResponse, nodegroup.ErrThrottled}, "Throttling.User"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newHostileEnv(t, 3)
			e.srv.Use(c.mw)
			err := e.refresh(t)
			for _, w := range c.want {
				if !errors.Is(err, w) {
					t.Errorf("Refresh: %v, want %v", err, w)
				}
			}
			if err == nil || !strings.Contains(err.Error(), c.text) {
				t.Errorf("Refresh: %v, want it to say %q", err, c.text)
			}
			if gs, _ := e.p.NodeGroups(t.Context()); len(gs) != 2 {
				t.Errorf("%d groups, want the cached 2", len(gs))
			}
			e.srv.ClearMiddleware()
			if err := e.refresh(t); err != nil {
				t.Errorf("after recovery: %v", err)
			}
		})
	}
	// The same on a size change: a ScaleWithAdjustment answered with an
	// empty body is not a success.
	e := newHostileEnv(t, 3)
	e.srv.Use(esstest.EmptyBody("ess:ScaleWithAdjustment"))
	if err := e.group(t, "good").IncreaseSize(t.Context(), 1); !errors.Is(err, ess.ErrInvalidResponse) {
		t.Errorf("IncreaseSize answered with an empty body: %v", err)
	}
}

// A DescribeScalingGroups by ID that returns a group not asked for is an
// error, not a new group to manage.
func TestUnaskedGroup(t *testing.T) {
	e := newHostileEnv(t, 3)
	e.srv.Use(esstest.RewriteJSON("ess:DescribeScalingGroups", func(r *http.Request, body map[string]any) {
		groupsOf(body, func(g map[string]any) {
			if g["ScalingGroupId"] == "bad" {
				g["ScalingGroupId"] = "someone-elses"
			}
		})
	}))
	if err := e.refresh(t); !errors.Is(err, ess.ErrInvalidResponse) || !strings.Contains(err.Error(), "someone-elses") {
		t.Fatalf("Refresh: %v", err)
	}
}

// Error bodies the SDK cannot read (it type-asserts their fields) are an
// error, never a panic.
func TestUnreadableErrorBody(t *testing.T) {
	e := newHostileEnv(t, 3)
	e.srv.Use(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(map[string]any{"RequestId": 12, "Code": 5, "Message": []int{1}})
		})
	})
	if err := e.refresh(t); err == nil {
		t.Fatal("Refresh succeeded")
	}
}

// Instance types with impossible resources are refused, naming the type,
// for the groups using them only.
func TestAbsurdInstanceTypes(t *testing.T) {
	for _, c := range []struct {
		name    string
		edit    func(it map[string]any)
		mention string
	}{
		{"negative vCPU", func(it map[string]any) { it["CpuCoreCount"] = -4 }, "CpuCoreCount -4"},
		{"no vCPU", func(it map[string]any) { it["CpuCoreCount"] = 0 }, "CpuCoreCount 0"},
		{"absurd vCPU", func(it map[string]any) { it["CpuCoreCount"] = 1 << 40 }, "CpuCoreCount 1099511627776"},
		{"absurd memory", func(it map[string]any) { it["MemorySize"] = 1e308 }, "MemorySize 1e+308"},
		{"negative memory", func(it map[string]any) { it["MemorySize"] = -8 }, "MemorySize -8"},
		{"negative GPUs", func(it map[string]any) { it["GPUAmount"] = -1 }, "GPUAmount -1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := newServer(t, esstest.Config{})
			srv.AddGroup(esstest.Group{ID: "good", MaxSize: 3, Configuration: esstest.Configuration{InstanceTypes: []string{"ecs.g7.large"}}})
			srv.AddGroup(esstest.Group{ID: "bad", MaxSize: 3, Configuration: esstest.Configuration{InstanceTypes: []string{"ecs.c7.large"}}})
			srv.Use(esstest.RewriteJSON("ecs:DescribeInstanceTypes", func(r *http.Request, body map[string]any) {
				for _, it := range body["InstanceTypes"].(map[string]any)["InstanceType"].([]any) {
					if it.(map[string]any)["InstanceTypeId"] == "ecs.c7.large" {
						c.edit(it.(map[string]any))
					}
				}
			}))
			p := newProvider(t, config(srv, newClock(), "good", "bad"))
			gs, _ := p.NodeGroups(t.Context())
			for _, g := range gs {
				tpl, err := g.Template(t.Context())
				switch g.Id() {
				case "good":
					if err != nil || tpl.Capacity.MilliCPU != 2000 {
						t.Errorf("good template: %v", err)
					}
				case "bad":
					if !errors.Is(err, ess.ErrInvalidResponse) || !strings.Contains(err.Error(), "ecs.c7.large") || !strings.Contains(err.Error(), c.mention) {
						t.Errorf("bad template: %v, want it to name ecs.c7.large and %q", err, c.mention)
					}
				}
			}
		})
	}
}

// A legitimate listing over several pages is read whole.
func TestManyInstancePages(t *testing.T) {
	e := newHostileEnv(t, 120)
	ns, err := e.group(t, "bad").Nodes(t.Context())
	if err != nil || len(ns) != 120 {
		t.Fatalf("%d nodes, %v", len(ns), err)
	}
}

// A delta that would overflow target+delta is refused as above MaxSize,
// not wrapped into a negative target.
func TestIncreaseSizeHugeDelta(t *testing.T) {
	e := newHostileEnv(t, 3)
	g := e.group(t, "good")
	if err := g.IncreaseSize(t.Context(), math.MaxInt); !errors.Is(err, nodegroup.ErrAtMax) {
		t.Fatalf("IncreaseSize(MaxInt): %v", err)
	}
	if err := g.DecreaseTargetSize(t.Context(), math.MaxInt); err == nil {
		t.Fatal("DecreaseTargetSize(MaxInt) succeeded")
	}
	if d := e.srv.Desired("good"); d != 2 {
		t.Errorf("desired %d, want 2", d)
	}
}

// A scaling configuration with an impossible system disk fails its
// group's template, naming the configuration.
func TestAbsurdSystemDisk(t *testing.T) {
	srv := newServer(t, esstest.Config{})
	id := srv.AddGroup(esstest.Group{MaxSize: 3, Configuration: esstest.Configuration{ID: "asc-bad", InstanceTypes: []string{"ecs.g7.large"}}})
	for _, size := range []int{-40, 1 << 40} {
		srv.ClearMiddleware()
		srv.Use(esstest.RewriteJSON("ess:DescribeScalingConfigurations", func(r *http.Request, body map[string]any) {
			for _, c := range body["ScalingConfigurations"].(map[string]any)["ScalingConfiguration"].([]any) {
				c.(map[string]any)["SystemDiskSize"] = size
			}
		}))
		p := newProvider(t, config(srv, newClock(), id))
		gs, _ := p.NodeGroups(t.Context())
		if _, err := gs[0].Template(t.Context()); !errors.Is(err, ess.ErrInvalidResponse) || !strings.Contains(err.Error(), "asc-bad") ||
			!strings.Contains(err.Error(), fmt.Sprint("SystemDiskSize ", size)) {
			t.Errorf("SystemDiskSize %d: %v", size, err)
		}
	}
}
