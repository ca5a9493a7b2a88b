package nodegroup

// InstanceState is where an instance is in its life.
type InstanceState string

// Instance states.
const (
	InstanceRunning  InstanceState = "Running"
	InstanceCreating InstanceState = "Creating"
	InstanceDeleting InstanceState = "Deleting"
)

// ErrorClass says why an instance failed to launch.
type ErrorClass string

// Error classes. OutOfCapacity is a stock-out (spot or on-demand) that
// autoscalers answer by backing off the group and trying another.
const (
	NoError       ErrorClass = ""
	OutOfCapacity ErrorClass = "OutOfCapacity"
	OtherError    ErrorClass = "Other"
)

// Instance is one member of a group.
type Instance struct {
	// ProviderID is the node's spec.providerID: aws:///<zone>/<id> on AWS,
	// <region>.<id> on Alibaba Cloud.
	ProviderID   string        `json:"providerID"`
	State        InstanceState `json:"state"`
	ErrorClass   ErrorClass    `json:"errorClass,omitempty"`
	ErrorMessage string        `json:"errorMessage,omitempty"`
	Zone         string        `json:"zone,omitempty"`
	InstanceType string        `json:"instanceType,omitempty"`
}
