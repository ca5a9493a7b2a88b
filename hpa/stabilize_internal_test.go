package hpa

import (
	"testing"
	"time"
)

// Upstream's TestStabilizeRecommendationWithBehaviors vectors: the
// stabilized value and the stored recommendations (which entry is reused).
func TestStabilizeWithBehaviorUpstreamVectors(t *testing.T) {
	now := bhNow
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	type rec = Recommendation
	cases := []struct {
		name             string
		recs             []rec
		current, desired int32
		up, down         time.Duration
		want             int32
		wantStored       []int32
	}{
		{"simple scale up stabilization", []rec{{4, ago(2 * time.Minute)}, {5, ago(time.Minute)}}, 1, 7, 5 * time.Minute, 0, 4, []int32{4, 5, 7}},
		{"no scale down stabilization", []rec{{1, ago(2 * time.Minute)}, {2, ago(time.Minute)}}, 100, 3, 5 * time.Minute, 0, 3, []int32{1, 2, 3}},
		{"no scale up stabilization", []rec{{4, ago(2 * time.Minute)}, {5, ago(time.Minute)}}, 1, 3, 0, 5 * time.Minute, 3, []int32{4, 5, 3}},
		{"no scale down stabilization, reuse recommendation element", []rec{{10, ago(10 * time.Minute)}, {9, ago(9 * time.Minute)}}, 100, 3, 0, 0, 3, []int32{10, 3}},
		{"no scale up stabilization, reuse recommendation element", []rec{{10, ago(10 * time.Minute)}, {9, ago(9 * time.Minute)}}, 1, 100, 0, 0, 100, []int32{10, 100}},
		{"scale down stabilization, reuse one of obsolete recommendation element",
			[]rec{{10, ago(10 * time.Minute)}, {4, ago(time.Minute)}, {5, ago(2 * time.Minute)}, {9, ago(9 * time.Minute)}}, 100, 3, 0, 3 * time.Minute, 5, []int32{10, 4, 5, 3}},
		{"scale up stabilization, reuse one of obsolete recommendation element",
			[]rec{{10, ago(100 * time.Minute)}, {6, ago(time.Minute)}, {5, ago(2 * time.Minute)}, {9, ago(3 * time.Minute)}}, 1, 100, 5 * time.Minute, 0, 5, []int32{100, 6, 5, 9}},
		{"do not scale up when prenormalized rec goes down", []rec{{2, ago(100 * time.Minute)}, {3, ago(3 * time.Minute)}}, 2, 1, 5 * time.Minute, 5 * time.Minute, 2, nil},
		{"do not scale down when prenormalized rec goes up", []rec{{2, ago(100 * time.Minute)}, {1, ago(3 * time.Minute)}}, 2, 3, 5 * time.Minute, 5 * time.Minute, 2, nil},
	}
	for _, tc := range cases {
		st := State{Recommendations: append([]rec(nil), tc.recs...)}
		got := st.stabilizeWithBehavior(now, tc.up, tc.down, tc.current, tc.desired)
		if got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
		if tc.wantStored == nil {
			continue
		}
		var stored []int32
		for _, r := range st.Recommendations {
			stored = append(stored, r.Replicas)
		}
		if len(stored) != len(tc.wantStored) {
			t.Errorf("%s: stored %v, want %v", tc.name, stored, tc.wantStored)
			continue
		}
		for i := range stored {
			if stored[i] != tc.wantStored[i] {
				t.Errorf("%s: stored %v, want %v", tc.name, stored, tc.wantStored)
				break
			}
		}
	}
}
