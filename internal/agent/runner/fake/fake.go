package fake

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"k8s.io/utils/clock"

	"github.com/everynode/everynode/internal/agent/runner"
)

// ReasonContainerCreating is the waiting reason of a container whose start
// delay has not passed yet.
const ReasonContainerCreating = "ContainerCreating"

// Config configures a Runner.
type Config struct {
	// StartDelay is how long a started container waits before it is
	// Running.
	StartDelay time.Duration
	// Clock drives StartDelay and timestamps; nil means the real clock.
	Clock clock.PassiveClock
	// PullableImages says which images can be pulled; a container of any
	// other image fails to start with ErrImagePull. Nil means all.
	PullableImages func(image string) bool
	// State holds the containers; a Runner made with the State of an
	// earlier one carries on with its containers, as an agent restarted on
	// the same data dir. Nil means a new State.
	State *State
}

// State is the in-memory record of a fake runtime's containers.
type State struct {
	mu         sync.Mutex
	nextID     uint64
	containers map[runner.ID]*container
}

// NewState returns an empty State.
func NewState() *State {
	return &State{containers: map[runner.ID]*container{}}
}

// container is one fake container; its state is derived from the clock
// when asked, so that thousands of containers cost no goroutines or timers.
type container struct {
	identity runner.Container // without State
	runsAt   time.Time        // when the start delay ends
	exited   bool
	code     int
	finished time.Time
	done     chan struct{} // closed on exit, ends followed logs
}

func (c *container) state(now time.Time) runner.State {
	switch {
	case c.exited:
		var started time.Time
		if !c.finished.Before(c.runsAt) {
			started = c.runsAt
		}
		return runner.State{StartedAt: started, Exited: true, ExitCode: c.code, FinishedAt: c.finished, Reason: exitReason(c.code)}
	case now.Before(c.runsAt):
		return runner.State{Reason: ReasonContainerCreating}
	default:
		return runner.State{Running: true, StartedAt: c.runsAt}
	}
}

func exitReason(code int) string {
	if code == 0 {
		return "Completed"
	}
	return "Error"
}

// Runner is the fake runtime. It implements runner.Runner.
type Runner struct {
	cfg Config
	st  *State
}

var _ runner.Runner = (*Runner)(nil)

// New returns a fake Runner; nothing in cfg can be invalid.
func New(cfg Config) *Runner {
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.State == nil {
		cfg.State = NewState()
	}
	return &Runner{cfg: cfg, st: cfg.State}
}

// Start implements runner.Runner.
func (r *Runner) Start(ctx context.Context, spec runner.ContainerSpec) (runner.ID, error) {
	if r.cfg.PullableImages != nil && !r.cfg.PullableImages(spec.Image) {
		return "", &runner.StartError{
			Reason:  "ErrImagePull",
			Message: fmt.Sprintf("failed to pull image %q: the fake runtime was configured to fail pulling it", spec.Image),
		}
	}
	r.st.mu.Lock()
	defer r.st.mu.Unlock()
	r.st.nextID++
	id := runner.ID(fmt.Sprintf("fake-%08d", r.st.nextID))
	r.st.containers[id] = &container{
		identity: runner.Container{ID: id, PodUID: spec.PodUID, PodNamespace: spec.PodNamespace,
			PodName: spec.PodName, Name: spec.Name, Attempt: spec.Attempt},
		runsAt: r.cfg.Clock.Now().Add(r.cfg.StartDelay),
		done:   make(chan struct{}),
	}
	return id, nil
}

// get returns the container id; the caller holds r.st.mu.
func (r *Runner) get(id runner.ID) (*container, error) {
	c, ok := r.st.containers[id]
	if !ok {
		return nil, fmt.Errorf("container %q: %w", id, runner.ErrNotFound)
	}
	return c, nil
}

// Stop implements runner.Runner: the container exits at once, with code 0,
// as a daemon that handles SIGTERM would.
func (r *Runner) Stop(ctx context.Context, id runner.ID, grace time.Duration) error {
	return r.Exit(id, 0)
}

// Exit makes a container exit with code, as if its process had ended; it
// is a no-op for a container that has exited already.
func (r *Runner) Exit(id runner.ID, code int) error {
	r.st.mu.Lock()
	defer r.st.mu.Unlock()
	c, err := r.get(id)
	if err != nil {
		return err
	}
	if c.exited {
		return nil
	}
	c.exited, c.code, c.finished = true, code, r.cfg.Clock.Now()
	close(c.done)
	return nil
}

// Remove implements runner.Runner; a running container must be stopped
// first.
func (r *Runner) Remove(ctx context.Context, id runner.ID) error {
	r.st.mu.Lock()
	defer r.st.mu.Unlock()
	c, err := r.get(id)
	if err != nil {
		return err
	}
	if !c.exited {
		return fmt.Errorf("remove container %s: it is running; stop it first", id)
	}
	delete(r.st.containers, id)
	return nil
}

// List implements runner.Runner.
func (r *Runner) List(ctx context.Context) ([]runner.Container, error) {
	now := r.cfg.Clock.Now()
	r.st.mu.Lock()
	out := make([]runner.Container, 0, len(r.st.containers))
	for _, c := range r.st.containers {
		listed := c.identity
		listed.State = c.state(now)
		out = append(out, listed)
	}
	r.st.mu.Unlock()
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

// timestampFormat is how kubectl logs --timestamps shows times.
const timestampFormat = "2006-01-02T15:04:05.000000000Z07:00"

// Logs implements runner.Runner: a container that has started has logged
// one line, at its start. Following waits for the container to exit or ctx
// to end.
func (r *Runner) Logs(ctx context.Context, id runner.ID, opts runner.LogOptions, w io.Writer) error {
	now := r.cfg.Clock.Now()
	r.st.mu.Lock()
	c, err := r.get(id)
	if err != nil {
		r.st.mu.Unlock()
		return err
	}
	st, ident, done := c.state(now), c.identity, c.done
	r.st.mu.Unlock()

	var line string
	if !st.StartedAt.IsZero() &&
		(opts.SinceTime == nil || !st.StartedAt.Before(*opts.SinceTime)) &&
		(opts.TailLines == nil || *opts.TailLines > 0) {
		line = fmt.Sprintf("fake container %s of pod %s/%s (attempt %d) started\n",
			ident.Name, ident.PodNamespace, ident.PodName, ident.Attempt)
		if opts.Timestamps {
			line = st.StartedAt.UTC().Format(timestampFormat) + " " + line
		}
	}
	if opts.LimitBytes != nil && int64(len(line)) > *opts.LimitBytes {
		line = line[:*opts.LimitBytes]
	}
	if _, err := io.WriteString(w, line); err != nil {
		return fmt.Errorf("logs of container %s: %w", id, err)
	}
	if opts.Follow {
		select {
		case <-ctx.Done():
		case <-done:
		}
	}
	return nil
}

// Exec implements runner.Runner: every command succeeds, silently.
func (r *Runner) Exec(ctx context.Context, id runner.ID, cmd []string, timeout time.Duration) (int, []byte, error) {
	now := r.cfg.Clock.Now()
	r.st.mu.Lock()
	defer r.st.mu.Unlock()
	c, err := r.get(id)
	if err != nil {
		return 0, nil, err
	}
	if !c.state(now).Running {
		return 0, nil, fmt.Errorf("exec in container %s: container is not running", id)
	}
	return 0, nil, nil
}
