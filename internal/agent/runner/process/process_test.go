package process_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/google/go-cmp/cmp"

	"github.com/everynode/everynode/internal/agent/runner"
	"github.com/everynode/everynode/internal/agent/runner/process"
	"github.com/everynode/everynode/internal/agent/runner/runnertest"
)

// shimArg makes the test binary serve as the shim, as the cli's hidden
// runner-shim command does.
const shimArg = "runner-shim"

// agentArg makes the test binary an agent that starts one container, prints
// its ID and waits to be killed.
const agentArg = "test-agent"

func TestMain(m *testing.M) {
	if len(os.Args) > 2 && os.Args[1] == shimArg {
		os.Exit(process.ShimMain(os.Args[2:]))
	}
	if len(os.Args) > 2 && os.Args[1] == agentArg {
		os.Exit(testAgent(os.Args[2]))
	}
	os.Exit(m.Run())
}

func testAgent(stateDir string) int {
	r, err := process.New(process.Config{StateDir: stateDir, ShimCommand: []string{os.Args[0], shimArg}, CgroupRoot: stateDir + "/no-cgroup/everynode"})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	id, err := r.Start(context.Background(), runner.ContainerSpec{PodName: "p", Name: "daemon",
		Command: []string{"/bin/sh", "-c", "echo started; exec sleep 600"}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(id)
	select {}
}

// TestAgentKilled kills an agent process with SIGKILL, as the issue's
// integration test does: its container keeps running and a new runner
// adopts it without restarting it.
func TestAgentKilled(t *testing.T) {
	stateDir := t.TempDir()
	agent := exec.Command(os.Args[0], agentArg, stateDir)
	agent.Stderr = os.Stderr
	stdout, err := agent.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		_ = agent.Process.Kill()
		t.Fatalf("agent printed no container ID: %v", err)
	}
	id := runner.ID(strings.TrimSpace(line))
	if err := agent.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = agent.Wait()

	r := newRunner(t, stateDir)
	ctx := context.Background()
	t.Cleanup(func() { _ = r.Stop(ctx, id, 0) })
	var got runner.Container
	err = wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		list, err := r.List(ctx)
		if err != nil || len(list) != 1 {
			return false, err
		}
		got = list[0]
		var buf bytes.Buffer
		return got.State.Running && r.Logs(ctx, id, runner.LogOptions{}, &buf) == nil && buf.String() == "started\n", nil
	})
	if err != nil {
		t.Fatalf("after the agent was killed: container %+v, want %s running with one start in its log", got, id)
	}
	if got.ID != id {
		t.Errorf("adopted container %s, want %s", got.ID, id)
	}
	if err := r.Stop(ctx, id, 5*time.Second); err != nil {
		t.Fatalf("Stop: %v", err)
	}
}

// newRunner returns runners that share a state directory per test, so that
// a second call simulates an agent restart.
func newRunnerFactory() func(t *testing.T) runner.Runner {
	dirs := map[*testing.T]string{}
	return func(t *testing.T) runner.Runner {
		t.Helper()
		dir, ok := dirs[t]
		if !ok {
			dir = t.TempDir()
			dirs[t] = dir
		}
		return newRunner(t, dir)
	}
}

func newRunner(t *testing.T, stateDir string) *process.Runner {
	t.Helper()
	r, err := process.New(process.Config{
		StateDir:    stateDir,
		ShimCommand: []string{os.Args[0], shimArg},
		CgroupRoot:  t.TempDir() + "/not-a-cgroup/everynode",
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return r
}

func TestConformance(t *testing.T) {
	runnertest.Run(t, newRunnerFactory(), runnertest.Capabilities{RunsProcesses: true})
}

func TestStartErrors(t *testing.T) {
	tests := []struct {
		name string
		spec runner.ContainerSpec
		want string // StartError reason
	}{
		{
			name: "no command: the image is not run",
			spec: runner.ContainerSpec{PodName: "p", Name: "fluentd", Image: "fluent/fluentd:v1.16-1"},
			want: process.ReasonCreateContainerConfigError,
		},
		{
			name: "executable not found in PATH",
			spec: runner.ContainerSpec{PodName: "p", Name: "c", Command: []string{"no-such-binary-everynode"}},
			want: process.ReasonRunContainerError,
		},
		{
			name: "executable path does not exist",
			spec: runner.ContainerSpec{PodName: "p", Name: "c", Command: []string{"/no/such/binary"}},
			want: process.ReasonRunContainerError,
		},
		{
			name: "workingDir does not exist",
			spec: runner.ContainerSpec{PodName: "p", Name: "c", Command: []string{"/bin/true"}, WorkingDir: "/no/such/dir"},
			want: process.ReasonRunContainerError,
		},
	}
	r := newRunner(t, t.TempDir())
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := r.Start(context.Background(), tc.spec)
			var se *runner.StartError
			if !errors.As(err, &se) {
				t.Fatalf("Start = %v, want a *runner.StartError", err)
			}
			if diff := cmp.Diff(tc.want, se.Reason); diff != "" {
				t.Errorf("reason (-want +got):\n%s", diff)
			}
			if se.Message == "" {
				t.Errorf("StartError %s has no message", se.Reason)
			}
			list, err := r.List(context.Background())
			if err != nil || len(list) != 0 {
				t.Errorf("after a failed start List = %v, %v; want nothing", list, err)
			}
		})
	}
}

func TestLimitsNotEnforcedWithoutCgroup2(t *testing.T) {
	r := newRunner(t, t.TempDir())
	enforced, why := r.LimitsEnforced()
	if enforced || why == "" {
		t.Errorf("LimitsEnforced() = %v, %q; want false with a reason for a directory that is not cgroup v2", enforced, why)
	}
}
