// Package nodebridge plays a cloud's node lifecycle on the test control plane
// (internal/testcluster) for a cloud emulator (cloud/asg/asgtest,
// cloud/ess/esstest), so a node autoscaler under test runs its whole loop for
// real: pending pods → the autoscaler raises a group through the SDK-backed
// provider → the emulator launches instances on its virtual clock → the bridge
// registers each running instance as a kwok Node → kube-scheduler binds the
// pods; and back: the autoscaler terminates an instance → the bridge deletes
// its Node.
//
// # What a Node looks like
//
// For every instance its Source reports running (Auto Scaling InService, ESS
// InService) a Bridge creates one Node, named Options.Prefix + the instance
// ID, with:
//
//   - capacity and allocatable of the group's template as the provider builds
//     it (asg.Group.Templates for the instance's own type, ess.Group.Template):
//     CPU, memory, pods, ephemeral storage and extended resources;
//   - the template's labels and taints, with topology.kubernetes.io/zone set to
//     the instance's zone, node.kubernetes.io/instance-type to its type and
//     kubernetes.io/hostname to the node name, as a kubelet and a cloud
//     controller manager would set them;
//   - spec.providerID exactly as the provider maps instances:
//     aws:///<zone>/<instance-id> (asg.ProviderID), <region>.<instance-id>
//     (ess.Provider.ProviderID);
//   - kwok's annotations (testcluster.KwokNodeAnnotation and the metrics path),
//     so kwok makes it Ready within about a second, and an owner annotation
//     (OwnerAnnotation = the prefix) by which the bridge finds its Nodes again.
//
// A Node is created without waiting for it to become Ready (kwok and the node
// lifecycle controller do that on their own; WaitNodes waits when a test wants
// to). The Node of an instance that is terminating, removing or gone is
// deleted; pods left on it are collected by kube-controller-manager's pod
// garbage collector, as in a cluster.
//
// # Clock
//
// Every Sync first advances the emulator's virtual clock by the real time
// elapsed since the previous Sync, so the emulator's LaunchDelay and
// TerminateDelay (RemoveDelay) play out in real time. Only one Bridge should
// drive an emulator; a test that also calls Advance or Settle itself moves the
// clock further.
//
// # Templates and faults
//
// Templates are read once per group and instance type and kept for the
// Bridge's life. Start reads every group's templates before returning, so a
// test that injects faults into the emulator afterwards (throttling, 5xx) does
// not see them consumed by the bridge: after Start the bridge makes no API call
// to the emulator; it lists instances through the emulator's Go API.
//
// # Use
//
//	srv := asgtest.NewServer(asgtest.Config{LaunchDelay: 2 * time.Second, TerminateDelay: time.Second})
//	p, _ := asg.New(ctx, asg.Config{AutoScaling: ..., EC2: ..., GroupNames: []string{"workers"}})
//	b := nodebridge.Start(ctx, t, nodebridge.Options{Cluster: c, Source: nodebridge.FromASG(srv, p), Prefix: "up-"})
//	// run the autoscaler with Provider: p; b.Nodes() lists the Nodes the bridge holds.
//
// Hold(group, true) makes a group's new instances launch in the cloud but never
// register, the case of a node that never joins (cluster-autoscaler's
// max-node-provision-time).
//
// The Bridge stops and deletes its Nodes when the test that started it ends.
package nodebridge
