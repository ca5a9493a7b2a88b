//go:build unix && !linux

package testcluster

import (
	"os/exec"
	"syscall"
)

// setOwned puts the child in its own process group so stop can signal everything it started.
// Outside Linux there is no parent-death signal: a test binary killed outright leaves the
// control plane running until its processes are killed by hand.
func setOwned(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

func spawn(start func() error) error { return start() }
