// Package emulator holds what the cloud emulators (cloud/asg/asgtest,
// cloud/ess/esstest) share.
package emulator

import "sync"

// Calls counts requests per action. The zero value is ready; it is safe for
// concurrent use.
type Calls struct {
	mu sync.Mutex
	m  map[string]int
}

// Add counts one request for action.
func (c *Calls) Add(action string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]int{}
	}
	c.m[action]++
}

// Snapshot is a copy of the counts.
func (c *Calls) Snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.m))
	for k, v := range c.m {
		out[k] = v
	}
	return out
}

// Total is the sum of the counts.
func (c *Calls) Total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.m {
		n += v
	}
	return n
}

// Reset zeroes the counts.
func (c *Calls) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.m)
}
