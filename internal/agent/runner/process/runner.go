package process

import (
	"bufio"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/everynode/everynode/internal/agent/runner"
)

// Waiting reasons of containers that cannot start, in the kubelet's words.
const (
	// ReasonCreateContainerConfigError: the container's configuration
	// cannot be run by this runtime (here: it has no command).
	ReasonCreateContainerConfigError = "CreateContainerConfigError"
	// ReasonCreateContainerError: the runtime failed to create the
	// container (state directory, cgroup).
	ReasonCreateContainerError = "CreateContainerError"
	// ReasonRunContainerError: the process could not be started (e.g. its
	// executable does not exist).
	ReasonRunContainerError = "RunContainerError"
)

const (
	// shimStartTimeout bounds how long Start waits for the shim to report.
	shimStartTimeout = 30 * time.Second
	// pollInterval is how often Stop checks whether the process exited.
	pollInterval = 20 * time.Millisecond
	// killWait bounds how long Stop waits for the shim to record the exit
	// of a killed process.
	killWait = 10 * time.Second
)

// Config configures a Runner.
type Config struct {
	// StateDir holds one directory per container (spec, state, log); it
	// must survive agent restarts. Required.
	StateDir string
	// ShimCommand runs ShimMain; the container's state directory is
	// appended as its last argument. Required. The cli uses
	// [os.Args[0], "runner-shim"].
	ShimCommand []string
	// CgroupRoot is the cgroup v2 directory under which containers get
	// their cgroups; empty means DefaultCgroupRoot.
	CgroupRoot string
}

// Runner runs containers as host processes. It implements runner.Runner.
type Runner struct {
	cfg Config
	// limitsErr says why memory and CPU limits are not enforced; nil when
	// they are.
	limitsErr error

	mu sync.Mutex
	// starting holds containers whose shim has not yet reported, so that
	// List does not mistake them for failed starts.
	starting map[runner.ID]bool
}

var _ runner.Runner = (*Runner)(nil)

// New returns a Runner over cfg.StateDir, which may hold containers of a
// previous Runner (an agent restart): they are listed, not restarted.
func New(cfg Config) (*Runner, error) {
	if cfg.StateDir == "" {
		return nil, errors.New("process runner: StateDir is required")
	}
	if len(cfg.ShimCommand) == 0 {
		return nil, errors.New("process runner: ShimCommand is required")
	}
	if cfg.CgroupRoot == "" {
		cfg.CgroupRoot = DefaultCgroupRoot
	}
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("process runner: create state dir: %w", err)
	}
	return &Runner{
		cfg:       cfg,
		limitsErr: prepareCgroupRoot(cfg.CgroupRoot),
		starting:  map[runner.ID]bool{},
	}, nil
}

// LimitsEnforced reports whether memory and CPU limits are enforced, and a
// sentence saying how or why not, for the agent to report as a node event.
func (r *Runner) LimitsEnforced() (bool, string) {
	if r.limitsErr != nil {
		return false, "memory and CPU limits of containers are not enforced: " + r.limitsErr.Error()
	}
	return true, "memory and CPU limits of containers are enforced through cgroup v2 under " + r.cfg.CgroupRoot
}

// Start implements runner.Runner.
func (r *Runner) Start(ctx context.Context, spec runner.ContainerSpec) (runner.ID, error) {
	if len(spec.Command) == 0 {
		return "", &runner.StartError{
			Reason: ReasonCreateContainerConfigError,
			Message: fmt.Sprintf("the process runtime runs spec.containers[].command as a host process and does not pull images: "+
				"container %q (image %q) has no command", spec.Name, spec.Image),
		}
	}
	id, err := newID()
	if err != nil {
		return "", err
	}
	dir := r.dir(id)
	r.setStarting(id, true)
	defer r.setStarting(id, false)
	if err := os.Mkdir(dir, 0o700); err != nil {
		return "", &runner.StartError{Reason: ReasonCreateContainerError, Message: err.Error()}
	}
	rec := record{Spec: spec}
	if r.limitsErr == nil {
		if rec.Cgroup, err = createCgroup(r.cfg.CgroupRoot, id, spec); err != nil {
			r.discard(dir, "")
			return "", &runner.StartError{Reason: ReasonCreateContainerError, Message: err.Error()}
		}
	}
	if err := writeJSONAtomic(filepath.Join(dir, specFile), rec); err != nil {
		r.discard(dir, rec.Cgroup)
		return "", &runner.StartError{Reason: ReasonCreateContainerError, Message: err.Error()}
	}
	if msg := r.startShim(dir); msg != "" {
		r.discard(dir, rec.Cgroup)
		return "", &runner.StartError{Reason: ReasonRunContainerError, Message: msg}
	}
	return id, nil
}

// startShim starts the shim of the container in dir and returns its
// complaint, or "" once the container's process runs.
func (r *Runner) startShim(dir string) string {
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return fmt.Sprintf("create shim pipe: %v", err)
	}
	defer readyR.Close()
	log, err := os.Create(filepath.Join(dir, shimLog))
	if err != nil {
		readyW.Close()
		return fmt.Sprintf("create shim log: %v", err)
	}
	defer log.Close()

	args := append(slices.Clone(r.cfg.ShimCommand[1:]), dir)
	shim := exec.Command(r.cfg.ShimCommand[0], args...)
	shim.Stdout, shim.Stderr = log, log
	shim.ExtraFiles = []*os.File{readyW} // fd 3, readyFD
	// Its own session: signals aimed at the agent's process group (a
	// terminal's Ctrl-C, a service manager stopping the agent) do not reach
	// containers.
	shim.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = shim.Start()
	readyW.Close()
	if err != nil {
		return fmt.Sprintf("start shim %q: %v", r.cfg.ShimCommand[0], err)
	}
	// Reap the shim when it exits; an agent restarted meanwhile leaves that
	// to init.
	go func() { _ = shim.Wait() }()

	_ = readyR.SetReadDeadline(time.Now().Add(shimStartTimeout))
	// One line: "ok", or why the container did not start.
	reply, err := bufio.NewReader(readyR).ReadString('\n')
	msg := strings.TrimSpace(reply)
	switch {
	case msg == "ok":
		return ""
	case msg != "":
		return msg
	case err != nil && !errors.Is(err, io.EOF):
		_ = shim.Process.Kill()
		return fmt.Sprintf("shim did not report: %v", err)
	default:
		out, _ := os.ReadFile(filepath.Join(dir, shimLog))
		return fmt.Sprintf("shim exited without starting the container: %s", strings.TrimSpace(string(out)))
	}
}

func (r *Runner) discard(dir, cgroup string) {
	_ = removeCgroup(cgroup)
	_ = os.RemoveAll(dir)
}

func (r *Runner) setStarting(id runner.ID, on bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if on {
		r.starting[id] = true
	} else {
		delete(r.starting, id)
	}
}

func (r *Runner) isStarting(id runner.ID) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.starting[id]
}

// Stop implements runner.Runner: SIGTERM to the container's process, then
// SIGKILL to its whole process group after grace.
func (r *Runner) Stop(ctx context.Context, id runner.ID, grace time.Duration) error {
	c, err := r.load(id)
	if err != nil {
		return err
	}
	if !c.running() {
		return nil
	}
	if err := signalProcess(c.st.Pid, c.st.PidStartTicks, syscall.SIGTERM); err != nil {
		return fmt.Errorf("stop container %s: %w", id, err)
	}
	if r.waitExit(ctx, id, grace) {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("stop container %s: %w", id, ctx.Err())
	}
	if alive(c.st.Pid, c.st.PidStartTicks) {
		_ = syscall.Kill(-c.st.Pid, syscall.SIGKILL)
	}
	if c.rec.Cgroup != "" {
		killCgroup(c.rec.Cgroup)
	}
	if !r.waitExit(ctx, id, killWait) {
		return fmt.Errorf("stop container %s: still running %s after SIGKILL", id, killWait)
	}
	return nil
}

// waitExit polls until the container is no longer running, d has passed
// or ctx ends, and reports whether it stopped.
func (r *Runner) waitExit(ctx context.Context, id runner.ID, d time.Duration) bool {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		c, err := r.load(id)
		if err != nil || !c.running() {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-deadline.C:
			return false
		case <-tick.C:
		}
	}
}

// Remove implements runner.Runner; a running container must be stopped
// first.
func (r *Runner) Remove(ctx context.Context, id runner.ID) error {
	c, err := r.load(id)
	if err != nil {
		return err
	}
	if c.running() {
		return fmt.Errorf("remove container %s: it is running; stop it first", id)
	}
	if err := removeCgroup(c.rec.Cgroup); err != nil {
		return fmt.Errorf("remove container %s: %w", id, err)
	}
	if err := os.RemoveAll(r.dir(id)); err != nil {
		return fmt.Errorf("remove container %s: %w", id, err)
	}
	return nil
}

// List implements runner.Runner, from the state directory: it includes
// containers started by an earlier Runner.
func (r *Runner) List(ctx context.Context) ([]runner.Container, error) {
	entries, err := os.ReadDir(r.cfg.StateDir)
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	var out []runner.Container
	for _, e := range entries {
		id := runner.ID(e.Name())
		if !e.IsDir() || !validID(id) || r.isStarting(id) {
			continue
		}
		c, err := r.load(id)
		if err != nil {
			// Removed meanwhile, or a directory a crash left before its
			// spec was written: nothing to report.
			continue
		}
		out = append(out, c.container())
	}
	slices.SortFunc(out, func(a, b runner.Container) int {
		return cmp.Or(
			strings.Compare(a.PodNamespace, b.PodNamespace),
			strings.Compare(a.PodName, b.PodName),
			strings.Compare(a.Name, b.Name),
			cmp.Compare(a.Attempt, b.Attempt),
			strings.Compare(string(a.ID), string(b.ID)))
	})
	return out, nil
}

// Logs implements runner.Runner.
func (r *Runner) Logs(ctx context.Context, id runner.ID, opts runner.LogOptions, w io.Writer) error {
	if _, err := r.load(id); err != nil {
		return err
	}
	exited := func() bool {
		c, err := r.load(id)
		return err != nil || !c.running()
	}
	if err := followLog(ctx, filepath.Join(r.dir(id), logFile), opts, exited, w); err != nil {
		return fmt.Errorf("logs of container %s: %w", id, err)
	}
	return nil
}

// Exec implements runner.Runner: cmd runs on the host with the container's
// environment, working directory and cgroup. A timeout of zero means none.
func (r *Runner) Exec(ctx context.Context, id runner.ID, cmd []string, timeout time.Duration) (int, []byte, error) {
	c, err := r.load(id)
	if err != nil {
		return 0, nil, err
	}
	if !c.running() {
		return 0, nil, fmt.Errorf("exec in container %s: container is not running", id)
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	proc, err := commandIn(ctx, c.rec.Spec, cmd)
	if err != nil {
		return 0, nil, fmt.Errorf("exec in container %s: %w", id, err)
	}
	// On timeout, kill what the command started too, and do not wait for
	// descendants that keep its output open.
	proc.Cancel = func() error { return syscall.Kill(-proc.Process.Pid, syscall.SIGKILL) }
	proc.WaitDelay = time.Second
	if c.rec.Cgroup != "" {
		if cg, err := os.Open(c.rec.Cgroup); err == nil {
			defer cg.Close()
			proc.SysProcAttr.UseCgroupFD = true
			proc.SysProcAttr.CgroupFD = int(cg.Fd())
		}
	}
	out, err := proc.CombinedOutput()
	if ctx.Err() != nil {
		return 0, out, fmt.Errorf("exec %q in container %s: %w", cmd, id, ctx.Err())
	}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return 0, out, nil
	case errors.As(err, &exitErr):
		return exitCode(proc, err), out, nil
	default:
		return 0, out, fmt.Errorf("exec %q in container %s: %w", cmd, id, err)
	}
}

// loaded is a container as its state directory shows it.
type loaded struct {
	id       runner.ID
	rec      record
	st       shimState
	hasState bool
	logMod   time.Time
}

func (r *Runner) dir(id runner.ID) string { return filepath.Join(r.cfg.StateDir, string(id)) }

func (r *Runner) load(id runner.ID) (loaded, error) {
	if !validID(id) {
		return loaded{}, fmt.Errorf("container %q: %w", id, runner.ErrNotFound)
	}
	c := loaded{id: id}
	dir := r.dir(id)
	if err := readJSON(filepath.Join(dir, specFile), &c.rec); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return loaded{}, fmt.Errorf("container %s: %w", id, runner.ErrNotFound)
		}
		return loaded{}, err
	}
	err := readJSON(filepath.Join(dir, stateFile), &c.st)
	c.hasState = err == nil
	if fi, err := os.Stat(filepath.Join(dir, logFile)); err == nil {
		c.logMod = fi.ModTime()
	}
	return c, nil
}

// running: the process lives, or its shim does (it records the exit
// shortly after the process ends).
func (c loaded) running() bool {
	return c.hasState && c.st.StartError == "" && !c.st.Exited &&
		(alive(c.st.Pid, c.st.PidStartTicks) || alive(c.st.ShimPid, c.st.ShimStartTicks))
}

func (c loaded) container() runner.Container {
	spec := c.rec.Spec
	return runner.Container{
		ID:           c.id,
		PodUID:       spec.PodUID,
		PodNamespace: spec.PodNamespace,
		PodName:      spec.PodName,
		Name:         spec.Name,
		Attempt:      spec.Attempt,
		State:        c.state(),
	}
}

func (c loaded) state() runner.State {
	st := c.st
	switch {
	case !c.hasState || st.StartError != "":
		// Left by an agent that died while starting the container.
		msg := st.StartError
		if msg == "" {
			msg = "the container's shim never reported starting it"
		}
		return runner.State{Exited: true, ExitCode: 128, Reason: "StartError", Message: msg}
	case st.Exited:
		return runner.State{StartedAt: st.StartedAt, Exited: true, ExitCode: st.ExitCode,
			FinishedAt: st.FinishedAt, Reason: st.Reason, Message: st.Message}
	case c.running():
		return runner.State{Running: true, StartedAt: st.StartedAt}
	default:
		// The process and its shim are gone and nobody recorded how it
		// ended (the machine rebooted, or the shim was killed): report
		// it as the kubelet reports a container it cannot find.
		return runner.State{StartedAt: st.StartedAt, Exited: true, ExitCode: 137, FinishedAt: c.logMod,
			Reason: "ContainerStatusUnknown", Message: "the container's process and its shim are gone without a recorded exit"}
	}
}

// IDs are 24 random hex digits: unique, and safe as directory names.
const idLen = 24

func newID() (runner.ID, error) {
	b := make([]byte, idLen/2)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("new container id: %w", err)
	}
	return runner.ID(hex.EncodeToString(b)), nil
}

func validID(id runner.ID) bool {
	if len(id) != idLen {
		return false
	}
	for _, c := range id {
		if !strings.ContainsRune("0123456789abcdef", c) {
			return false
		}
	}
	return true
}
