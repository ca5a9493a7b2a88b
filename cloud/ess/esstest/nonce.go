package esstest

import (
	"container/heap"
	"time"
)

// nonceSet remembers SignatureNonces until their request's Timestamp
// leaves the signature window; the server calls forget before every add,
// so the set never holds more than one window's requests.
type nonceSet struct {
	until map[string]time.Time
	queue nonceHeap
}

// forget drops the nonces expired at now.
func (n *nonceSet) forget(now time.Time) {
	for len(n.queue) > 0 && !n.queue[0].expiry.After(now) {
		e := heap.Pop(&n.queue).(nonceEntry)
		if n.until[e.key].Equal(e.expiry) {
			delete(n.until, e.key)
		}
	}
}

// add records key, valid until expiry; false if it is already recorded.
func (n *nonceSet) add(key string, expiry time.Time) bool {
	if n.until == nil {
		n.until = map[string]time.Time{}
	}
	if _, used := n.until[key]; used {
		return false
	}
	n.until[key] = expiry
	heap.Push(&n.queue, nonceEntry{key: key, expiry: expiry})
	return true
}

func (n *nonceSet) len() int { return len(n.until) }

type nonceEntry struct {
	key    string
	expiry time.Time
}

type nonceHeap []nonceEntry

func (h nonceHeap) Len() int           { return len(h) }
func (h nonceHeap) Less(i, j int) bool { return h[i].expiry.Before(h[j].expiry) }
func (h nonceHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *nonceHeap) Push(x any)        { *h = append(*h, x.(nonceEntry)) }
func (h *nonceHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}
