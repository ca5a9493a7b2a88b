package testcluster

import (
	"os/exec"
	"runtime"
	"sync"
	"syscall"
)

// setOwned puts the child in its own process group (so stop can signal everything it started)
// and asks the kernel to SIGKILL it when the test binary dies, even by SIGKILL or a go test
// timeout, so no control plane outlives its test run.
func setOwned(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

var (
	spawnOnce sync.Once
	spawnReq  chan func()
)

// spawn runs start (an exec.Cmd.Start) on one OS thread that never exits. Linux delivers the
// parent-death signal when the forking thread ends, not the process; Go may end a thread whose
// goroutine exits while locked to it, which would kill a healthy control plane mid-test.
func spawn(start func() error) error {
	spawnOnce.Do(func() {
		spawnReq = make(chan func())
		go func() {
			runtime.LockOSThread() // never unlocked: this thread lives as long as the process
			for f := range spawnReq {
				f()
			}
		}()
	})
	errc := make(chan error, 1)
	spawnReq <- func() { errc <- start() }
	return <-errc
}
