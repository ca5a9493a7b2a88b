package testcluster

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const orphanHelperEnv = "KSCALE_TESTCLUSTER_ORPHAN_HELPER"

// TestOrphanHelper is not a test: TestChildDiesWithTestBinary runs the test binary again with
// only this function, which starts a long sleep the way the harness starts a component, prints
// its pid and exits without stopping it, as a test binary killed by a timeout would.
func TestOrphanHelper(t *testing.T) {
	if os.Getenv(orphanHelperEnv) == "" {
		t.Skip("helper process for TestChildDiesWithTestBinary")
	}
	p, err := startProcess(t.TempDir(), "sleep", "/bin/sleep", []string{"300"})
	if err != nil {
		t.Fatal(err)
	}
	os.Stdout.WriteString("child " + strconv.Itoa(p.cmd.Process.Pid) + "\n")
	os.Exit(0)
}

func TestChildDiesWithTestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a second test binary")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestOrphanHelper$")
	cmd.Env = append(os.Environ(), orphanHelperEnv+"=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	child := 0
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if n, ok := strings.CutPrefix(sc.Text(), "child "); ok {
			child, _ = strconv.Atoi(n)
		}
	}
	_ = cmd.Wait()
	if child == 0 {
		t.Fatal("the helper printed no child pid")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := syscall.Kill(child, 0)
		if errors.Is(err, syscall.ESRCH) {
			return
		}
		// Reparented to init, a killed child may show as a zombie for a moment.
		if stat, _ := os.ReadFile("/proc/" + strconv.Itoa(child) + "/stat"); strings.Contains(string(stat), ") Z") {
			return
		}
		if time.Now().After(deadline) {
			syscall.Kill(child, syscall.SIGKILL)
			t.Fatalf("child %d outlived the test binary that started it", child)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestWaitForStopsWhenProcessExits(t *testing.T) {
	p, err := startProcess(t.TempDir(), "broken", "/bin/sh", []string{"-c", "echo unknown flag --foo >&2; exit 3"})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = waitFor(t.Context(), "readiness", time.Minute, []*process{p}, func(context.Context) (bool, error) { return false, nil })
	if err == nil || !strings.Contains(err.Error(), "broken exited: exit status 3") {
		t.Fatalf("waitFor = %v, want the exit of broken", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("waitFor took %s to notice the exit", time.Since(start))
	}
	if got := p.logTail(1); got != "unknown flag --foo" {
		t.Errorf("log tail = %q", got)
	}

	// A permanent error ends the wait at once; other errors are retried and reported at timeout.
	err = waitFor(t.Context(), "x", time.Minute, nil, func(context.Context) (bool, error) {
		return false, fmt.Errorf("adapter gone (%w)", errPermanent)
	})
	if !errors.Is(err, errPermanent) {
		t.Errorf("waitFor with a permanent error = %v", err)
	}
	err = waitFor(t.Context(), "x", 300*time.Millisecond, nil, func(context.Context) (bool, error) {
		return false, errors.New("not yet")
	})
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "not yet") {
		t.Errorf("waitFor timing out = %v, want DeadlineExceeded with the last error", err)
	}
}
