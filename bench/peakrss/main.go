// Command peakrss runs a program and writes the program's peak resident set
// size to a file, like GNU time's %M. The streaming benchmark
// (bench/stream_test.go) measures every child process through it.
//
//	peakrss REPORT PROGRAM [ARG...]
//
// The program inherits stdin, stdout, stderr and the environment; peakrss
// exits with its exit code. REPORT receives one line,
//
//	maxrss_kib=N floor_kib=F
//
// where N is the child's Maxrss from wait4 (KiB on Linux) and F is this
// launcher's own peak RSS.
//
// Why a launcher: Go starts children with clone(CLONE_VM|CLONE_VFORK), so the
// child runs on its parent's address space until it calls execve, and Linux
// then folds that address space's high-water mark into the child's
// ru_maxrss. A child started directly by a large parent (such as a benchmark
// that has just pushed images and hashed files) therefore reports
// max(parent's peak, child's own peak). Started from this small launcher it
// reports max(F, child's own peak), and F is printed so a reader can check
// that the figure is the child's and not the floor.
package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: peakrss REPORT PROGRAM [ARG...]")
		os.Exit(2)
	}
	report, prog, args := os.Args[1], os.Args[2], os.Args[3:]

	// Pdeathsig belongs to the thread that started the child; keep this
	// goroutine on one thread so the child dies with us (e.g. when the
	// benchmark kills us on a timeout).
	runtime.LockOSThread()
	signal.Ignore(syscall.SIGINT, syscall.SIGTERM) // the child gets them and decides

	cmd := exec.Command(prog, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	err := cmd.Run()
	code := 0
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		code = exitErr.ExitCode()
		if code < 0 {
			code = 128 + int(exitErr.Sys().(syscall.WaitStatus).Signal())
		}
	default:
		fmt.Fprintln(os.Stderr, "peakrss:", err)
		os.Exit(127)
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		fmt.Fprintln(os.Stderr, "peakrss: no rusage for the child")
		os.Exit(127)
	}
	line := fmt.Sprintf("maxrss_kib=%d floor_kib=%d\n", ru.Maxrss, selfHWM())
	if err := os.WriteFile(report, []byte(line), 0o600); err != nil {
		fmt.Fprintln(os.Stderr, "peakrss:", err)
		os.Exit(127)
	}
	os.Exit(code)
}

// selfHWM is this process's own peak RSS in KiB (VmHWM describes the current
// address space only, unlike getrusage, which includes what the vfork parent
// had before our execve). -1 when unknown.
func selfHWM() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			var n int64
			if _, err := fmt.Sscanf(strings.TrimSpace(v), "%d kB", &n); err == nil {
				return n
			}
		}
	}
	return -1
}
