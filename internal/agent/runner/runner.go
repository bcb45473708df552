// Package runner is the seam between the node agent and container runtimes:
// the agent asks a Runner to start, stop, inspect and read the logs of
// containers; runtimes (process, docker, fake) implement it, and one shared
// conformance suite (runnertest) holds them to the same behaviour. Imported
// by the agent and by the runner implementations; the agent never imports an
// implementation (the cli wires one in).
package runner

import (
	"context"
	"errors"
	"io"
	"time"
)

// ContainerSpec is everything a runtime needs to start one container of a
// pod, already resolved by the agent (environment values, host paths).
type ContainerSpec struct {
	// PodUID, PodNamespace and PodName identify the pod; Name the container.
	PodUID       string
	PodNamespace string
	PodName      string
	Name         string
	// Attempt counts restarts of this container (0 for the first start).
	Attempt int

	Image      string
	Command    []string // the container's entrypoint (spec.containers[].command)
	Args       []string
	Env        []EnvVar // resolved, in order
	WorkingDir string
	Mounts     []Mount

	// Resource limits; zero means none.
	CPUMillis   int64
	MemoryBytes int64
}

// EnvVar is a resolved environment variable.
type EnvVar struct{ Name, Value string }

// Mount exposes a host path at ContainerPath.
type Mount struct {
	HostPath      string
	ContainerPath string
	ReadOnly      bool
}

// ID identifies a container within a runner; it survives agent restarts.
type ID string

// Container is a container a runner knows about.
type Container struct {
	ID           ID
	PodUID       string
	PodNamespace string
	PodName      string
	Name         string
	Attempt      int
	State        State
}

// State is a container's observed state.
type State struct {
	Running    bool
	StartedAt  time.Time
	Exited     bool
	ExitCode   int
	FinishedAt time.Time
	// Reason and Message explain an exit or a failure to start, in the
	// kubelet's words (e.g. "Error", "OOMKilled", "Completed").
	Reason  string
	Message string
}

// LogOptions select what Logs returns.
type LogOptions struct {
	Follow     bool
	TailLines  *int64
	LimitBytes *int64
	Timestamps bool
	SinceTime  *time.Time
}

// Runner runs containers.
type Runner interface {
	// Start creates and starts a container. A container that cannot start
	// returns a *StartError with the kubelet's waiting reason.
	Start(ctx context.Context, spec ContainerSpec) (ID, error)
	// Stop sends the stop signal (SIGTERM), then kills after grace.
	Stop(ctx context.Context, id ID, grace time.Duration) error
	// Remove forgets a stopped container and its logs.
	Remove(ctx context.Context, id ID) error
	// List returns every container the runner knows, running or exited,
	// including those started before the agent restarted.
	List(ctx context.Context) ([]Container, error)
	// Logs writes the container's output (stdout and stderr) to w.
	Logs(ctx context.Context, id ID, opts LogOptions, w io.Writer) error
	// Exec runs cmd in the container's context (exec probes) and returns its
	// exit code and combined output.
	Exec(ctx context.Context, id ID, cmd []string, timeout time.Duration) (int, []byte, error)
}

// StartError is a container that could not start; Reason is the waiting
// reason the pod status shows (e.g. "ErrImagePull", "CreateContainerError",
// "RunContainerError").
type StartError struct {
	Reason  string
	Message string
}

func (e *StartError) Error() string { return e.Reason + ": " + e.Message }

// ErrNotFound is returned for an unknown container ID.
var ErrNotFound = errors.New("container not found")
