package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"github.com/everynode/everynode/internal/agent/runner"
)

func klogError(ctx context.Context, err error, msg string, kv ...any) {
	klog.FromContext(ctx).Error(err, msg, kv...)
}

// syncPod brings one pod's containers and status in line with its spec:
// snapshot, plan, apply, then write the status if it changed.
func (a *Agent) syncPod(ctx context.Context, key string) (time.Duration, error) {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return 0, nil
	}
	cached, err := a.pods.Pods(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return 0, nil // relist stops what is left of it
	}
	if err != nil {
		return 0, err
	}
	if cached.Spec.NodeName != a.cfg.NodeName {
		return 0, nil
	}
	pod := cached.DeepCopy()
	uid := string(pod.UID)
	list, err := a.cfg.Runner.List(ctx)
	if err != nil {
		return 0, fmt.Errorf("list containers: %w", err)
	}
	observed := groupAttempts(list, uid)

	if rejected, err := a.admitOnce(ctx, pod, len(observed) > 0); rejected || err != nil {
		return 0, err
	}

	var plan podPlan
	for round := 0; ; round++ {
		plan = planPod(a.snapshot(pod, observed))
		if round == 2 || (len(plan.Start) == 0 && len(plan.Remove) == 0) {
			break
		}
		a.apply(ctx, key, pod, plan)
		if list, err = a.cfg.Runner.List(ctx); err != nil {
			return 0, fmt.Errorf("list containers: %w", err)
		}
		observed = groupAttempts(list, uid)
	}
	for _, s := range plan.Stop {
		a.stop(ctx, key, s)
	}
	a.syncProbes(ctx, key, pod, observed)

	if !apiequality.Semantic.DeepEqual(pod.Status, plan.Status) {
		pod.Status = plan.Status
		if _, err := a.cfg.Client.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
			if apierrors.IsNotFound(err) {
				return 0, nil
			}
			return 0, fmt.Errorf("update status of pod %s: %w", key, err)
		}
	}
	if plan.Delete {
		err := a.cfg.Client.CoreV1().Pods(ns).Delete(ctx, name, metav1.DeleteOptions{
			GracePeriodSeconds: new(int64(0)),
			Preconditions:      &metav1.Preconditions{UID: &pod.UID},
		})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return 0, fmt.Errorf("delete pod %s: %w", key, err)
		}
		klog.FromContext(ctx).V(2).Info("pod terminated and deleted", "pod", key)
	}
	return plan.Requeue, nil
}

// admitOnce runs kubelet admission the first time this agent sees a pod
// that has nothing running here yet; a rejected pod is marked Failed.
func (a *Agent) admitOnce(ctx context.Context, pod *corev1.Pod, hasContainers bool) (bool, error) {
	uid := string(pod.UID)
	a.mu.Lock()
	done := a.admitted[uid]
	a.mu.Unlock()
	terminal := pod.Status.Phase == corev1.PodFailed || pod.Status.Phase == corev1.PodSucceeded
	if done || hasContainers || terminal || pod.DeletionTimestamp != nil {
		return false, nil
	}
	node, err := a.nodes.Get(a.cfg.NodeName)
	if err != nil {
		return false, fmt.Errorf("admit pod %s/%s: get node: %w", pod.Namespace, pod.Name, err)
	}
	verdict := admit(pod, node)
	if verdict.Admit {
		a.mu.Lock()
		a.admitted[uid] = true
		a.mu.Unlock()
		return false, nil
	}
	klog.FromContext(ctx).Info("pod rejected", "pod", klog.KObj(pod), "reason", verdict.Reason, "message", verdict.Message)
	pod.Status.Phase = corev1.PodFailed
	pod.Status.Reason = verdict.Reason
	pod.Status.Message = verdict.Message
	if _, err := a.cfg.Client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		return true, fmt.Errorf("reject pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return true, nil
}

// snapshot gathers what planPod needs about pod.
func (a *Agent) snapshot(pod *corev1.Pod, observed map[string]attempts) podSnapshot {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := podSnapshot{
		Pod: pod, HostIP: a.cfg.Address, DataDir: a.cfg.DataDir, RuntimeName: a.cfg.RuntimeName,
		Now: a.cfg.Clock.Now(), Observed: observed,
		Memory:   map[string]containerMemory{},
		Probes:   map[runner.ID]probeStatus{},
		Stopping: map[runner.ID]bool{},
	}
	for name, m := range a.memory[string(pod.UID)] {
		s.Memory[name] = m
	}
	for _, at := range observed {
		if at.Current == nil {
			continue
		}
		if ps, ok := a.probes[at.Current.ID]; ok {
			s.Probes[at.Current.ID] = ps
		}
		if a.stopping[at.Current.ID] {
			s.Stopping[at.Current.ID] = true
		}
	}
	return s
}

// apply carries out a plan's removals and starts.
func (a *Agent) apply(ctx context.Context, key string, pod *corev1.Pod, p podPlan) {
	log := klog.FromContext(ctx)
	for _, id := range p.Remove {
		if err := a.cfg.Runner.Remove(ctx, id); err != nil && !errors.Is(err, runner.ErrNotFound) {
			log.Error(err, "remove old container", "pod", key, "id", id)
		}
	}
	uid := string(pod.UID)
	for _, st := range p.Start {
		for _, d := range st.Dirs {
			if err := os.MkdirAll(d, 0o755); err != nil {
				log.Error(err, "create emptyDir", "pod", key, "dir", d)
			}
		}
		_, err := a.cfg.Runner.Start(ctx, st.Spec)
		mem := containerMemory{Backoff: st.Backoff}
		var se *runner.StartError
		switch {
		case errors.As(err, &se):
			mem.StartErr, mem.StartErrAt = se, a.cfg.Clock.Now()
			if mem.Backoff.Delay == 0 {
				mem.Backoff = mem.Backoff.next(mem.StartErrAt)
			}
			log.Info("container failed to start", "pod", key, "container", st.Spec.Name, "reason", se.Reason, "message", se.Message)
		case err != nil:
			mem.StartErr = &runner.StartError{Reason: "RunContainerError", Message: err.Error()}
			mem.StartErrAt = a.cfg.Clock.Now()
			if mem.Backoff.Delay == 0 {
				mem.Backoff = mem.Backoff.next(mem.StartErrAt)
			}
			log.Error(err, "start container", "pod", key, "container", st.Spec.Name)
		default:
			log.V(2).Info("started container", "pod", key, "container", st.Spec.Name, "attempt", st.Spec.Attempt)
		}
		a.mu.Lock()
		if a.memory[uid] == nil {
			a.memory[uid] = map[string]containerMemory{}
		}
		a.memory[uid][st.Spec.Name] = mem
		a.mu.Unlock()
	}
}

// stop stops a container in the background (it may take the whole grace
// period) and syncs the pod again when it is done.
func (a *Agent) stop(ctx context.Context, key string, s stopAction) {
	a.mu.Lock()
	if a.stopping[s.ID] {
		a.mu.Unlock()
		return
	}
	a.stopping[s.ID] = true
	a.mu.Unlock()
	klog.FromContext(ctx).Info("stopping container", "pod", key, "container", s.Container, "grace", s.Grace, "reason", s.Why)
	a.bg.Add(1)
	go func() {
		defer a.bg.Done()
		// The stop outlives a shutting-down agent only by the grace
		// period: a half-stopped container would be worse.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.Grace+10*time.Second)
		defer cancel()
		if err := a.cfg.Runner.Stop(sctx, s.ID, s.Grace); err != nil && !errors.Is(err, runner.ErrNotFound) {
			klogError(ctx, err, "stop container", "pod", key, "container", s.Container)
		}
		a.mu.Lock()
		delete(a.stopping, s.ID)
		a.mu.Unlock()
		if key != "" {
			a.queue.Add(key)
		}
	}()
}

// relist notices exited containers by syncing every pod, and stops and
// removes the containers of pods that no longer exist.
func (a *Agent) relist(ctx context.Context) {
	pods, err := a.pods.List(labelsEverything())
	if err != nil {
		return
	}
	known := map[types.UID]*corev1.Pod{}
	for _, p := range pods {
		known[p.UID] = p
		if key, err := cache.MetaNamespaceKeyFunc(p); err == nil {
			a.queue.Add(key)
		}
	}
	list, err := a.cfg.Runner.List(ctx)
	if err != nil {
		klogError(ctx, err, "list containers")
		return
	}
	a.stopProbesExcept(known)
	for _, c := range list {
		if _, ok := known[types.UID(c.PodUID)]; ok {
			continue
		}
		if c.State.Running {
			a.stop(ctx, "", stopAction{ID: c.ID, Container: c.Name, Grace: defaultTerminationSeconds * time.Second, Why: "pod no longer exists"})
			continue
		}
		a.mu.Lock()
		stopping := a.stopping[c.ID]
		a.mu.Unlock()
		if !stopping {
			if err := a.cfg.Runner.Remove(ctx, c.ID); err != nil && !errors.Is(err, runner.ErrNotFound) {
				klogError(ctx, err, "remove container of deleted pod", "id", c.ID)
			}
		}
	}
	a.mu.Lock()
	for uid := range a.memory {
		if _, ok := known[types.UID(uid)]; !ok {
			delete(a.memory, uid)
		}
	}
	for uid := range a.admitted {
		if _, ok := known[types.UID(uid)]; !ok {
			delete(a.admitted, uid)
		}
	}
	a.mu.Unlock()
}

func labelsEverything() labels.Selector { return labels.Everything() }
