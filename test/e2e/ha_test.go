package e2e

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/everynode/everynode/internal/etcd"
)

// haServer is one `everynode server` sharing an external etcd.
type haServer struct {
	cmd        *exec.Cmd
	kubeconfig string
	mu         sync.Mutex
	log        strings.Builder
	listening  chan struct{}
}

func (s *haServer) logs() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

func startHAServer(t *testing.T, etcdURL string) *haServer {
	t.Helper()
	dir := t.TempDir()
	s := &haServer{kubeconfig: filepath.Join(dir, "admin.kubeconfig"), listening: make(chan struct{})}
	s.cmd = exec.Command(everynodeBin, "server", "--data-dir", dir, "--listen", "127.0.0.1:0", "--etcd-endpoints", etcdURL)
	s.cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
	})
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		once := sync.Once{}
		for sc.Scan() {
			s.mu.Lock()
			s.log.WriteString(sc.Text() + "\n")
			s.mu.Unlock()
			if listeningRE.MatchString(sc.Text()) {
				once.Do(func() { close(s.listening) })
			}
		}
	}()
	select {
	case <-s.listening:
	case <-time.After(startTimeout):
		t.Fatalf("server did not start:\n%s", s.logs())
	}
	return s
}

func (s *haServer) client(t *testing.T) kubernetes.Interface {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", s.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	return kubernetes.NewForConfigOrDie(cfg)
}

func (s *haServer) leads() bool { return strings.Contains(s.logs(), "Leading; starting controllers") }

// Two servers on one etcd serve the same objects, and exactly one of them
// runs the controllers; when it dies the other takes over (issue 3: leader
// election through a Lease).
func TestTwoServersShareOneEtcdAndElectOneLeader(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	member, err := etcd.Start(ctx, etcd.Config{Dir: t.TempDir(), Fast: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(member.Close)
	a, b := startHAServer(t, member.ClientURL()), startHAServer(t, member.ClientURL())

	poll := func(what string, timeout time.Duration, cond func() bool) {
		t.Helper()
		if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, timeout, true, func(context.Context) (bool, error) {
			return cond(), nil
		}); err != nil {
			t.Fatalf("%s: not within %v\nserver A:\n%s\nserver B:\n%s", what, timeout, a.logs(), b.logs())
		}
	}
	poll("one server leads", 30*time.Second, func() bool { return a.leads() || b.leads() })
	if a.leads() && b.leads() {
		t.Fatal("both servers run the controllers")
	}
	leader, follower := a, b
	if b.leads() {
		leader, follower = b, a
	}

	// Objects written through one server are read through the other, and
	// the leader's DaemonSet controller acts on them.
	fc := follower.client(t)
	labels := map[string]string{"app": "ha"}
	ds := &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "ha", Namespace: "default"},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
			},
		},
	}
	if _, err := fc.AppsV1().DaemonSets("default").Create(ctx, ds, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	podsOn := func(c kubernetes.Interface, node string) int {
		l, err := c.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=ha"})
		if err != nil {
			return 0
		}
		n := 0
		for _, p := range l.Items {
			for _, term := range p.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
				for _, f := range term.MatchFields {
					if len(f.Values) == 1 && f.Values[0] == node {
						n++
					}
				}
			}
		}
		return n
	}
	if _, err := fc.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll("a daemon pod for n1", 20*time.Second, func() bool { return podsOn(leader.client(t), "n1") == 1 })

	// The leader dies without releasing its Lease; the follower takes over
	// once the Lease expires and its controllers act.
	if err := leader.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	poll("the follower leads", 40*time.Second, follower.leads)
	if _, err := fc.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n2"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll("a daemon pod for n2", 20*time.Second, func() bool { return podsOn(fc, "n2") == 1 })
}
