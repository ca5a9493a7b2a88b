package ess_test

import (
	"sync"
	"testing"
	"time"
)

// Readers, refreshes and size changes from many goroutines (run with
// -race): the end state is the sum of the increases.
func TestConcurrentUse(t *testing.T) {
	e := newFaultEnv(t, 1, 0, 100)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				switch i % 3 {
				case 0:
					if err := e.g.IncreaseSize(t.Context(), 1); err != nil {
						t.Error(err)
					}
				case 1:
					e.clock.Advance(time.Hour)
					if err := e.p.Refresh(t.Context()); err != nil {
						t.Error(err)
					}
				default:
					e.g.TargetSize(t.Context())
					e.g.Nodes(t.Context())
					e.g.Template(t.Context())
				}
			}
		}()
	}
	wg.Wait()
	increases := 3 * 5 // goroutines 0, 3, 6
	e.refresh(t)
	if n, _ := e.g.TargetSize(t.Context()); n != 1+increases || e.srv.Desired(e.id) != 1+increases {
		t.Errorf("target %d, desired %d; want %d", n, e.srv.Desired(e.id), 1+increases)
	}
}
