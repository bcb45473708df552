package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	startTimeout   = 60 * time.Second
	stopTimeout    = 30 * time.Second
	kubectlTimeout = 60 * time.Second
	// waitTimeout bounds every "eventually" poll.
	waitTimeout = 30 * time.Second
)

var listeningRE = regexp.MustCompile(`everynode server listening on (https://\S+) \(kubeconfig (.+)\)`)

// cluster is one `everynode server` child process on its own data dir. It
// can be stopped, killed and started again on the same data dir.
type cluster struct {
	t       *testing.T
	dataDir string
	home    string // $HOME for kubectl, so its discovery cache is private

	mu         sync.Mutex
	cmd        *exec.Cmd
	exited     chan struct{} // closed when cmd has been waited for
	exitErr    error
	logs       bytes.Buffer // server stderr of every run
	url        string
	kubeconfig string
}

// startCluster starts a server on a fresh data dir; the process is killed
// when the test ends.
func startCluster(t *testing.T) *cluster {
	t.Helper()
	c := &cluster{t: t, dataDir: t.TempDir(), home: t.TempDir()}
	t.Cleanup(func() {
		c.kill()
		if t.Failed() {
			t.Logf("server log:\n%s", c.serverLogs())
		}
	})
	c.start()
	return c
}

func (c *cluster) serverLogs() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.logs.String()
}

// start runs the server and waits until it prints its address and answers
// /readyz.
func (c *cluster) start() {
	c.t.Helper()
	cmd := exec.Command(everynodeBin, "server", "--data-dir", c.dataDir, "--listen", "127.0.0.1:0", "--unsafe-fast-etcd")
	cmd.Env = append(os.Environ(), "HOME="+c.home)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		c.t.Fatalf("stderr pipe: %v", err)
	}
	if err := cmd.Start(); err != nil {
		c.t.Fatalf("start server: %v", err)
	}
	exited := make(chan struct{})
	c.mu.Lock()
	c.cmd, c.exited = cmd, exited
	c.mu.Unlock()

	ready := make(chan []string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			line := sc.Text()
			c.mu.Lock()
			c.logs.WriteString(line + "\n")
			c.mu.Unlock()
			if m := listeningRE.FindStringSubmatch(line); m != nil {
				select {
				case ready <- m:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
		err := cmd.Wait()
		c.mu.Lock()
		c.exitErr = err
		c.mu.Unlock()
		close(exited)
	}()

	select {
	case m := <-ready:
		c.mu.Lock()
		c.url, c.kubeconfig = m[1], m[2]
		c.mu.Unlock()
	case <-exited:
		c.t.Fatalf("server exited before serving: %v\n%s", c.exitErr, c.serverLogs())
	case <-time.After(startTimeout):
		c.t.Fatalf("server did not print its address within %v\n%s", startTimeout, c.serverLogs())
	}
	if _, err := os.Stat(c.kubeconfig); err != nil {
		c.t.Fatalf("kubeconfig missing once serving: %v", err)
	}
	eventually(c.t, "server answers /readyz", func() (bool, string) {
		code, body, err := anonymousGet(c.url + "/readyz")
		return err == nil && code == 200, fmt.Sprintf("code %d body %q err %v", code, body, err)
	})
}

// stop sends SIGTERM and requires a clean exit (status 0).
func (c *cluster) stop() {
	c.t.Helper()
	if err := c.signal(syscall.SIGTERM); err != nil {
		c.t.Fatalf("SIGTERM: %v", err)
	}
	select {
	case <-c.exited:
	case <-time.After(stopTimeout):
		c.kill()
		c.t.Fatalf("server did not stop within %v after SIGTERM", stopTimeout)
	}
	if c.exitErr != nil {
		c.t.Fatalf("server exit after SIGTERM: %v\n%s", c.exitErr, c.serverLogs())
	}
}

// kill sends SIGKILL (a crash) and waits for the process to be gone. It is
// a no-op when no server runs.
func (c *cluster) kill() {
	c.mu.Lock()
	cmd, exited := c.cmd, c.exited
	c.mu.Unlock()
	if cmd == nil {
		return
	}
	select {
	case <-exited:
		return
	default:
	}
	_ = cmd.Process.Kill()
	<-exited
}

func (c *cluster) signal(sig os.Signal) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cmd == nil {
		return errors.New("no server started")
	}
	return c.cmd.Process.Signal(sig)
}

// kubectl is one kubectl binary: argv is the command prefix.
type kubectl struct {
	name string
	argv []string
}

// kubectls lists the kubectl binaries every scenario runs with: the
// embedded one (v1.37) and, when installed, /usr/bin/kubectl (v1.32).
func kubectls() []kubectl {
	ks := []kubectl{{name: "embedded", argv: []string{everynodeBin, "kubectl"}}}
	if _, err := os.Stat("/usr/bin/kubectl"); err == nil {
		ks = append(ks, kubectl{name: "kubectl-1.32", argv: []string{"/usr/bin/kubectl"}})
	}
	return ks
}

// forEachKubectl runs fn as a parallel subtest per kubectl binary, each on
// its own fresh server.
func forEachKubectl(t *testing.T, fn func(t *testing.T, k *kc)) {
	for _, k := range kubectls() {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			fn(t, &kc{t: t, c: startCluster(t), k: k})
		})
	}
}

// result is what one kubectl invocation produced.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// kc runs one kubectl binary against one cluster.
type kc struct {
	t *testing.T
	c *cluster
	k kubectl
}

func (k *kc) command(ctx context.Context, args ...string) *exec.Cmd {
	argv := append(append([]string{}, k.k.argv...), args...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	k.c.mu.Lock()
	cmd.Env = append(os.Environ(), "KUBECONFIG="+k.c.kubeconfig, "HOME="+k.c.home)
	k.c.mu.Unlock()
	return cmd
}

// run runs kubectl with stdin and returns its outputs and exit code.
func (k *kc) run(stdin string, args ...string) result {
	k.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), kubectlTimeout)
	defer cancel()
	cmd := k.command(ctx, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errOut.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		k.t.Fatalf("kubectl %v: %v", args, err)
	}
	if ctx.Err() != nil {
		k.t.Fatalf("kubectl %v timed out after %v\n%s", args, kubectlTimeout, r)
	}
	return r
}

// ok runs kubectl and fails the test unless it exits 0; it returns stdout.
func (k *kc) ok(stdin string, args ...string) string {
	k.t.Helper()
	r := k.run(stdin, args...)
	if r.code != 0 {
		k.t.Fatalf("kubectl %s: %s", strings.Join(args, " "), r)
	}
	return r.stdout
}

// watcher is a long-running kubectl (get -w) whose stdout lines are
// collected as they arrive.
type watcher struct {
	mu    sync.Mutex
	lines []string
	done  chan struct{}
}

// startWatch starts kubectl in the background; it is killed when the test
// ends (or by the returned stop function).
func (k *kc) startWatch(args ...string) (*watcher, func()) {
	k.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := k.command(ctx, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		k.t.Fatalf("stdout pipe: %v", err)
	}
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	if err := cmd.Start(); err != nil {
		k.t.Fatalf("start kubectl %v: %v", args, err)
	}
	w := &watcher{done: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			w.mu.Lock()
			w.lines = append(w.lines, sc.Text())
			w.mu.Unlock()
		}
		_ = cmd.Wait()
		close(w.done)
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			<-w.done
		})
	}
	k.t.Cleanup(stop)
	return w, stop
}

func (w *watcher) snapshot() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.lines...)
}

// waitLine waits until a line matching re has been printed and returns it.
func (w *watcher) waitLine(t *testing.T, re *regexp.Regexp) string {
	t.Helper()
	var found string
	eventually(t, "watch prints a line matching "+re.String(), func() (bool, string) {
		for _, l := range w.snapshot() {
			if re.MatchString(l) {
				found = l
				return true, ""
			}
		}
		return false, "lines so far:\n" + strings.Join(w.snapshot(), "\n")
	})
	return found
}

// eventually polls cond until it holds or waitTimeout passes.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		ok, detail := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting until %s: %s", waitTimeout, what, detail)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
