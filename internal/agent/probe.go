package agent

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/everynode/everynode/internal/agent/runner"
)

// probeKind names a probe of a container.
type probeKind string

const (
	liveness  probeKind = "Liveness"
	readiness probeKind = "Readiness"
	startup   probeKind = "Startup"
)

// probeCounter turns single probe outcomes into a result the way the
// kubelet's probe worker does: a result flips only after successThreshold
// successes or failureThreshold failures in a row. Readiness starts as
// failure, liveness and startup as success-until-proven-otherwise.
type probeCounter struct {
	Result bool
	last   bool
	run    int
}

func newProbeCounter(kind probeKind) probeCounter {
	return probeCounter{Result: kind != readiness, last: kind != readiness}
}

// observe records one outcome and reports whether Result changed.
func (c *probeCounter) observe(ok bool, p *corev1.Probe) bool {
	if ok == c.last {
		c.run++
	} else {
		c.last, c.run = ok, 1
	}
	threshold := int(p.FailureThreshold)
	if ok {
		threshold = int(p.SuccessThreshold)
	}
	if threshold < 1 {
		threshold = 1
	}
	if c.run < threshold || c.Result == ok {
		return false
	}
	c.Result = ok
	return true
}

// probeTarget is what a probe needs to reach its container.
type probeTarget struct {
	ID        runner.ID
	HostIP    string
	Container *corev1.Container
}

// runProbe runs one probe once; it reports success and, on failure, why.
func runProbe(ctx context.Context, r runner.Runner, client *http.Client, t probeTarget, p *corev1.Probe) (bool, string) {
	timeout := time.Duration(max(p.TimeoutSeconds, 1)) * time.Second
	switch {
	case p.Exec != nil:
		code, out, err := r.Exec(ctx, t.ID, p.Exec.Command, timeout)
		if err != nil {
			return false, err.Error()
		}
		if code != 0 {
			return false, fmt.Sprintf("command %q exited with %d: %s", p.Exec.Command, code, out)
		}
		return true, ""
	case p.HTTPGet != nil:
		port, err := probePort(p.HTTPGet.Port, t.Container)
		if err != nil {
			return false, err.Error()
		}
		host := p.HTTPGet.Host
		if host == "" {
			host = t.HostIP
		}
		scheme := "http"
		if p.HTTPGet.Scheme == corev1.URISchemeHTTPS {
			scheme = "https"
		}
		u := url.URL{Scheme: scheme, Host: net.JoinHostPort(host, strconv.Itoa(port)), Path: p.HTTPGet.Path}
		cctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		req, err := http.NewRequestWithContext(cctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return false, err.Error()
		}
		for _, h := range p.HTTPGet.HTTPHeaders {
			req.Header.Add(h.Name, h.Value)
		}
		req.Header.Set("User-Agent", "kube-probe/1.37")
		resp, err := client.Do(req)
		if err != nil {
			return false, fmt.Sprintf("Get %q: %v", u.String(), err)
		}
		resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode >= 400 {
			return false, fmt.Sprintf("HTTP probe failed with statuscode: %d", resp.StatusCode)
		}
		return true, ""
	case p.TCPSocket != nil:
		port, err := probePort(p.TCPSocket.Port, t.Container)
		if err != nil {
			return false, err.Error()
		}
		host := p.TCPSocket.Host
		if host == "" {
			host = t.HostIP
		}
		conn, err := net.DialTimeout("tcp", net.JoinHostPort(host, strconv.Itoa(port)), timeout)
		if err != nil {
			return false, err.Error()
		}
		conn.Close()
		return true, ""
	}
	return false, "probe has no handler everynode supports"
}

// probePort resolves a numeric or named container port.
func probePort(p intstr.IntOrString, c *corev1.Container) (int, error) {
	if p.Type == intstr.Int {
		return p.IntValue(), nil
	}
	for _, cp := range c.Ports {
		if cp.Name == p.StrVal {
			return int(cp.ContainerPort), nil
		}
	}
	if n, err := strconv.Atoi(p.StrVal); err == nil {
		return n, nil
	}
	return 0, fmt.Errorf("no port named %q in container %s", p.StrVal, c.Name)
}

// probeSchedule says when a probe of a container started at startedAt next
// runs: not before initialDelaySeconds, then every periodSeconds.
func probeSchedule(p *corev1.Probe, startedAt, now time.Time) time.Duration {
	period := time.Duration(max(p.PeriodSeconds, 1)) * time.Second
	first := startedAt.Add(time.Duration(p.InitialDelaySeconds) * time.Second)
	if now.Before(first) {
		return first.Sub(now)
	}
	return period
}

// probeKey names one probe worker: a probe of one container attempt.
type probeKey struct {
	PodUID string
	ID     runner.ID
	Kind   probeKind
}

// syncProbes starts a worker for every probe of a running container and
// stops the workers of containers that no longer run.
func (a *Agent) syncProbes(ctx context.Context, key string, pod *corev1.Pod, observed map[string]attempts) {
	want := map[probeKey]bool{}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, list := range [][]corev1.Container{pod.Spec.Containers} {
		for i := range list {
			c := &list[i]
			cur := observed[c.Name].Current
			if cur == nil || !cur.State.Running || pod.DeletionTimestamp != nil {
				continue
			}
			for kind, p := range map[probeKind]*corev1.Probe{liveness: c.LivenessProbe, readiness: c.ReadinessProbe, startup: c.StartupProbe} {
				if p == nil {
					continue
				}
				k := probeKey{PodUID: string(pod.UID), ID: cur.ID, Kind: kind}
				want[k] = true
				if _, ok := a.probeWorkers[k]; ok {
					continue
				}
				if _, ok := a.probes[cur.ID]; !ok {
					a.probes[cur.ID] = defaultProbeStatus(c)
				}
				wctx, cancel := context.WithCancel(ctx)
				a.probeWorkers[k] = cancel
				a.bg.Add(1)
				go func() {
					defer a.bg.Done()
					a.probeWorker(wctx, key, probeTarget{ID: cur.ID, HostIP: a.cfg.Address, Container: c.DeepCopy()}, kind, p.DeepCopy(), cur.State.StartedAt)
				}()
			}
		}
	}
	for k, cancel := range a.probeWorkers {
		if k.PodUID == string(pod.UID) && !want[k] {
			cancel()
			delete(a.probeWorkers, k)
			delete(a.probes, k.ID)
		}
	}
}

// stopProbesExcept ends the probe workers of pods not in known.
func (a *Agent) stopProbesExcept(known map[types.UID]*corev1.Pod) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for k, cancel := range a.probeWorkers {
		if _, ok := known[types.UID(k.PodUID)]; !ok {
			cancel()
			delete(a.probeWorkers, k)
			delete(a.probes, k.ID)
		}
	}
}

// probeWorker runs one probe of one container attempt on its schedule and
// records result changes; a failed liveness or startup probe marks the
// container unhealthy and ends the worker (the restart brings a new one).
func (a *Agent) probeWorker(ctx context.Context, key string, t probeTarget, kind probeKind, p *corev1.Probe, startedAt time.Time) {
	counter := newProbeCounter(kind)
	for {
		timer := a.cfg.Clock.NewTimer(probeSchedule(p, startedAt, a.cfg.Clock.Now()))
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C():
		}
		a.mu.Lock()
		started := a.probes[t.ID].Started
		a.mu.Unlock()
		if kind != startup && !started {
			continue
		}
		ok, msg := runProbe(ctx, a.cfg.Runner, a.probeClient, t, p)
		if ctx.Err() != nil {
			return
		}
		if !counter.observe(ok, p) {
			continue
		}
		a.mu.Lock()
		ps := a.probes[t.ID]
		done := false
		switch kind {
		case readiness:
			ps.Ready = counter.Result
		case startup:
			if counter.Result {
				ps.Started, done = true, true
			} else {
				ps.Unhealthy, ps.Message, done = true, fmt.Sprintf("Startup probe failed: %s", msg), true
			}
		case liveness:
			if !counter.Result {
				ps.Unhealthy, ps.Message, done = true, fmt.Sprintf("Liveness probe failed: %s", msg), true
			}
		}
		a.probes[t.ID] = ps
		a.mu.Unlock()
		a.queue.Add(key)
		if done {
			return
		}
	}
}
