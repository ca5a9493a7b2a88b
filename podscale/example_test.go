package podscale_test

import (
	"fmt"

	"github.com/kscale/kscale/hpa"
	"github.com/kscale/kscale/podscale"
	"github.com/kscale/kscale/schedule"
)

// A CPU HPA asks for 8 replicas; a schedule's ceiling of 6 is in force.
func ExampleDecide() {
	var st hpa.State // the HPA's memory, kept between syncs
	d, err := podscale.Decide(podscale.Input{
		Spec:        cpuSpec(nil),
		Observation: observe(4, 900), // 4 pods at 90 % of a 50 % target
		Bounds:      schedule.Ceiling(6),
		Rule:        "night",
	}, &st)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(d.Current, "→", d.Desired, d.Reason)
	fmt.Println(d.Message)
	// ... resize the target to d.Desired, then:
	d.Succeeded(&st)
	// Output:
	// 4 → 6 ScheduleCeiling
	// rule "night": the schedule's ceiling of 6 is below the recommendation of 8
}
