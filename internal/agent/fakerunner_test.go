package agent

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/everynode/everynode/internal/agent/runner"
)

// memRunner is an in-memory runner for the agent's tests: a container
// whose command is ["fail"] exits with code 1 at once, ["badimage"] fails to
// start with ErrImagePull; every other container runs until stopped.
type memRunner struct {
	mu     sync.Mutex
	next   int
	cs     map[runner.ID]*runner.Container
	starts []runner.ContainerSpec
	stops  []runner.ID
	lists  int
}

func newMemRunner() *memRunner { return &memRunner{cs: map[runner.ID]*runner.Container{}} }

func (m *memRunner) Start(_ context.Context, spec runner.ContainerSpec) (runner.ID, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(spec.Command) > 0 && spec.Command[0] == "badimage" {
		return "", &runner.StartError{Reason: "ErrImagePull", Message: "no such image"}
	}
	m.next++
	id := runner.ID(fmt.Sprintf("c%d", m.next))
	now := time.Now()
	c := &runner.Container{ID: id, PodUID: spec.PodUID, PodNamespace: spec.PodNamespace, PodName: spec.PodName,
		Name: spec.Name, Attempt: spec.Attempt, State: runner.State{Running: true, StartedAt: now}}
	if len(spec.Command) > 0 && spec.Command[0] == "fail" {
		c.State = runner.State{Exited: true, ExitCode: 1, StartedAt: now, FinishedAt: now}
	}
	m.cs[id] = c
	m.starts = append(m.starts, spec)
	return id, nil
}

func (m *memRunner) Stop(_ context.Context, id runner.ID, _ time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.cs[id]
	if !ok {
		return runner.ErrNotFound
	}
	m.stops = append(m.stops, id)
	if c.State.Running {
		c.State.Running, c.State.Exited, c.State.ExitCode, c.State.FinishedAt = false, true, 143, time.Now()
	}
	return nil
}

func (m *memRunner) Remove(_ context.Context, id runner.ID) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.cs[id]; !ok {
		return runner.ErrNotFound
	}
	delete(m.cs, id)
	return nil
}

func (m *memRunner) List(context.Context) ([]runner.Container, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lists++
	var out []runner.Container
	for _, c := range m.cs {
		out = append(out, *c)
	}
	return out, nil
}

func (m *memRunner) Logs(_ context.Context, id runner.ID, _ runner.LogOptions, w io.Writer) error {
	m.mu.Lock()
	c, ok := m.cs[id]
	m.mu.Unlock()
	if !ok {
		return runner.ErrNotFound
	}
	_, err := fmt.Fprintf(w, "hello from %s attempt %d\n", c.Name, c.Attempt)
	return err
}

func (m *memRunner) Exec(context.Context, runner.ID, []string, time.Duration) (int, []byte, error) {
	return 0, nil, nil
}

func (m *memRunner) startCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.starts)
}

func (m *memRunner) running() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, c := range m.cs {
		if c.State.Running {
			n++
		}
	}
	return n
}

func (m *memRunner) listCalls() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lists
}
