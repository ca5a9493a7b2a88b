package emulator

import (
	"sync"
	"testing"
)

func TestCalls(t *testing.T) {
	var c Calls
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				c.Add("Describe")
			}
			c.Add("Set")
		}()
	}
	wg.Wait()
	s := c.Snapshot()
	if s["Describe"] != 800 || s["Set"] != 8 || c.Total() != 808 {
		t.Fatalf("%v total %d", s, c.Total())
	}
	s["Describe"] = 0
	if c.Snapshot()["Describe"] != 800 {
		t.Fatal("snapshot aliases the counts")
	}
	c.Reset()
	if c.Total() != 0 {
		t.Fatal("reset")
	}
}
