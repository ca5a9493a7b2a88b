package testcluster

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// process is one control-plane component the harness started and owns: it runs in its own
// process group, writes stdout and stderr to <dir>/<name>.log, and is killed with the test
// binary (see setOwned) as well as by stop.
type process struct {
	name    string
	logPath string
	cmd     *exec.Cmd

	done chan struct{} // closed when the process has exited
	mu   sync.Mutex
	err  error // exit status, valid after done
}

func startProcess(dir, name, bin string, args []string) (*process, error) {
	logPath := filepath.Join(dir, name+".log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("testcluster: %s log: %w", name, err)
	}
	fmt.Fprintf(logFile, "=== %s %s %q\n", time.Now().UTC().Format(time.RFC3339Nano), bin, args)
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.Env = append(os.Environ(), "HOME="+dir) // kwok and klog look under $HOME; keep them in the temp dir
	setOwned(cmd)
	if err := spawn(cmd.Start); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("testcluster: start %s: %w", name, err)
	}
	p := &process{name: name, logPath: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		logFile.Close()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(p.done)
	}()
	return p, nil
}

// exited returns the exit error if the process has ended, and nil while it runs.
func (p *process) exited() error {
	select {
	case <-p.done:
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.err == nil {
			return fmt.Errorf("testcluster: %s exited", p.name)
		}
		return fmt.Errorf("testcluster: %s exited: %w", p.name, p.err)
	default:
		return nil
	}
}

// stop sends SIGTERM to the process group, then SIGKILL after grace, and waits for the exit.
func (p *process) stop(grace time.Duration) {
	if p == nil {
		return
	}
	pgid := p.cmd.Process.Pid // the process leads its own group
	select {
	case <-p.done:
		_ = syscall.Kill(-pgid, syscall.SIGKILL) // anything it left behind in its group
		return
	default:
	}
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
	}
	if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		_ = p.cmd.Process.Kill()
	}
	<-p.done
}

// logTail returns the last n lines of the process's log.
func (p *process) logTail(n int) string {
	data, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", p.logPath, err)
	}
	return tail(string(data), n)
}
