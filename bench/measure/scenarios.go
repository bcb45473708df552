package main

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
	"k8s.io/client-go/util/retry"
)

// evictTaint is the taint of scenario 5; the update of scenario 4 gives
// the DaemonSet a toleration of it for evictAfter.
var evictTaint = corev1.Taint{Key: "bench/evict", Effect: corev1.TaintEffectNoExecute}

const evictAfter = 5 * time.Second

// waitNodes waits until o.nodes nodes are Ready and carry no NoSchedule
// taint (the ones the DaemonSet can run on right away).
func (b *bench) waitNodes(ctx context.Context) error {
	deadline := time.Now().Add(b.o.timeout)
	for {
		list, err := b.cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: b.o.selector, ResourceVersion: "0"})
		ready := 0
		if err == nil {
			for i := range list.Items {
				if schedulable(&list.Items[i]) {
					ready++
				}
			}
			if ready >= b.o.nodes {
				b.logf("%d nodes Ready", ready)
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timeout: %d/%d nodes Ready (last error %v)", ready, b.o.nodes, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func schedulable(n *corev1.Node) bool {
	for _, t := range n.Spec.Taints {
		if t.Effect == corev1.TaintEffectNoSchedule {
			return false
		}
	}
	return nodeReady(n)
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func podReady(p *corev1.Pod) bool {
	if p.Status.Phase != corev1.PodRunning || p.DeletionTimestamp != nil {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// waitDS polls the DaemonSet until done says so; it logs progress.
func (b *bench) waitDS(ctx context.Context, what string, done func(*appsv1.DaemonSet) bool) error {
	deadline := time.Now().Add(b.o.timeout)
	t0, lastPrint := time.Now(), time.Now()
	for {
		cur, err := b.cs.AppsV1().DaemonSets(b.ds.Namespace).Get(ctx, b.ds.Name, metav1.GetOptions{})
		if err == nil {
			if done(cur) {
				return nil
			}
			if time.Since(lastPrint) > 5*time.Second {
				st := cur.Status
				b.logf("t=%.0fs desired=%d current=%d updated=%d ready=%d available=%d", time.Since(t0).Seconds(),
					st.DesiredNumberScheduled, st.CurrentNumberScheduled, st.UpdatedNumberScheduled, st.NumberReady, st.NumberAvailable)
				lastPrint = time.Now()
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timeout waiting for %s (last error %v)", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// steadyState is scenario 3: nothing happens but heartbeats.
func (b *bench) steadyState(ctx context.Context) error {
	ph := startPhase(b.procs)
	time.Sleep(b.o.steady)
	b.res.Steady = &Steady{WindowS: b.o.steady.Seconds(), Procs: ph.end()}
	for _, p := range b.procs {
		r := b.res.Steady.Procs[p.name]
		b.logf("%s: %.3f cores, RSS %.0f MiB", p.name, r.CPUSeconds/b.o.steady.Seconds(), r.EndRSSMiB)
	}
	return nil
}

// rollout is scenario 1.
func (b *bench) rollout(ctx context.Context) error {
	n := int32(b.o.nodes)
	ph := startPhase(b.procs)
	t0 := time.Now()
	if _, err := b.cs.AppsV1().DaemonSets(b.ds.Namespace).Create(ctx, b.ds, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create DaemonSet: %w", err)
	}
	r := &Rollout{}
	err := b.waitDS(ctx, "numberReady == N", func(d *appsv1.DaemonSet) bool {
		st := d.Status
		if r.AllCreatedS == 0 && st.CurrentNumberScheduled >= n {
			r.AllCreatedS = time.Since(t0).Seconds()
		}
		return st.NumberReady >= n && st.DesiredNumberScheduled == n
	})
	if err != nil {
		return err
	}
	r.ReadyS = time.Since(t0).Seconds()
	r.Procs = ph.end()
	b.res.Rollout = r
	b.logf("all pods created %.2fs, numberReady == %d %.2fs", r.AllCreatedS, n, r.ReadyS)
	return nil
}

// watcher starts a watch that survives the server ending it, from the
// current state of what lw lists.
func watcher(ctx context.Context, lw *cache.ListWatch) (*watchtools.RetryWatcher, error) {
	obj, err := lw.ListWithContext(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	m, err := meta.ListAccessor(obj)
	if err != nil {
		return nil, err
	}
	return watchtools.NewRetryWatcherWithContext(ctx, m.GetResourceVersion(), lw)
}

func (b *bench) podLW() *cache.ListWatch {
	sel := metav1.FormatLabelSelector(b.ds.Spec.Selector)
	return cache.NewFilteredListWatchFromClient(b.cs.CoreV1().RESTClient(), "pods", b.ds.Namespace,
		func(o *metav1.ListOptions) { o.LabelSelector = sel })
}

// join is scenario 2: nodes join one at a time; for each, the time from
// its Node's ADDED event to its daemon pod reported Running and Ready, and
// to the DaemonSet's status counting it.
func (b *bench) join(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cur, err := b.cs.AppsV1().DaemonSets(b.ds.Namespace).Get(ctx, b.ds.Name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	base := cur.Status.DesiredNumberScheduled
	nodeW, err := watcher(ctx, cache.NewListWatchFromClient(b.cs.CoreV1().RESTClient(), "nodes", "", fields.Everything()))
	if err != nil {
		return err
	}
	defer nodeW.Stop()
	podW, err := watcher(ctx, b.podLW())
	if err != nil {
		return err
	}
	defer podW.Stop()
	dsW, err := watcher(ctx, cache.NewListWatchFromClient(b.cs.AppsV1().RESTClient(), "daemonsets", b.ds.Namespace,
		fields.OneTermEqualSelector("metadata.name", b.ds.Name)))
	if err != nil {
		return err
	}
	defer dsW.Stop()

	var cmds []*exec.Cmd
	defer func() { stopAll(cmds) }()
	var toPod, toStatus []time.Duration
	ph := startPhase(b.procs)
	for i := range b.o.joins {
		if b.o.joinExec != "" {
			c := exec.CommandContext(ctx, "sh", "-c", strings.ReplaceAll(b.o.joinExec, "{i}", strconv.Itoa(i)))
			c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			if err := c.Start(); err != nil {
				return fmt.Errorf("join %d: %w", i, err)
			}
			cmds = append(cmds, c)
		} else if _, err := b.cs.CoreV1().Nodes().Create(ctx, kwokNode(fmt.Sprintf("%s%d", b.o.joinPrefix, i)), metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("join %d: %w", i, err)
		}
		want := base + int32(i) + 1
		var node string
		var added, ready, counted time.Time
		timeout := time.After(b.o.timeout)
		for ready.IsZero() || counted.IsZero() {
			select {
			case ev := <-nodeW.ResultChan():
				if n, ok := ev.Object.(*corev1.Node); ok && ev.Type == watch.Added && node == "" && strings.HasPrefix(n.Name, b.o.joinPrefix) {
					node, added = n.Name, time.Now()
				}
			case ev := <-podW.ResultChan():
				if p, ok := ev.Object.(*corev1.Pod); ok && node != "" && ready.IsZero() && p.Spec.NodeName == node && podReady(p) {
					ready = time.Now()
				}
			case ev := <-dsW.ResultChan():
				if d, ok := ev.Object.(*appsv1.DaemonSet); ok && counted.IsZero() && d.Status.DesiredNumberScheduled >= want && d.Status.NumberReady >= want {
					counted = time.Now()
				}
			case <-timeout:
				return fmt.Errorf("join %d: node %q added=%v pod ready=%v status counted=%v", i, node, !added.IsZero(), !ready.IsZero(), !counted.IsZero())
			}
		}
		toPod = append(toPod, ready.Sub(added))
		toStatus = append(toStatus, max(counted.Sub(added), 0))
		time.Sleep(b.o.joinInterval)
	}
	b.res.Join = &Join{PodReady: distOf(toPod), DSCounted: distOf(toStatus), Procs: ph.end()}
	b.logf("node added → pod ready %+v", b.res.Join.PodReady)
	b.logf("node added → DaemonSet status %+v", b.res.Join.DSCounted)

	// Leave the fleet as it was: N nodes, all pods Ready.
	stopAll(cmds)
	cmds = nil
	nodes, err := b.cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for _, n := range nodes.Items {
		if strings.HasPrefix(n.Name, b.o.joinPrefix) {
			if err := b.cs.CoreV1().Nodes().Delete(ctx, n.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				return err
			}
		}
	}
	// Their pods would wait for pod GC (40 s upstream and here), and a
	// rolling update counts a pod on a deleted node as unavailable: remove
	// them as an administrator would.
	pods, err := b.cs.CoreV1().Pods(b.ds.Namespace).List(ctx, metav1.ListOptions{LabelSelector: metav1.FormatLabelSelector(b.ds.Spec.Selector)})
	if err != nil {
		return err
	}
	zero := int64(0)
	for _, p := range pods.Items {
		if strings.HasPrefix(p.Spec.NodeName, b.o.joinPrefix) {
			if err := b.cs.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil && !apierrors.IsNotFound(err) {
				return err
			}
		}
	}
	return b.waitDS(ctx, "the fleet back to N nodes", func(d *appsv1.DaemonSet) bool {
		return d.Status.DesiredNumberScheduled == base && d.Status.NumberReady == base
	})
}

func stopAll(cmds []*exec.Cmd) {
	for _, c := range cmds {
		_ = syscall.Kill(-c.Process.Pid, syscall.SIGTERM)
	}
	for _, c := range cmds {
		_ = c.Wait()
	}
}

// createKwokNodes creates o.kwokNodes Nodes for kwok, from
// o.evictWorkers goroutines.
func (b *bench) createKwokNodes(ctx context.Context) error {
	if b.o.kwokNodes == 0 {
		return nil
	}
	return b.parallel(b.o.kwokNodes, func(i int) error {
		_, err := b.cs.CoreV1().Nodes().Create(ctx, kwokNode(fmt.Sprintf("kwok-node-%05d", i)), metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			return nil
		}
		return err
	})
}

// kwokNode is a Node for kwok to bring up (the label set a kubelet
// registers with), as ../shared/peer/dsbench creates them.
func kwokNode(name string) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{
		Name:        name,
		Annotations: map[string]string{"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
		Labels: map[string]string{"type": "kwok", "kubernetes.io/hostname": name,
			"kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
			"beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": "amd64"},
	}}
}

// update is scenario 4: a template change (an env var, and the toleration
// scenario 5 needs) rolled out with maxUnavailable 10 %.
func (b *bench) update(ctx context.Context) error {
	n := int32(b.o.nodes)
	ph := startPhase(b.procs)
	t0 := time.Now()
	var gen int64
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := b.cs.AppsV1().DaemonSets(b.ds.Namespace).Get(ctx, b.ds.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		ten := intstr.FromString("10%")
		cur.Spec.UpdateStrategy = appsv1.DaemonSetUpdateStrategy{
			Type:          appsv1.RollingUpdateDaemonSetStrategyType,
			RollingUpdate: &appsv1.RollingUpdateDaemonSet{MaxUnavailable: &ten},
		}
		spec := &cur.Spec.Template.Spec
		spec.Containers[0].Env = append(spec.Containers[0].Env, corev1.EnvVar{Name: "BENCH_UPDATE", Value: t0.Format(time.RFC3339Nano)})
		if !tolerates(spec.Tolerations) {
			secs := int64(evictAfter / time.Second)
			spec.Tolerations = append(spec.Tolerations, corev1.Toleration{
				Key: evictTaint.Key, Operator: corev1.TolerationOpExists, Effect: evictTaint.Effect, TolerationSeconds: &secs,
			})
		}
		upd, err := b.cs.AppsV1().DaemonSets(b.ds.Namespace).Update(ctx, cur, metav1.UpdateOptions{})
		if err == nil {
			gen = upd.Generation
		}
		return err
	})
	if err != nil {
		return err
	}
	err = b.waitDS(ctx, "every pod updated and Ready", func(d *appsv1.DaemonSet) bool {
		st := d.Status
		return st.ObservedGeneration >= gen && st.DesiredNumberScheduled == n &&
			st.UpdatedNumberScheduled == n && st.NumberReady == n && st.NumberAvailable == n
	})
	if err != nil {
		return err
	}
	b.res.Update = &Update{ReadyS: time.Since(t0).Seconds(), Procs: ph.end()}
	b.logf("rolling update done in %.2fs", b.res.Update.ReadyS)
	return nil
}

func tolerates(ts []corev1.Toleration) bool {
	for _, t := range ts {
		if t.Key == evictTaint.Key && t.Effect == evictTaint.Effect {
			return true
		}
	}
	return false
}

// evict is scenario 5: every node gets the NoExecute taint the pods
// tolerate for 5 s; the figure is how late each pod's deletion starts
// after its node's taint was written plus those 5 s (first eviction of
// each pod that ran before the taints).
func (b *bench) evict(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cur, err := b.cs.AppsV1().DaemonSets(b.ds.Namespace).Get(ctx, b.ds.Name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if !tolerates(cur.Spec.Template.Spec.Tolerations) {
		if err := b.update(ctx); err != nil {
			return err
		}
	}
	nodes, err := b.cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: b.o.selector})
	if err != nil {
		return err
	}
	exists := map[string]bool{}
	for _, n := range nodes.Items {
		exists[n.Name] = true
	}
	lw := b.podLW()
	obj, err := lw.ListWithContext(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	pods := obj.(*corev1.PodList)
	origin := map[string]string{} // pod UID → node
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil && exists[p.Spec.NodeName] {
			origin[string(p.UID)] = p.Spec.NodeName
		}
	}
	w, err := watchtools.NewRetryWatcherWithContext(ctx, pods.ResourceVersion, lw)
	if err != nil {
		return err
	}
	defer w.Stop()

	var mu sync.Mutex
	taintedAt := map[string]time.Time{}
	goneAt := map[string]time.Time{}
	allGone := make(chan struct{})
	go func() {
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok || (ev.Type != watch.Deleted && p.DeletionTimestamp == nil) {
				continue
			}
			uid := string(p.UID)
			mu.Lock()
			if _, mine := origin[uid]; mine && goneAt[uid].IsZero() {
				goneAt[uid] = time.Now()
				if len(goneAt) == len(origin) {
					close(allGone)
				}
			}
			mu.Unlock()
		}
	}()

	ph := startPhase(b.procs)
	err = b.eachNode(ctx, nodes.Items, func(n *corev1.Node) {
		n.Spec.Taints = append(n.Spec.Taints, evictTaint)
	}, func(name string) {
		mu.Lock()
		taintedAt[name] = time.Now()
		mu.Unlock()
	})
	if err != nil {
		return err
	}
	b.logf("%d nodes tainted, waiting for %d pods to be evicted", len(nodes.Items), len(origin))
	select {
	case <-allGone:
	case <-time.After(b.o.timeout):
		mu.Lock()
		err = fmt.Errorf("timeout: %d of %d pods evicted", len(goneAt), len(origin))
		mu.Unlock()
		return err
	}
	procs := ph.end()
	mu.Lock()
	var late []time.Duration
	for uid, node := range origin {
		late = append(late, goneAt[uid].Sub(taintedAt[node])-evictAfter)
	}
	mu.Unlock()
	b.res.Evict = &Evict{Lateness: distOf(late), Procs: procs}
	b.logf("eviction lateness %+v", b.res.Evict.Lateness)

	// Leave the fleet untainted, every pod back and Ready.
	err = b.eachNode(ctx, nodes.Items, func(n *corev1.Node) {
		var keep []corev1.Taint
		for _, t := range n.Spec.Taints {
			if t.Key != evictTaint.Key || t.Effect != evictTaint.Effect {
				keep = append(keep, t)
			}
		}
		n.Spec.Taints = keep
	}, func(string) {})
	if err != nil {
		return err
	}
	want := int32(b.o.nodes)
	return b.waitDS(ctx, "every pod back after the taints were removed", func(d *appsv1.DaemonSet) bool {
		return d.Status.DesiredNumberScheduled == want && d.Status.NumberReady == want
	})
}

// eachNode applies change to every node (read-modify-write, retried on
// conflict) from o.evictWorkers goroutines, calling done after each write.
func (b *bench) eachNode(ctx context.Context, nodes []corev1.Node, change func(*corev1.Node), done func(string)) error {
	return b.parallel(len(nodes), func(i int) error {
		name := nodes[i].Name
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			n, err := b.cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			change(n)
			_, err = b.cs.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{})
			return err
		})
		if err != nil {
			return fmt.Errorf("node %s: %w", name, err)
		}
		done(name)
		return nil
	})
}

// parallel calls f(0) … f(n-1) from o.evictWorkers goroutines and returns
// the first error.
func (b *bench) parallel(n int, f func(int) error) error {
	next := make(chan int)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	for range max(b.o.evictWorkers, 1) {
		wg.Go(func() {
			for i := range next {
				if err := f(i); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}
