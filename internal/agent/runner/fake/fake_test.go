package fake_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	testingclock "k8s.io/utils/clock/testing"

	"github.com/everynode/everynode/internal/agent/runner"
	"github.com/everynode/everynode/internal/agent/runner/fake"
	"github.com/everynode/everynode/internal/agent/runner/runnertest"
)

func TestConformance(t *testing.T) {
	// Runners made for the same test share a State: a second one is the
	// agent after a restart.
	states := map[*testing.T]*fake.State{}
	newRunner := func(t *testing.T) runner.Runner {
		st, ok := states[t]
		if !ok {
			st = fake.NewState()
			states[t] = st
		}
		return fake.New(fake.Config{State: st})
	}
	runnertest.Run(t, newRunner, runnertest.Capabilities{RunsProcesses: false})
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func spec(image string) runner.ContainerSpec {
	return runner.ContainerSpec{PodUID: "u1", PodNamespace: "default", PodName: "p", Name: "c", Image: image}
}

func TestStart(t *testing.T) {
	const delay = 5 * time.Second
	tests := []struct {
		name    string
		image   string
		elapsed time.Duration // clock step after Start
		want    runner.State
		wantErr *runner.StartError
	}{
		{
			name:  "before the start delay: waiting in ContainerCreating",
			image: "pause", elapsed: delay - time.Millisecond,
			want: runner.State{Reason: fake.ReasonContainerCreating},
		},
		{
			name:  "after the start delay: running since the delay ended",
			image: "pause", elapsed: delay,
			want: runner.State{Running: true, StartedAt: t0.Add(delay)},
		},
		{
			name:    "an image that is not pullable: ErrImagePull",
			image:   "registry.invalid/nope:1",
			wantErr: &runner.StartError{Reason: "ErrImagePull", Message: `failed to pull image "registry.invalid/nope:1": the fake runtime was configured to fail pulling it`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := testingclock.NewFakeClock(t0)
			r := fake.New(fake.Config{
				StartDelay:     delay,
				Clock:          clk,
				PullableImages: func(image string) bool { return image != "registry.invalid/nope:1" },
			})
			id, err := r.Start(context.Background(), spec(tc.image))
			var se *runner.StartError
			errors.As(err, &se)
			if diff := cmp.Diff(tc.wantErr, se); diff != "" {
				t.Fatalf("Start error (-want +got):\n%s", diff)
			}
			if tc.wantErr != nil {
				return
			}
			clk.Step(tc.elapsed)
			list, err := r.List(context.Background())
			if err != nil || len(list) != 1 {
				t.Fatalf("List = %v, %v; want one container", list, err)
			}
			if list[0].ID != id {
				t.Errorf("listed ID %q, want %q", list[0].ID, id)
			}
			if diff := cmp.Diff(tc.want, list[0].State); diff != "" {
				t.Errorf("state (-want +got):\n%s", diff)
			}
		})
	}
}

func TestExit(t *testing.T) {
	tests := []struct {
		name string
		code int
		want runner.State
	}{
		{"exit 0 is Completed", 0, runner.State{StartedAt: t0, Exited: true, FinishedAt: t0.Add(time.Minute), Reason: "Completed"}},
		{"exit 2 is Error", 2, runner.State{StartedAt: t0, Exited: true, ExitCode: 2, FinishedAt: t0.Add(time.Minute), Reason: "Error"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := testingclock.NewFakeClock(t0)
			r := fake.New(fake.Config{Clock: clk})
			id, err := r.Start(context.Background(), spec("pause"))
			if err != nil {
				t.Fatal(err)
			}
			clk.Step(time.Minute)
			if err := r.Exit(id, tc.code); err != nil {
				t.Fatalf("Exit: %v", err)
			}
			list, _ := r.List(context.Background())
			if diff := cmp.Diff(tc.want, list[0].State); diff != "" {
				t.Errorf("state (-want +got):\n%s", diff)
			}
		})
	}
}

// TestThousands checks that the fake stays cheap: it is what scale tests
// run thousands of pods on.
func TestThousands(t *testing.T) {
	const n = 5000
	r := fake.New(fake.Config{})
	ctx := context.Background()
	for i := range n {
		s := spec("pause")
		s.PodName = fmt.Sprintf("p%05d", i)
		if _, err := r.Start(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	list, err := r.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	running := 0
	for _, c := range list {
		if c.State.Running {
			running++
		}
	}
	if running != n {
		t.Errorf("%d of %d containers running", running, n)
	}
}
