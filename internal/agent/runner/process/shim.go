package process

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/everynode/everynode/internal/agent/runner"
)

// readyFD is the file descriptor on which the shim tells the runner whether
// the container's process started: "ok\n" or an error message.
const readyFD = 3

// defaultPath is the PATH of a container whose env does not set one, as
// container runtimes default it.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// drainTimeout bounds how long the shim waits for the last output after the
// process exits; a descendant that escaped the process group may hold the
// pipes open forever.
const drainTimeout = 2 * time.Second

// ShimMain runs the shim of one container and returns its exit code. Its
// only argument is the container's state directory, prepared by the
// runner. The cli serves it as a hidden command (ShimCommand); it is not
// meant to be run by hand.
func ShimMain(args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: runner-shim <container state dir>")
		return 2
	}
	// The container must not inherit the pipe: the runner waits for it to
	// end, not for the container to.
	syscall.CloseOnExec(readyFD)
	ready := os.NewFile(readyFD, "ready")
	if err := runShim(args[0], ready); err != nil {
		fmt.Fprintf(os.Stderr, "shim %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

func runShim(dir string, ready *os.File) error {
	defer ready.Close()
	var rec record
	if err := readJSON(filepath.Join(dir, specFile), &rec); err != nil {
		fmt.Fprintf(ready, "read container spec: %v\n", err)
		return err
	}
	st := shimState{ShimPid: os.Getpid()}
	st.ShimStartTicks, _ = startTicks(st.ShimPid)

	out, err := openOutput(dir)
	if err != nil {
		fmt.Fprintln(ready, err)
		return err
	}
	defer out.closeAll()
	// Catch stop signals before the container exists, so that an early one
	// is passed on instead of killing the shim.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	cmd, err := containerCommand(rec)
	if err == nil {
		cmd.Stdout, cmd.Stderr = out.stdoutW, out.stderrW
		err = startContainer(cmd, rec.Cgroup)
	}
	// Only the container may hold the write ends, so that the pipes end
	// when it and its descendants are gone.
	out.closeWriters()
	if err != nil {
		st.StartError = err.Error()
		_ = writeJSONAtomic(filepath.Join(dir, stateFile), st)
		fmt.Fprintln(ready, err)
		return err
	}
	st.Pid = cmd.Process.Pid
	st.StartedAt = time.Now()
	st.PidStartTicks, _ = startTicks(st.Pid)
	if err := writeJSONAtomic(filepath.Join(dir, stateFile), st); err != nil {
		_ = cmd.Process.Kill()
		fmt.Fprintln(ready, err)
		return err
	}
	fmt.Fprintln(ready, "ok")
	ready.Close()

	drained := out.copy()
	exited := make(chan struct{})
	go func() {
		// Pass on a stop request aimed at the shim (an operator's kill,
		// or a runner that lost track of the container's pid).
		for {
			select {
			case sig := <-sigs:
				_ = cmd.Process.Signal(sig)
			case <-exited:
				return
			}
		}
	}()
	waitErr := cmd.Wait()
	close(exited)
	signal.Stop(sigs)

	// A container ends with its main process: kill what it left behind.
	_ = syscall.Kill(-st.Pid, syscall.SIGKILL)
	if rec.Cgroup != "" {
		killCgroup(rec.Cgroup)
	}
	select {
	case <-drained:
	case <-time.After(drainTimeout):
	}

	st.Exited = true
	st.FinishedAt = time.Now()
	st.ExitCode = exitCode(cmd, waitErr)
	st.Reason = exitReason(st.ExitCode, rec.Cgroup != "" && oomKilled(rec.Cgroup))
	if err := writeJSONAtomic(filepath.Join(dir, stateFile), st); err != nil {
		return err
	}
	return removeCgroup(rec.Cgroup)
}

// containerCommand builds the container's process from its spec.
func containerCommand(rec record) (*exec.Cmd, error) {
	return commandIn(context.Background(), rec.Spec, append(append([]string{}, rec.Spec.Command...), rec.Spec.Args...))
}

// commandIn builds a process that runs argv in the context of the
// container spec: its env (not the caller's) and its working directory, as
// the leader of its own process group so that its descendants can be killed
// with it.
func commandIn(ctx context.Context, spec runner.ContainerSpec, argv []string) (*exec.Cmd, error) {
	if len(argv) == 0 {
		return nil, fmt.Errorf("no command")
	}
	env := make([]string, 0, len(spec.Env)+1)
	path := defaultPath
	for _, e := range spec.Env {
		if e.Name == "PATH" {
			path = e.Value
		}
		env = append(env, e.Name+"="+e.Value)
	}
	if !hasEnv(spec.Env, "PATH") {
		env = append(env, "PATH="+path)
	}
	dir := spec.WorkingDir
	if dir == "" {
		dir = "/"
	}
	bin, err := lookPath(argv[0], path, dir)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, bin, argv[1:]...)
	cmd.Args[0] = argv[0]
	cmd.Env, cmd.Dir = env, dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd, nil
}

func hasEnv(env []runner.EnvVar, name string) bool {
	for _, e := range env {
		if e.Name == name {
			return true
		}
	}
	return false
}

// lookPath finds name as a container runtime would: names with a slash are
// paths (relative to the working directory), others are searched in the
// container's PATH, not the shim's.
func lookPath(name, path, workingDir string) (string, error) {
	if strings.Contains(name, "/") {
		if !filepath.IsAbs(name) {
			name = filepath.Join(workingDir, name)
		}
		if err := executable(name); err != nil {
			return "", fmt.Errorf("exec: %q: %w", name, err)
		}
		return name, nil
	}
	for _, d := range filepath.SplitList(path) {
		if d == "" {
			d = "."
		}
		if !filepath.IsAbs(d) {
			d = filepath.Join(workingDir, d)
		}
		candidate := filepath.Join(d, name)
		if executable(candidate) == nil {
			return candidate, nil
		}
	}
	return "", fmt.Errorf("exec: %q: executable file not found in $PATH", name)
}

func executable(file string) error {
	fi, err := os.Stat(file)
	if err != nil {
		return err
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return fs.ErrPermission
	}
	return nil
}

// startContainer starts cmd, directly inside its cgroup where there is one,
// so that no process of the container ever runs outside its limits.
func startContainer(cmd *exec.Cmd, cgroup string) error {
	if cgroup == "" {
		return cmd.Start()
	}
	cg, err := os.Open(cgroup)
	if err != nil {
		return fmt.Errorf("open cgroup: %w", err)
	}
	defer cg.Close()
	cmd.SysProcAttr.UseCgroupFD = true
	cmd.SysProcAttr.CgroupFD = int(cg.Fd())
	return cmd.Start()
}

// output is the container's stdout and stderr pipes and its log file.
type output struct {
	log              *os.File
	stdoutR, stdoutW *os.File
	stderrR, stderrW *os.File
}

func openOutput(dir string) (*output, error) {
	log, err := os.OpenFile(filepath.Join(dir, logFile), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open container log: %w", err)
	}
	o := &output{log: log}
	if o.stdoutR, o.stdoutW, err = os.Pipe(); err == nil {
		o.stderrR, o.stderrW, err = os.Pipe()
	}
	if err != nil {
		o.closeAll()
		return nil, fmt.Errorf("create output pipes: %w", err)
	}
	return o, nil
}

// copy writes both streams into the log; the returned channel closes when
// both have ended.
func (o *output) copy() <-chan struct{} {
	lw := &logWriter{out: o.log, now: time.Now}
	var wg sync.WaitGroup
	for stream, r := range map[string]*os.File{"stdout": o.stdoutR, "stderr": o.stderrR} {
		wg.Go(func() { _ = lw.copyStream(stream, r) })
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	return done
}

func (o *output) closeWriters() {
	for _, f := range []*os.File{o.stdoutW, o.stderrW} {
		if f != nil {
			f.Close()
		}
	}
}

func (o *output) closeAll() {
	o.closeWriters()
	for _, f := range []*os.File{o.stdoutR, o.stderrR, o.log} {
		if f != nil {
			f.Close()
		}
	}
}

// exitCode is the container's exit code as the kubelet shows it: a process
// killed by signal N exits with 128+N.
func exitCode(cmd *exec.Cmd, waitErr error) int {
	if cmd.ProcessState == nil {
		return 128
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	var exitErr *exec.ExitError
	if waitErr != nil && !errors.As(waitErr, &exitErr) {
		return 128
	}
	return cmd.ProcessState.ExitCode()
}

// exitReason is the terminated reason the kubelet reports.
func exitReason(code int, oom bool) string {
	switch {
	case oom:
		return "OOMKilled"
	case code == 0:
		return "Completed"
	default:
		return "Error"
	}
}
