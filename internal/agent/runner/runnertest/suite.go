package runnertest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/everynode/everynode/internal/agent/runner"
)

// Capabilities says what a runner can do; the suite skips what it cannot.
type Capabilities struct {
	// RunsProcesses: containers run their command, so their output, exit
	// codes, signal handling, env, args, workingDir and exec results are
	// real. Without it (the fake runner) only the bookkeeping is checked.
	RunsProcesses bool
}

// Run runs the conformance suite. newRunner is called once at the start of
// every subtest with that subtest's t, and called again with the same t to
// simulate an agent restart: runners made for the same t must share their
// state (state directory, fake state), runners made for different t must
// not. Containers run /bin/sh scripts.
func Run(t *testing.T, newRunner func(t *testing.T) runner.Runner, caps Capabilities) {
	s := suite{newRunner: newRunner, caps: caps}
	tests := []struct {
		name      string
		processes bool // needs Capabilities.RunsProcesses
		run       func(t *testing.T)
	}{
		{"start runs the container", false, s.testStart},
		{"logs options", false, s.testLogOptions},
		{"logs show stdout and stderr", true, s.testLogContent},
		{"follow ends when the container exits", true, s.testFollowUntilExit},
		{"follow ends when the context ends", false, s.testFollowUntilCancel},
		{"exit codes and reasons", true, s.testExitCodes},
		{"stop", false, s.testStop},
		{"stop lets the process exit gracefully", true, s.testStopGraceful},
		{"stop kills a process ignoring SIGTERM after grace", true, s.testStopKill},
		{"remove forgets the container", false, s.testRemove},
		{"list shows every container", false, s.testList},
		{"exec", false, s.testExec},
		{"exec runs in the container's context", true, s.testExecContext},
		{"env args and workingDir are honoured", true, s.testEnvArgsWorkingDir},
		{"a restarted runner adopts its containers", false, s.testRestart},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.processes && !caps.RunsProcesses {
				t.Skip("the runner does not run processes")
			}
			tc.run(t)
		})
	}
}

type suite struct {
	newRunner func(t *testing.T) runner.Runner
	caps      Capabilities
}

// waitTimeout bounds every wait of the suite; polls return as soon as the
// condition holds.
const waitTimeout = 30 * time.Second

// spec is a container of its own pod running script with /bin/sh.
func spec(name, script string) runner.ContainerSpec {
	return runner.ContainerSpec{
		PodUID:       "uid-" + name,
		PodNamespace: "default",
		PodName:      "pod-" + name,
		Name:         name,
		Image:        "busybox",
		Command:      []string{"/bin/sh", "-c", script},
	}
}

// start starts spec and stops and removes the container when the test ends.
func start(t *testing.T, r runner.Runner, spec runner.ContainerSpec) runner.ID {
	t.Helper()
	id, err := r.Start(context.Background(), spec)
	if err != nil {
		t.Fatalf("Start(%s): %v", spec.Name, err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		_ = r.Stop(ctx, id, 0)
		_ = r.Remove(ctx, id)
	})
	return id
}

// find returns the container id as List shows it.
func find(t *testing.T, r runner.Runner, id runner.ID) (runner.Container, bool) {
	t.Helper()
	list, err := r.List(context.Background())
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	for _, c := range list {
		if c.ID == id {
			return c, true
		}
	}
	return runner.Container{}, false
}

// waitFor polls List until the container satisfies cond and returns it.
func waitFor(t *testing.T, r runner.Runner, id runner.ID, what string, cond func(runner.State) bool) runner.Container {
	t.Helper()
	var last runner.Container
	err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, waitTimeout, true,
		func(context.Context) (bool, error) {
			c, ok := find(t, r, id)
			last = c
			return ok && cond(c.State), nil
		})
	if err != nil {
		t.Fatalf("container %s never became %s; last seen %+v", id, what, last)
	}
	return last
}

func running(s runner.State) bool { return s.Running }
func exited(s runner.State) bool  { return s.Exited }

func logs(t *testing.T, r runner.Runner, id runner.ID, opts runner.LogOptions) string {
	t.Helper()
	var buf bytes.Buffer
	if err := r.Logs(context.Background(), id, opts, &buf); err != nil {
		t.Fatalf("Logs(%+v): %v", opts, err)
	}
	return buf.String()
}

// waitLogs polls until the container's log contains substr.
func waitLogs(t *testing.T, r runner.Runner, id runner.ID, substr string) {
	t.Helper()
	var got string
	err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, waitTimeout, true,
		func(context.Context) (bool, error) {
			got = logs(t, r, id, runner.LogOptions{})
			return strings.Contains(got, substr), nil
		})
	if err != nil {
		t.Fatalf("log of %s never showed %q; got %q", id, substr, got)
	}
}

// identity is a container without its state.
func identity(c runner.Container) runner.Container {
	c.State = runner.State{}
	return c
}

func (s suite) testStart(t *testing.T) {
	r := s.newRunner(t)
	sp := spec("web", "echo hello; exec sleep 600")
	sp.Attempt = 2
	before := time.Now()
	id := start(t, r, sp)
	c := waitFor(t, r, id, "running", running)
	after := time.Now()

	want := runner.Container{ID: id, PodUID: "uid-web", PodNamespace: "default", PodName: "pod-web", Name: "web", Attempt: 2}
	if diff := cmp.Diff(want, identity(c)); diff != "" {
		t.Errorf("listed container (-want +got):\n%s", diff)
	}
	if c.State.Exited {
		t.Errorf("running container is also exited: %+v", c.State)
	}
	if c.State.StartedAt.Before(before.Add(-time.Second)) || c.State.StartedAt.After(after.Add(time.Second)) {
		t.Errorf("StartedAt = %v, want between %v and %v", c.State.StartedAt, before, after)
	}
}

func (s suite) testLogOptions(t *testing.T) {
	r := s.newRunner(t)
	id := start(t, r, spec("logs", "echo one; echo two; echo three; exec sleep 600"))
	waitFor(t, r, id, "running", running)
	if s.caps.RunsProcesses {
		waitLogs(t, r, id, "three\n")
	}
	all := logs(t, r, id, runner.LogOptions{})
	if all == "" || !strings.HasSuffix(all, "\n") {
		t.Fatalf("Logs = %q, want lines", all)
	}
	lines := strings.SplitAfter(all, "\n")
	lines = lines[:len(lines)-1]
	lastLine := lines[len(lines)-1]
	future := time.Now().Add(time.Hour)
	past := time.Now().Add(-time.Hour)

	tsLine := regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}(Z|[+-]\d\d:\d\d) `)
	tests := []struct {
		name string
		opts runner.LogOptions
		// transform normalises the output before comparing; nil keeps it.
		transform func(t *testing.T, got string) string
		want      string
	}{
		{name: "everything", want: all},
		{name: "tail 0", opts: runner.LogOptions{TailLines: ptr[int64](0)}, want: ""},
		{name: "tail 1", opts: runner.LogOptions{TailLines: ptr[int64](1)}, want: lastLine},
		{name: "tail beyond the start", opts: runner.LogOptions{TailLines: ptr[int64](1000)}, want: all},
		{name: "limitBytes 3", opts: runner.LogOptions{LimitBytes: ptr[int64](3)}, want: all[:3]},
		{name: "limitBytes beyond the end", opts: runner.LogOptions{LimitBytes: ptr[int64](1 << 20)}, want: all},
		{name: "sinceTime in the past", opts: runner.LogOptions{SinceTime: &past}, want: all},
		{name: "sinceTime in the future", opts: runner.LogOptions{SinceTime: &future}, want: ""},
		{
			name: "timestamps prefix every line",
			opts: runner.LogOptions{Timestamps: true},
			transform: func(t *testing.T, got string) string {
				if n := len(tsLine.FindAllString(got, -1)); n != len(lines) {
					t.Errorf("%d lines start with an RFC3339Nano timestamp, want %d:\n%s", n, len(lines), got)
				}
				return tsLine.ReplaceAllString(got, "")
			},
			want: all,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := logs(t, r, id, tc.opts)
			if tc.transform != nil {
				got = tc.transform(t, got)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Logs(%s) (-want +got):\n%s", tc.name, diff)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func (s suite) testLogContent(t *testing.T) {
	r := s.newRunner(t)
	// The pause orders the streams, which the runtime reads independently.
	id := start(t, r, spec("out", "echo to-stderr >&2; sleep 0.2; echo one; printf 'two\\nthree\\n'"))
	waitFor(t, r, id, "exited", exited)
	if diff := cmp.Diff("to-stderr\none\ntwo\nthree\n", logs(t, r, id, runner.LogOptions{})); diff != "" {
		t.Errorf("Logs (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff("two\nthree\n", logs(t, r, id, runner.LogOptions{TailLines: ptr[int64](2)})); diff != "" {
		t.Errorf("Logs tail 2 (-want +got):\n%s", diff)
	}
}

func (s suite) testFollowUntilExit(t *testing.T) {
	r := s.newRunner(t)
	id := start(t, r, spec("follow", "echo first; sleep 0.5; echo second"))
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	var buf bytes.Buffer
	if err := r.Logs(ctx, id, runner.LogOptions{Follow: true}, &buf); err != nil {
		t.Fatalf("Logs follow: %v", err)
	}
	if ctx.Err() != nil {
		t.Fatalf("follow ended only with its context, not when the container exited")
	}
	if diff := cmp.Diff("first\nsecond\n", buf.String()); diff != "" {
		t.Errorf("followed log (-want +got):\n%s", diff)
	}
}

// syncBuffer is a bytes.Buffer safe to read while a follow writes to it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (s suite) testFollowUntilCancel(t *testing.T) {
	r := s.newRunner(t)
	id := start(t, r, spec("follow", "echo first; exec sleep 600"))
	waitFor(t, r, id, "running", running)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var buf syncBuffer
	done := make(chan error, 1)
	go func() { done <- r.Logs(ctx, id, runner.LogOptions{Follow: true}, &buf) }()

	want := "first\n"
	if !s.caps.RunsProcesses {
		want = "\n"
	}
	err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, waitTimeout, true,
		func(context.Context) (bool, error) { return strings.Contains(buf.String(), want), nil })
	if err != nil {
		t.Fatalf("followed log never showed %q; got %q", want, buf.String())
	}
	select {
	case err := <-done:
		t.Fatalf("follow of a running container ended by itself (err %v)", err)
	default:
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("follow ended by its context returned %v, want nil", err)
		}
	case <-time.After(waitTimeout):
		t.Fatalf("follow did not end when its context ended")
	}
}

func (s suite) testExitCodes(t *testing.T) {
	tests := []struct {
		name   string
		script string
		want   runner.State
	}{
		{"exit 0 is Completed", "exit 0", runner.State{Exited: true, ExitCode: 0, Reason: "Completed"}},
		{"exit 3 is Error", "exit 3", runner.State{Exited: true, ExitCode: 3, Reason: "Error"}},
		{"killed by SIGKILL is 137", "kill -KILL $$", runner.State{Exited: true, ExitCode: 137, Reason: "Error"}},
	}
	r := s.newRunner(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := start(t, r, spec("exit", tc.script))
			c := waitFor(t, r, id, "exited", exited)
			got := c.State
			if got.StartedAt.IsZero() || got.FinishedAt.Before(got.StartedAt) {
				t.Errorf("StartedAt %v, FinishedAt %v: want both set, in order", got.StartedAt, got.FinishedAt)
			}
			got.StartedAt, got.FinishedAt = time.Time{}, time.Time{}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("state after %q (-want +got):\n%s", tc.script, diff)
			}
		})
	}
}

func (s suite) testStop(t *testing.T) {
	r := s.newRunner(t)
	ctx := context.Background()
	id := start(t, r, spec("stop", "exec sleep 600"))
	waitFor(t, r, id, "running", running)
	if err := r.Stop(ctx, id, 5*time.Second); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	c, ok := find(t, r, id)
	if !ok || c.State.Running || !c.State.Exited || c.State.FinishedAt.IsZero() {
		t.Errorf("after Stop the container is %+v (listed %v), want exited with FinishedAt", c.State, ok)
	}
	if err := r.Stop(ctx, id, 0); err != nil {
		t.Errorf("Stop of an exited container: %v, want nil", err)
	}
	if err := r.Stop(ctx, "no-such-container", 0); !errors.Is(err, runner.ErrNotFound) {
		t.Errorf("Stop of an unknown container: %v, want ErrNotFound", err)
	}
}

func (s suite) testStopGraceful(t *testing.T) {
	r := s.newRunner(t)
	id := start(t, r, spec("graceful", "trap 'echo bye; exit 0' TERM; echo ready; while :; do sleep 0.1; done"))
	waitLogs(t, r, id, "ready\n")
	began := time.Now()
	if err := r.Stop(context.Background(), id, waitTimeout); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if took := time.Since(began); took > waitTimeout/2 {
		t.Errorf("Stop took %v though the process exits on SIGTERM", took)
	}
	c, _ := find(t, r, id)
	if c.State.ExitCode != 0 || c.State.Reason != "Completed" {
		t.Errorf("after a graceful stop: exit code %d reason %q, want 0 Completed", c.State.ExitCode, c.State.Reason)
	}
	if diff := cmp.Diff("ready\nbye\n", logs(t, r, id, runner.LogOptions{})); diff != "" {
		t.Errorf("log (-want +got):\n%s", diff)
	}
}

func (s suite) testStopKill(t *testing.T) {
	r := s.newRunner(t)
	id := start(t, r, spec("stubborn", "trap '' TERM; echo ready; while :; do sleep 0.1; done"))
	waitLogs(t, r, id, "ready\n")
	const grace = 300 * time.Millisecond
	began := time.Now()
	if err := r.Stop(context.Background(), id, grace); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if took := time.Since(began); took < grace {
		t.Errorf("Stop returned after %v, before the grace period of %v", took, grace)
	}
	c, _ := find(t, r, id)
	want := runner.State{Exited: true, ExitCode: 137, Reason: "Error"}
	got := runner.State{Running: c.State.Running, Exited: c.State.Exited, ExitCode: c.State.ExitCode, Reason: c.State.Reason}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("state after a kill (-want +got):\n%s", diff)
	}
}

func (s suite) testRemove(t *testing.T) {
	r := s.newRunner(t)
	ctx := context.Background()
	id := start(t, r, spec("remove", "exec sleep 600"))
	waitFor(t, r, id, "running", running)
	if err := r.Remove(ctx, id); err == nil {
		t.Errorf("Remove of a running container succeeded, want an error")
	}
	if _, ok := find(t, r, id); !ok {
		t.Fatalf("a failed Remove forgot the container")
	}
	if err := r.Stop(ctx, id, time.Second); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := r.Remove(ctx, id); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if c, ok := find(t, r, id); ok {
		t.Errorf("removed container still listed: %+v", c)
	}
	if err := r.Logs(ctx, id, runner.LogOptions{}, io.Discard); !errors.Is(err, runner.ErrNotFound) {
		t.Errorf("Logs of a removed container: %v, want ErrNotFound", err)
	}
	if err := r.Remove(ctx, id); !errors.Is(err, runner.ErrNotFound) {
		t.Errorf("second Remove: %v, want ErrNotFound", err)
	}
}

func (s suite) testList(t *testing.T) {
	r := s.newRunner(t)
	a := spec("a", "exec sleep 600")
	a2 := spec("a2", "exec sleep 600")
	a2.PodUID, a2.PodName, a2.Attempt = a.PodUID, a.PodName, 3
	b := spec("b", "exec sleep 600")
	b.PodNamespace = "kube-system"
	var want []runner.Container
	for _, sp := range []runner.ContainerSpec{a, a2, b} {
		id := start(t, r, sp)
		want = append(want, runner.Container{ID: id, PodUID: sp.PodUID, PodNamespace: sp.PodNamespace,
			PodName: sp.PodName, Name: sp.Name, Attempt: sp.Attempt})
	}
	for _, c := range want {
		waitFor(t, r, c.ID, "running", running)
	}
	list, err := r.List(context.Background())
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	var got []runner.Container
	for _, c := range list {
		got = append(got, identity(c))
	}
	byID := func(x, y runner.Container) int { return strings.Compare(string(x.ID), string(y.ID)) }
	slices.SortFunc(want, byID)
	slices.SortFunc(got, byID)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}
}

func (s suite) testExec(t *testing.T) {
	r := s.newRunner(t)
	ctx := context.Background()
	id := start(t, r, spec("exec", "exec sleep 600"))
	waitFor(t, r, id, "running", running)
	code, _, err := r.Exec(ctx, id, []string{"true"}, 10*time.Second)
	if err != nil || code != 0 {
		t.Errorf("Exec(true) = %d, %v; want 0, nil", code, err)
	}
	if _, _, err := r.Exec(ctx, "no-such-container", []string{"true"}, time.Second); !errors.Is(err, runner.ErrNotFound) {
		t.Errorf("Exec in an unknown container: %v, want ErrNotFound", err)
	}
}

func (s suite) testExecContext(t *testing.T) {
	r := s.newRunner(t)
	dir := realDir(t)
	sp := spec("exec", "exec sleep 600")
	sp.Env = []runner.EnvVar{{Name: "GREETING", Value: "hello"}}
	sp.WorkingDir = dir
	id := start(t, r, sp)
	waitFor(t, r, id, "running", running)
	tests := []struct {
		name     string
		cmd      []string
		wantCode int
		wantOut  string
	}{
		{"exit code and combined output", []string{"sh", "-c", "echo out; echo err >&2; exit 4"}, 4, "out\nerr\n"},
		{"container env", []string{"sh", "-c", `echo "$GREETING"`}, 0, "hello\n"},
		{"container workingDir", []string{"pwd"}, 0, dir + "\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, err := r.Exec(context.Background(), id, tc.cmd, 10*time.Second)
			if err != nil {
				t.Fatalf("Exec(%q): %v", tc.cmd, err)
			}
			if code != tc.wantCode {
				t.Errorf("Exec(%q) exit code = %d, want %d", tc.cmd, code, tc.wantCode)
			}
			if diff := cmp.Diff(tc.wantOut, string(out)); diff != "" {
				t.Errorf("Exec(%q) output (-want +got):\n%s", tc.cmd, diff)
			}
		})
	}
	t.Run("timeout", func(t *testing.T) {
		began := time.Now()
		if _, _, err := r.Exec(context.Background(), id, []string{"sleep", "60"}, 200*time.Millisecond); err == nil {
			t.Errorf("Exec past its timeout returned no error")
		}
		if took := time.Since(began); took > waitTimeout/2 {
			t.Errorf("Exec with a 200ms timeout took %v", took)
		}
	})
}

// realDir is a temporary directory named without symlinks, as pwd shows it.
func realDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func (s suite) testEnvArgsWorkingDir(t *testing.T) {
	r := s.newRunner(t)
	dir := realDir(t)
	if err := os.WriteFile(filepath.Join(dir, "marker"), []byte("here\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sp := spec("env", "")
	sp.Command = []string{"/bin/sh", "-c"}
	sp.Args = []string{`echo "$GREETING $TARGET|$0|$1|$(pwd)|$(cat marker)"`, "zero", "first"}
	sp.Env = []runner.EnvVar{{Name: "GREETING", Value: "hello"}, {Name: "TARGET", Value: "world"}}
	sp.WorkingDir = dir
	id := start(t, r, sp)
	waitFor(t, r, id, "exited", exited)
	want := "hello world|zero|first|" + dir + "|here\n"
	if diff := cmp.Diff(want, logs(t, r, id, runner.LogOptions{})); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
}

func (s suite) testRestart(t *testing.T) {
	ctx := context.Background()
	before := s.newRunner(t)
	live := start(t, before, spec("daemon", "echo started; exec sleep 600"))
	done := start(t, before, spec("job", "echo done; exit 3"))
	liveC := waitFor(t, before, live, "running", running)
	if s.caps.RunsProcesses {
		waitFor(t, before, done, "exited", exited)
		waitLogs(t, before, live, "started\n")
	} else if err := before.Stop(ctx, done, 0); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	doneC := waitFor(t, before, done, "exited", exited)
	liveLog := logs(t, before, live, runner.LogOptions{})

	after := s.newRunner(t)
	list, err := after.List(ctx)
	if err != nil {
		t.Fatalf("List after restart: %v", err)
	}
	want := []runner.Container{doneC, liveC}
	byID := func(x, y runner.Container) int { return strings.Compare(string(x.ID), string(y.ID)) }
	slices.SortFunc(want, byID)
	slices.SortFunc(list, byID)
	if diff := cmp.Diff(want, list,
		cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
		t.Errorf("List after restart (-want +got):\n%s", diff)
	}
	// Never restarted: still one start, one output.
	if diff := cmp.Diff(liveLog, logs(t, after, live, runner.LogOptions{})); diff != "" {
		t.Errorf("log after restart (-want +got):\n%s", diff)
	}
	if err := after.Stop(ctx, live, time.Second); err != nil {
		t.Fatalf("Stop through the new runner: %v", err)
	}
	if c, _ := find(t, after, live); !c.State.Exited {
		t.Errorf("after Stop through the new runner: %+v, want exited", c.State)
	}
}
