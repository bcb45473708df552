package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/clock"

	"github.com/everynode/everynode/internal/agent"
	"github.com/everynode/everynode/internal/agent/runner"
	"github.com/everynode/everynode/internal/agent/runner/fake"
	"github.com/everynode/everynode/internal/agent/runner/process"
	"github.com/everynode/everynode/internal/join"
)

// agentOptions are the flags of `everynode agent` (named as the kubelet's
// where one exists).
type agentOptions struct {
	Server     string
	Token      string
	Kubeconfig string
	NodeName   string
	NodeIP     string
	Labels     []string
	Taints     []string
	Runtime    string
	// FakeUnpullableImages are glob patterns of images the fake runtime
	// cannot pull (their containers wait in ErrImagePull/ImagePullBackOff).
	FakeUnpullableImages []string
	DataDir              string
	LogPort              int
	// Heartbeat timing, named as the kubelet's flags.
	StatusUpdateFrequency time.Duration
	LeaseDurationSeconds  int
	// StopContainersOnExit stops every container when the agent stops
	// (everynode up's Ctrl-C); a plain agent leaves them running.
	StopContainersOnExit bool
}

func newAgentCommand(streams IO) *cobra.Command {
	o := agentOptions{Runtime: "process"}
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run the node agent: register this machine as a node and run the pods bound to it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runAgent(cmd.Context(), o, streams)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Server, "server", "", "URL of the everynode server, e.g. https://cp:6443 (with --token, for the first start)")
	f.StringVar(&o.Token, "token", "", "join token from the server (from 'everynode token create', or <server data dir>/join-token)")
	f.StringVar(&o.Kubeconfig, "kubeconfig", "", "use this kubeconfig instead of joining")
	f.StringVar(&o.NodeName, "node-name", "", "name of the node (default: the hostname)")
	f.StringVar(&o.NodeIP, "node-ip", "", "IP address of the node (default: the address that reaches the server)")
	f.StringSliceVar(&o.Labels, "node-labels", nil, "labels to add when registering the node, key=value,...")
	f.StringSliceVar(&o.Taints, "register-with-taints", nil, "taints the node registers with, key=value:Effect,...")
	f.StringVar(&o.Runtime, "runtime", o.Runtime, "how pods run: process (host processes) or fake (nothing runs; for simulation)")
	f.StringSliceVar(&o.FakeUnpullableImages, "fake-unpullable-images", nil, "with --runtime fake: glob patterns (path.Match syntax, e.g. '*:non-existent') of images that fail to pull, as on a real node where they do not exist")
	f.StringVar(&o.DataDir, "data-dir", "", "agent state (credential, containers) (default ~/.everynode/agents/<node-name>)")
	f.IntVar(&o.LogPort, "log-port", 0, "port of the logs endpoint the server proxies 'kubectl logs' to (0: any free port)")
	f.DurationVar(&o.StatusUpdateFrequency, "node-status-update-frequency", 10*time.Second, "how often the node's status is computed")
	f.IntVar(&o.LeaseDurationSeconds, "node-lease-duration-seconds", 40, "duration of the node's Lease; it is renewed every quarter of it")
	return cmd
}

func runAgent(ctx context.Context, o agentOptions, streams IO) error {
	if o.NodeName == "" {
		h, err := os.Hostname()
		if err != nil {
			return fmt.Errorf("node name: %w", err)
		}
		o.NodeName = strings.ToLower(h)
	}
	if o.DataDir == "" {
		o.DataDir = filepath.Join(defaultDataDir(), "agents", o.NodeName)
	}
	if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
		return fmt.Errorf("create agent data dir: %w", err)
	}
	labels, err := parseLabels(o.Labels)
	if err != nil {
		return err
	}
	taints, err := parseTaints(o.Taints)
	if err != nil {
		return err
	}
	kubeconfig, err := agentKubeconfig(ctx, o)
	if err != nil {
		return err
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return fmt.Errorf("load %s: %w", kubeconfig, err)
	}
	if o.Server != "" {
		// The credential stays; the server may have moved.
		cfg.Host = strings.TrimRight(o.Server, "/")
	}
	cfg.QPS, cfg.Burst = 50, 100
	// Protobuf is cheaper than JSON for the server and the agent alike.
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	ip := o.NodeIP
	if ip == "" {
		if ip, err = localIPFor(cfg.Host); err != nil {
			return err
		}
	}
	r, runtimeName, err := newRunner(o)
	if err != nil {
		return err
	}
	a, err := agent.New(agent.Config{
		Client: client, NodeName: o.NodeName, Labels: labels, Taints: taints,
		Runner: r, RuntimeName: runtimeName, DataDir: o.DataDir, Address: ip,
		LogPort: o.LogPort, ServerCA: cfg.CAData, Version: serverVersion().GitVersion,
		StatusUpdateFrequency: o.StatusUpdateFrequency,
		LeaseDuration:         time.Duration(o.LeaseDurationSeconds) * time.Second,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(streams.ErrOut, "everynode agent: node %s (%s, runtime %s) joined %s\n", o.NodeName, ip, runtimeName, cfg.Host)
	err = a.Run(ctx)
	if o.StopContainersOnExit {
		stopAll(r)
	}
	return err
}

// stopAll stops every running container, each with a short grace period.
func stopAll(r runner.Runner) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	list, err := r.List(ctx)
	if err != nil {
		return
	}
	var g errgroup.Group
	for _, c := range list {
		if c.State.Running {
			g.Go(func() error { return r.Stop(ctx, c.ID, 5*time.Second) })
		}
	}
	_ = g.Wait()
}

// agentKubeconfig returns the kubeconfig the agent runs with: the one given,
// the node credential from an earlier join, or a new one from joining.
func agentKubeconfig(ctx context.Context, o agentOptions) (string, error) {
	if o.Kubeconfig != "" {
		return o.Kubeconfig, nil
	}
	path := filepath.Join(o.DataDir, "node.kubeconfig")
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	if o.Server == "" || o.Token == "" {
		return "", errors.New("the first start needs --server and --token (or --kubeconfig)")
	}
	if err := join.Join(ctx, strings.TrimRight(o.Server, "/"), o.Token, o.NodeName, path); err != nil {
		return "", err
	}
	return path, nil
}

func newRunner(o agentOptions) (runner.Runner, string, error) {
	switch o.Runtime {
	case "process":
		self, err := os.Executable()
		if err != nil {
			return nil, "", err
		}
		r, err := process.New(process.Config{
			StateDir:    filepath.Join(o.DataDir, "containers"),
			ShimCommand: []string{self, "runner-shim"},
		})
		return r, "process", err
	case "fake":
		// Pods become Running at once and run nothing; the state lives as
		// long as this process.
		pullable, err := fake.UnpullableImages(o.FakeUnpullableImages)
		if err != nil {
			return nil, "", fmt.Errorf("--fake-unpullable-images: %w", err)
		}
		return fake.New(fake.Config{State: fake.NewState(), Clock: clock.RealClock{}, PullableImages: pullable}), "fake", nil
	}
	return nil, "", fmt.Errorf("unknown --runtime %q: want process or fake", o.Runtime)
}

// localIPFor returns the local address used to reach the server.
func localIPFor(server string) (string, error) {
	u, err := url.Parse(server)
	if err != nil {
		return "", err
	}
	host := u.Hostname()
	ip := net.ParseIP(host)
	if ip != nil && ip.IsLoopback() {
		return ip.String(), nil
	}
	port := u.Port()
	if port == "" {
		port = "443"
	}
	c, err := net.Dial("udp", net.JoinHostPort(host, port))
	if err != nil {
		return "", fmt.Errorf("find the node's IP (set --node-ip): %w", err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).IP.String(), nil
}

func newShimCommand() *cobra.Command {
	return &cobra.Command{
		Use:                "runner-shim",
		Hidden:             true,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if code := process.ShimMain(args); code != 0 {
				os.Exit(code)
			}
			return nil
		},
	}
}
