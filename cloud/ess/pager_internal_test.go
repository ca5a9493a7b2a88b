package ess

import (
	"fmt"
	"testing"
)

// FuzzPager plays a scripted server against the pager: whatever the
// answers (TotalCount, echoed PageNumber, page lengths, repeated or fresh
// IDs), the listing ends, with done or an error, within maxPages pages,
// and no ID is reported fresh twice.
func FuzzPager(f *testing.F) {
	f.Add(uint16(120), uint16(0), []byte{50, 0, 50, 0, 20, 0})      // honest, 3 pages
	f.Add(uint16(10000), uint16(0), []byte{50, 1})                  // endless fresh full pages
	f.Add(uint16(500), uint16(0), []byte{50, 2})                    // the same page forever
	f.Add(uint16(60), uint16(1), []byte{50, 0})                     // PageNumber ignored, 1 echoed
	f.Add(uint16(65535), uint16(0), []byte{50, 0})                  // TotalCount beyond the limit
	f.Add(uint16(90), uint16(0), []byte{50, 3, 50, 3, 50, 3, 0, 0}) // half repeats
	f.Fuzz(func(t *testing.T, total, echo uint16, script []byte) {
		if len(script) < 2 {
			return
		}
		pg := pager{what: "fuzz", limit: int(total % 12000)}
		reported := map[string]bool{}
		next := 0
		for page := 1; page <= maxPages+1; page++ {
			step := script[(2*(page-1))%len(script) : (2*(page-1))%len(script)+2]
			if len(step) < 2 {
				step = script[:2]
			}
			n, mode := int(step[0]%(pageSize+2)), step[1]%4
			ids := make([]string, n)
			for i := range ids {
				switch mode {
				case 2: // the first page again
					ids[i] = fmt.Sprint("i-", i)
				case 3: // every other item repeats
					if i%2 == 0 && next > 0 {
						ids[i] = fmt.Sprint("i-", i)
						continue
					}
					fallthrough
				default:
					ids[i] = fmt.Sprint("i-", next)
					next++
				}
			}
			echoed := 0
			if echo > 0 {
				echoed = int(echo % 3)
			}
			fresh, done, err := pg.page(page, echoed, int(total), ids)
			if err != nil {
				return
			}
			if len(fresh) != len(ids) {
				t.Fatalf("%d fresh flags for %d items", len(fresh), len(ids))
			}
			for i, ok := range fresh {
				if ok {
					if reported[ids[i]] {
						t.Fatalf("%s reported fresh twice", ids[i])
					}
					reported[ids[i]] = true
				}
			}
			if done {
				return
			}
		}
		t.Fatalf("the listing did not end within %d pages", maxPages)
	})
}
