package agent

import (
	"fmt"
	"path/filepath"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/everynode/everynode/internal/agent/runner"
)

// attempts are the runner's containers for one container of a pod: the
// latest attempt, the one before it (kept for `kubectl logs --previous`) and
// any older ones, which are removed.
type attempts struct {
	Current  *runner.Container
	Previous *runner.Container
	Older    []runner.Container
}

// groupAttempts sorts the runner's containers of the pod with UID podUID by
// container name, newest attempt first.
func groupAttempts(list []runner.Container, podUID string) map[string]attempts {
	byName := map[string][]runner.Container{}
	for _, c := range list {
		if c.PodUID == podUID {
			byName[c.Name] = append(byName[c.Name], c)
		}
	}
	out := make(map[string]attempts, len(byName))
	for name, cs := range byName {
		sort.SliceStable(cs, func(i, j int) bool { return cs[i].Attempt > cs[j].Attempt })
		a := attempts{Current: &cs[0]}
		if len(cs) > 1 {
			a.Previous = &cs[1]
			a.Older = cs[2:]
		}
		out[name] = a
	}
	return out
}

// containerMemory is what the agent remembers of one container of a pod
// between syncs (lost when the agent restarts, as the kubelet's backoff).
type containerMemory struct {
	Backoff backoff
	// StartErr is the last failure to start, at StartErrAt.
	StartErr   *runner.StartError
	StartErrAt time.Time
}

// probeStatus is what the probes of one running container concluded.
type probeStatus struct {
	Started   bool
	Ready     bool
	Unhealthy bool // liveness or startup probe failed: restart the container
	Message   string
}

// defaultProbeStatus is the status of a container no probe has reported
// on yet: started unless it has a startup probe, ready once started unless
// it has a readiness probe.
func defaultProbeStatus(c *corev1.Container) probeStatus {
	return probeStatus{Started: c.StartupProbe == nil, Ready: c.ReadinessProbe == nil}
}

// podSnapshot is everything the planner looks at for one pod.
type podSnapshot struct {
	Pod         *corev1.Pod
	HostIP      string
	DataDir     string
	RuntimeName string
	Now         time.Time
	Observed    map[string]attempts        // by container name
	Memory      map[string]containerMemory // by container name
	Probes      map[runner.ID]probeStatus
	Stopping    map[runner.ID]bool
}

// startAction starts one container.
type startAction struct {
	Spec    runner.ContainerSpec
	Backoff backoff // the container's backoff once started
	// Dirs are emptyDir volumes to create first.
	Dirs []string
}

// stopAction stops one container with a grace period.
type stopAction struct {
	ID        runner.ID
	Container string
	Grace     time.Duration
	Why       string
}

// podPlan is what to do for one pod now and the status it then has.
type podPlan struct {
	Start  []startAction
	Stop   []stopAction
	Remove []runner.ID
	Status corev1.PodStatus
	// Delete removes the terminated pod from the API (grace 0).
	Delete bool
	// Requeue asks for another sync after this long (0: not needed).
	Requeue time.Duration
}

func (p *podPlan) requeueAfter(d time.Duration) {
	if d <= 0 {
		d = time.Second
	}
	if p.Requeue == 0 || d < p.Requeue {
		p.Requeue = d
	}
}

// Waiting reasons of the kubelet.
const (
	reasonContainerCreating   = "ContainerCreating"
	reasonPodInitializing     = "PodInitializing"
	reasonCrashLoopBackOff    = "CrashLoopBackOff"
	reasonImagePullBackOff    = "ImagePullBackOff"
	reasonErrImagePull        = "ErrImagePull"
	reasonCreateConfigError   = "CreateContainerConfigError"
	reasonCompleted           = "Completed"
	reasonError               = "Error"
	defaultTerminationSeconds = 30
)

// planPod decides, from plain values, which containers of the pod to start,
// stop and remove now, and what the pod's status is (STYLE #2). It is the
// kubelet's SyncPod: init containers one by one, then the app containers,
// restarted per restartPolicy with CrashLoopBackOff; on deletion, every
// container is stopped and the pod is deleted once nothing runs.
func planPod(s podSnapshot) podPlan {
	pod := s.Pod
	var p podPlan
	for _, a := range s.Observed {
		for _, c := range a.Older {
			if !c.State.Running {
				p.Remove = append(p.Remove, c.ID)
			}
		}
	}
	sort.Slice(p.Remove, func(i, j int) bool { return p.Remove[i] < p.Remove[j] })

	terminal := pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
	if pod.DeletionTimestamp != nil || terminal {
		return planTermination(s, p, terminal)
	}

	b := newStatusBuilder(s)
	initDone, initFailed := true, false
	if !anyObserved(s.Observed, pod.Spec.Containers) {
		for i := range pod.Spec.InitContainers {
			c := &pod.Spec.InitContainers[i]
			a := s.Observed[c.Name]
			if initSucceeded(a, b.oldInit[c.Name]) {
				b.init(c, a, nil)
				continue
			}
			if initDone {
				initDone = false
				if a.Current != nil && a.Current.State.Exited && pod.Spec.RestartPolicy == corev1.RestartPolicyNever {
					initFailed = true
					b.init(c, a, nil)
					continue
				}
				b.init(c, a, s.advance(&p, c, a, func(code int) bool { return code != 0 }, b.oldInit[c.Name]))
				continue
			}
			b.init(c, a, &corev1.ContainerStateWaiting{Reason: reasonPodInitializing})
		}
	} else {
		for i := range pod.Spec.InitContainers {
			c := &pod.Spec.InitContainers[i]
			b.init(c, s.Observed[c.Name], nil)
		}
	}
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		a := s.Observed[c.Name]
		switch {
		case !initDone || initFailed:
			b.app(c, a, &corev1.ContainerStateWaiting{Reason: reasonPodInitializing})
		default:
			b.app(c, a, s.advance(&p, c, a, func(code int) bool { return restarts(pod.Spec.RestartPolicy, code) }, b.old[c.Name]))
		}
	}
	p.Status = b.build(initDone, initFailed, false)
	return p
}

// planTermination stops everything of a pod being deleted or already
// terminal, and deletes a deleted pod once nothing of it runs.
func planTermination(s podSnapshot, p podPlan, terminal bool) podPlan {
	pod := s.Pod
	running := false
	for _, list := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for i := range list {
			a := s.Observed[list[i].Name]
			if a.Current == nil || !a.Current.State.Running {
				continue
			}
			running = true
			if !s.Stopping[a.Current.ID] {
				p.Stop = append(p.Stop, stopAction{ID: a.Current.ID, Container: list[i].Name, Grace: deletionGrace(pod), Why: "pod is terminating"})
			}
		}
	}
	p.Delete = pod.DeletionTimestamp != nil && !running
	if terminal && !running {
		// The final status was written when the pod became terminal (or
		// the pod was rejected before anything ran): keep it.
		p.Status = *pod.Status.DeepCopy()
		return p
	}
	b := newStatusBuilder(s)
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		b.init(c, s.Observed[c.Name], nil)
	}
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		b.app(c, s.Observed[c.Name], nil)
	}
	p.Status = b.build(true, false, !running)
	if running {
		p.requeueAfter(time.Second)
	}
	return p
}

// advance decides what to do with one container that should be running
// (or run to completion) and returns the waiting state to report, if any.
func (s podSnapshot) advance(p *podPlan, c *corev1.Container, a attempts, restart func(exitCode int) bool, old *corev1.ContainerStatus) *corev1.ContainerStateWaiting {
	mem := s.Memory[c.Name]
	cur := a.Current
	switch {
	case cur != nil && cur.State.Running:
		if ps, ok := s.Probes[cur.ID]; ok && ps.Unhealthy && !s.Stopping[cur.ID] {
			p.Stop = append(p.Stop, stopAction{ID: cur.ID, Container: c.Name, Grace: probeGrace(s.Pod, c), Why: ps.Message})
		}
		return nil
	case cur != nil && cur.State.Exited:
		if !restart(cur.State.ExitCode) {
			return nil
		}
		if until, wait := mem.Backoff.waitUntil(s.Now, cur.State.FinishedAt); wait {
			p.requeueAfter(until.Sub(s.Now))
			return &corev1.ContainerStateWaiting{Reason: reasonCrashLoopBackOff,
				Message: fmt.Sprintf("back-off %s restarting failed container=%s pod=%s", mem.Backoff.Delay, c.Name, podDesc(s.Pod))}
		}
		return s.start(p, c, restartCount(a, old)+1, mem.Backoff.next(cur.State.FinishedAt))
	case cur != nil:
		// Created but not yet running: wait for the runner.
		p.requeueAfter(time.Second)
		return &corev1.ContainerStateWaiting{Reason: reasonContainerCreating}
	}
	// Never started (or lost): start, unless the last attempt to start
	// failed too recently.
	attempt := 0
	if old != nil && old.ContainerID != "" {
		attempt = int(old.RestartCount) + 1
	}
	if mem.StartErr != nil {
		if until, wait := mem.Backoff.waitUntil(s.Now, mem.StartErrAt); wait {
			p.requeueAfter(until.Sub(s.Now))
			w := &corev1.ContainerStateWaiting{Reason: mem.StartErr.Reason, Message: mem.StartErr.Message}
			if w.Reason == reasonErrImagePull {
				w.Reason = reasonImagePullBackOff
				w.Message = fmt.Sprintf("Back-off pulling image %q: %s", c.Image, mem.StartErr.Message)
			}
			return w
		}
		return s.start(p, c, attempt, mem.Backoff.next(mem.StartErrAt))
	}
	return s.start(p, c, attempt, mem.Backoff)
}

// start plans a container start and returns the waiting state it shows
// until it runs, or the configuration error that prevents it.
func (s podSnapshot) start(p *podPlan, c *corev1.Container, attempt int, next backoff) *corev1.ContainerStateWaiting {
	spec, dirs, err := containerSpec(s.Pod, c, s.HostIP, s.DataDir, attempt)
	if err != nil {
		p.requeueAfter(backoffInitial)
		return &corev1.ContainerStateWaiting{Reason: reasonCreateConfigError, Message: err.Error()}
	}
	p.Start = append(p.Start, startAction{Spec: spec, Backoff: next, Dirs: dirs})
	return &corev1.ContainerStateWaiting{Reason: reasonContainerCreating}
}

// containerSpec resolves what the runner needs to start container c.
func containerSpec(pod *corev1.Pod, c *corev1.Container, hostIP, dataDir string, attempt int) (runner.ContainerSpec, []string, error) {
	env, err := containerEnv(pod, c, hostIP)
	if err != nil {
		return runner.ContainerSpec{}, nil, err
	}
	mounts, dirs, err := containerMounts(pod, c, dataDir)
	if err != nil {
		return runner.ContainerSpec{}, nil, err
	}
	spec := runner.ContainerSpec{
		PodUID: string(pod.UID), PodNamespace: pod.Namespace, PodName: pod.Name, Name: c.Name,
		Attempt: attempt, Image: c.Image,
		Command: expandAll(c.Command, env), Args: expandAll(c.Args, env),
		Env: env, WorkingDir: c.WorkingDir, Mounts: mounts,
	}
	if q, ok := c.Resources.Limits[corev1.ResourceCPU]; ok {
		spec.CPUMillis = q.MilliValue()
	}
	if q, ok := c.Resources.Limits[corev1.ResourceMemory]; ok {
		spec.MemoryBytes = q.Value()
	}
	return spec, dirs, nil
}

// containerMounts maps volume mounts to host paths: hostPath volumes are the
// host's paths, emptyDir volumes a directory of the pod under the data dir.
// Other volume kinds are not served.
func containerMounts(pod *corev1.Pod, c *corev1.Container, dataDir string) ([]runner.Mount, []string, error) {
	var mounts []runner.Mount
	var dirs []string
	for _, m := range c.VolumeMounts {
		var host string
		for _, v := range pod.Spec.Volumes {
			if v.Name != m.Name {
				continue
			}
			switch {
			case v.HostPath != nil:
				host = v.HostPath.Path
			case v.EmptyDir != nil:
				host = filepath.Join(dataDir, "pods", string(pod.UID), "volumes", v.Name)
				dirs = append(dirs, host)
			default:
				return nil, nil, &configError{fmt.Sprintf("volume %q: only hostPath and emptyDir volumes are supported by everynode", v.Name)}
			}
		}
		if host == "" {
			return nil, nil, &configError{fmt.Sprintf("volume mount %q: no such volume", m.Name)}
		}
		if m.SubPath != "" {
			host = filepath.Join(host, m.SubPath)
		}
		mounts = append(mounts, runner.Mount{HostPath: host, ContainerPath: m.MountPath, ReadOnly: m.ReadOnly})
	}
	return mounts, dirs, nil
}

// restarts applies restartPolicy to a container that exited with exitCode.
func restarts(policy corev1.RestartPolicy, exitCode int) bool {
	switch policy {
	case corev1.RestartPolicyNever:
		return false
	case corev1.RestartPolicyOnFailure:
		return exitCode != 0
	}
	return true
}

func anyObserved(obs map[string]attempts, cs []corev1.Container) bool {
	for _, c := range cs {
		if obs[c.Name].Current != nil {
			return true
		}
	}
	return false
}

// initSucceeded: the init container's last attempt exited 0, here or (the
// runner having forgotten it) in the pod's reported status.
func initSucceeded(a attempts, old *corev1.ContainerStatus) bool {
	if a.Current != nil {
		return a.Current.State.Exited && a.Current.State.ExitCode == 0
	}
	return old != nil && old.State.Terminated != nil && old.State.Terminated.ExitCode == 0
}

// restartCount is the container's restarts so far: the runner's attempt
// number, or the reported count when that is higher (a runner that lost
// its containers must not reset the count).
func restartCount(a attempts, old *corev1.ContainerStatus) int {
	n := 0
	if a.Current != nil {
		n = a.Current.Attempt
	}
	if old != nil && int(old.RestartCount) > n {
		n = int(old.RestartCount)
	}
	return n
}

// deletionGrace is how long a deleted pod's containers get between SIGTERM
// and SIGKILL.
func deletionGrace(pod *corev1.Pod) time.Duration {
	switch {
	case pod.DeletionGracePeriodSeconds != nil:
		return time.Duration(*pod.DeletionGracePeriodSeconds) * time.Second
	case pod.Spec.TerminationGracePeriodSeconds != nil:
		return time.Duration(*pod.Spec.TerminationGracePeriodSeconds) * time.Second
	}
	return defaultTerminationSeconds * time.Second
}

// probeGrace is the grace of a container killed by its liveness or startup
// probe: the probe's own terminationGracePeriodSeconds first.
func probeGrace(pod *corev1.Pod, c *corev1.Container) time.Duration {
	for _, pr := range []*corev1.Probe{c.LivenessProbe, c.StartupProbe} {
		if pr != nil && pr.TerminationGracePeriodSeconds != nil {
			return time.Duration(*pr.TerminationGracePeriodSeconds) * time.Second
		}
	}
	if pod.Spec.TerminationGracePeriodSeconds != nil {
		return time.Duration(*pod.Spec.TerminationGracePeriodSeconds) * time.Second
	}
	return defaultTerminationSeconds * time.Second
}

// podDesc names a pod in messages as the kubelet does: name_namespace(uid).
func podDesc(pod *corev1.Pod) string {
	return fmt.Sprintf("%s_%s(%s)", pod.Name, pod.Namespace, pod.UID)
}
