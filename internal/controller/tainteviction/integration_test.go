package tainteviction_test

import (
	"context"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"github.com/everynode/everynode/internal/controller/tainteviction"
	"github.com/everynode/everynode/internal/testserver"
)

func start(t *testing.T) (kubernetes.Interface, *clocktesting.FakeClock, *tainteviction.Controller) {
	t.Helper()
	srv := testserver.Start(t)
	fake := clocktesting.NewFakeClock(time.Now())
	ctx, cancel := context.WithCancel(context.Background())
	factory := informers.NewSharedInformerFactory(srv.Client, 0)
	broadcaster := record.NewBroadcaster(record.WithContext(ctx))
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: srv.Client.CoreV1().Events("")})
	c, err := tainteviction.New(tainteviction.Config{
		Client: srv.Client, Informers: factory, Clock: fake,
		Recorder: broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: tainteviction.Name}),
	})
	if err != nil {
		t.Fatal(err)
	}
	factory.Start(ctx.Done())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := c.Run(ctx, 2); err != nil {
			t.Errorf("run: %v", err)
		}
	})
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		factory.Shutdown()
		broadcaster.Shutdown()
	})
	return srv.Client, fake, c
}

func poll(t *testing.T, what string, cond func(ctx context.Context) bool) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, 20*time.Second, true, func(ctx context.Context) (bool, error) {
		return cond(ctx), nil
	}); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

func deleting(ctx context.Context, c kubernetes.Interface, name string) bool {
	p, err := c.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
	return apierrors.IsNotFound(err) || (err == nil && p.DeletionTimestamp != nil)
}

func maintToleration(seconds *int64) corev1.Toleration {
	return corev1.Toleration{Key: "maint", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: seconds}
}

func createPod(t *testing.T, c kubernetes.Interface, name string, tols ...corev1.Toleration) {
	t.Helper()
	_, err := c.CoreV1().Pods("default").Create(context.Background(), &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       corev1.PodSpec{NodeName: "n1", Tolerations: tols, Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create pod %s: %v", name, err)
	}
}

func setTaints(t *testing.T, c kubernetes.Interface, taints ...corev1.Taint) {
	t.Helper()
	ctx := context.Background()
	node, err := c.CoreV1().Nodes().Get(ctx, "n1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	node.Spec.Taints = taints
	if _, err := c.CoreV1().Nodes().Update(ctx, node, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("taint n1: %v", err)
	}
}

// TestMaintenanceTaint: T5 rows 5, 6, 13 against a real server with a
// fake clock (R70–R74).
func TestMaintenanceTaint(t *testing.T) {
	client, clock, ctrl := start(t)
	ctx := context.Background()
	if _, err := client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	createPod(t, client, "untolerant")
	createPod(t, client, "patient", maintToleration(ptr.To[int64](20)))
	createPod(t, client, "forever", maintToleration(nil))
	createPod(t, client, "cancelled", maintToleration(ptr.To[int64](100)))

	maint := corev1.Taint{Key: "maint", Effect: corev1.TaintEffectNoExecute}
	setTaints(t, client, maint)
	start := clock.Now()

	// T5#5 R70: no matching toleration: deleted at once, condition first.
	poll(t, "untolerant pod deleted", func(ctx context.Context) bool { return deleting(ctx, client, "untolerant") })
	p, err := client.CoreV1().Pods("default").Get(ctx, "untolerant", metav1.GetOptions{})
	if err == nil {
		var found bool
		for _, cond := range p.Status.Conditions {
			if cond.Type == corev1.DisruptionTarget && cond.Status == corev1.ConditionTrue && cond.Reason == tainteviction.ConditionReason {
				found = true
			}
		}
		if !found {
			t.Errorf("R70 DisruptionTarget condition missing: %+v", p.Status.Conditions)
		}
	}
	poll(t, "event TaintManagerEviction", func(ctx context.Context) bool {
		evs, err := client.CoreV1().Events("default").List(ctx, metav1.ListOptions{})
		if err != nil {
			return false
		}
		for _, e := range evs.Items {
			if e.Reason == tainteviction.EventReason && e.Message == "Marking for deletion Pod default/untolerant" {
				return true
			}
		}
		return false
	})

	// T5#6: tolerated for 20s from observation.
	var at time.Time
	poll(t, "patient eviction scheduled", func(context.Context) bool {
		var ok bool
		at, ok = ctrl.Scheduled("default", "patient")
		return ok
	})
	if d := at.Sub(start); d != 20*time.Second {
		t.Errorf("T5#6 eviction due %v after observation, want 20s", d)
	}
	poll(t, "cancelled eviction scheduled", func(context.Context) bool {
		_, ok := ctrl.Scheduled("default", "cancelled")
		return ok
	})
	clock.Step(19 * time.Second)
	if deleting(ctx, client, "patient") {
		t.Fatalf("T5#6 pod deleted before its tolerationSeconds")
	}
	clock.Step(time.Second)
	poll(t, "patient pod deleted at 20s", func(ctx context.Context) bool { return deleting(ctx, client, "patient") })

	// T5#13 R72: removing the taint cancels the pending deletion.
	setTaints(t, client)
	poll(t, "cancelled eviction dropped", func(context.Context) bool {
		_, ok := ctrl.Scheduled("default", "cancelled")
		return !ok
	})
	clock.Step(200 * time.Second)
	for _, name := range []string{"cancelled", "forever"} {
		if deleting(ctx, client, name) {
			t.Errorf("pod %s deleted, want kept", name)
		}
	}
}
