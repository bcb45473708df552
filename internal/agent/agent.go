package agent

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"

	"github.com/everynode/everynode/internal/agent/runner"
)

// Config configures an Agent.
type Config struct {
	// Client is authenticated as the node (system:node:<NodeName>).
	Client   kubernetes.Interface
	NodeName string
	// Labels and Taints are set at registration (--node-labels,
	// --register-with-taints); taints only when the Node is created.
	Labels map[string]string
	Taints []corev1.Taint
	Runner runner.Runner
	Clock  clock.Clock
	// DataDir holds the agent's state (emptyDir volumes).
	DataDir string
	// Address is the node's InternalIP: the host IP and the IP of every
	// pod (pods are host processes). Required.
	Address string
	// LogPort is where the logs endpoint listens (0: any free port).
	LogPort int
	// ServerCA verifies the API server's client certificate on the logs
	// endpoint.
	ServerCA []byte
	// Host describes the machine; nil reads it (ReadHostInfo).
	Host *HostInfo
	// RuntimeName prefixes container IDs and the runtime version
	// ("process" → process://<id>); RuntimeVersion follows it.
	RuntimeName, RuntimeVersion string
	// Version is the kubeletVersion reported (default DefaultVersion).
	Version string
	// StatusUpdateFrequency (10s) is how often the node status is
	// computed; StatusReportFrequency (5m) how often it is written when
	// nothing changed. LeaseDuration (40s) is renewed every quarter.
	StatusUpdateFrequency, StatusReportFrequency, LeaseDuration time.Duration
	// SyncFrequency (1s) is how often the runner is listed to notice
	// containers that exited.
	SyncFrequency time.Duration
	// Workers sync pods in parallel (default 4).
	Workers int
}

// DefaultVersion is the kubeletVersion the agent reports.
const DefaultVersion = "v1.37.0-everynode"

// Agent is a running node agent.
type Agent struct {
	cfg  Config
	host HostInfo

	queue       workqueue.TypedRateLimitingInterface[string]
	pods        corelisters.PodLister
	podInformer cache.SharedIndexInformer
	nodes       corelisters.NodeLister
	nodeInf     cache.SharedIndexInformer

	listener    net.Listener
	logPort     int
	probeClient *http.Client

	lease *coordinationv1.Lease // only touched by leaseLoop

	mu              sync.Mutex
	lastStatusWrite time.Time
	memory          map[string]map[string]containerMemory // pod UID → container
	admitted        map[string]bool                       // pod UIDs past admission
	stopping        map[runner.ID]bool
	probes          map[runner.ID]probeStatus
	probeWorkers    map[probeKey]context.CancelFunc
	bg              sync.WaitGroup // stops and probe workers
}

// New checks cfg, fills defaults and prepares the informers.
func New(cfg Config) (*Agent, error) {
	switch {
	case cfg.Client == nil:
		return nil, errors.New("agent: Client is required")
	case cfg.NodeName == "":
		return nil, errors.New("agent: NodeName is required")
	case cfg.Runner == nil:
		return nil, errors.New("agent: Runner is required")
	case net.ParseIP(cfg.Address) == nil:
		return nil, fmt.Errorf("agent: Address %q is not an IP address", cfg.Address)
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.RuntimeName == "" {
		cfg.RuntimeName = "process"
	}
	if cfg.RuntimeVersion == "" {
		cfg.RuntimeVersion = "0.1.0"
	}
	if cfg.Version == "" {
		cfg.Version = DefaultVersion
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.StatusUpdateFrequency, 10*time.Second)
	def(&cfg.StatusReportFrequency, 5*time.Minute)
	def(&cfg.LeaseDuration, 40*time.Second)
	def(&cfg.SyncFrequency, time.Second)
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	a := &Agent{
		cfg:          cfg,
		memory:       map[string]map[string]containerMemory{},
		admitted:     map[string]bool{},
		stopping:     map[runner.ID]bool{},
		probes:       map[runner.ID]probeStatus{},
		probeWorkers: map[probeKey]context.CancelFunc{},
		probeClient: &http.Client{Transport: &http.Transport{
			// As the kubelet, HTTPS probes do not verify certificates.
			TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // probes only check liveness
			DisableKeepAlives: true,
		}},
	}
	if cfg.Host != nil {
		a.host = *cfg.Host
	} else {
		a.host = ReadHostInfo()
	}
	qcfg := workqueue.TypedRateLimitingQueueConfig[string]{Name: "agent-pods"}
	if c, ok := cfg.Clock.(clock.WithTicker); ok {
		qcfg.Clock = c
	}
	a.queue = workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](), qcfg)

	a.podInformer = coreinformers.NewFilteredPodInformer(cfg.Client, metav1.NamespaceAll, 0,
		cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc},
		func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", cfg.NodeName).String()
		})
	a.pods = corelisters.NewPodLister(a.podInformer.GetIndexer())
	enqueue := func(obj any) {
		if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
			a.queue.Add(key)
		}
	}
	if _, err := a.podInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: enqueue, UpdateFunc: func(_, obj any) { enqueue(obj) }, DeleteFunc: enqueue,
	}); err != nil {
		return nil, fmt.Errorf("agent: watch pods: %w", err)
	}
	a.nodeInf = coreinformers.NewFilteredNodeInformer(cfg.Client, 0, cache.Indexers{},
		func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", cfg.NodeName).String()
		})
	a.nodes = corelisters.NewNodeLister(a.nodeInf.GetIndexer())
	return a, nil
}

// LogPort is the port of the logs endpoint once Run has started it.
func (a *Agent) LogPort() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.logPort
}

// Run registers the node and runs it until ctx ends: heartbeats, the pod
// sync loop and the logs endpoint. Containers keep running when Run
// returns; a new Agent on the same runner adopts them.
func (a *Agent) Run(ctx context.Context) error {
	srv, err := a.listenLogs()
	if err != nil {
		return err
	}
	defer a.listener.Close()
	if err := a.registerUntilDone(ctx); err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { a.leaseLoop(gctx); return nil })
	g.Go(func() error { a.statusLoop(gctx); return nil })
	g.Go(func() error { a.podInformer.Run(gctx.Done()); return nil })
	g.Go(func() error { a.nodeInf.Run(gctx.Done()); return nil })
	g.Go(func() error {
		if err := srv.Serve(a.listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve logs: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		a.queue.ShutDown()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		return nil
	})
	g.Go(func() error {
		if !cache.WaitForCacheSync(gctx.Done(), a.podInformer.HasSynced, a.nodeInf.HasSynced) {
			return nil
		}
		w, wctx := errgroup.WithContext(gctx)
		for range a.cfg.Workers {
			w.Go(func() error {
				for a.processNext(wctx) {
				}
				return nil
			})
		}
		w.Go(func() error { a.every(wctx, a.cfg.SyncFrequency, a.relist); return nil })
		return w.Wait()
	})
	err = g.Wait()
	a.mu.Lock()
	for _, cancel := range a.probeWorkers {
		cancel()
	}
	a.mu.Unlock()
	a.bg.Wait()
	return err
}

// registerUntilDone retries registration until it succeeds or ctx ends.
func (a *Agent) registerUntilDone(ctx context.Context) error {
	delay := 500 * time.Millisecond
	for {
		err := a.register(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("register node %s: %w", a.cfg.NodeName, ctx.Err())
		}
		klogError(ctx, err, "registration failed, retrying", "delay", delay)
		select {
		case <-ctx.Done():
			return fmt.Errorf("register node %s: %w", a.cfg.NodeName, ctx.Err())
		case <-a.cfg.Clock.After(delay):
		}
		delay = min(2*delay, 7*time.Second)
	}
}

func (a *Agent) processNext(ctx context.Context) bool {
	key, quit := a.queue.Get()
	if quit {
		return false
	}
	defer a.queue.Done(key)
	requeue, err := a.syncPod(ctx, key)
	switch {
	case err != nil:
		// A conflict only means the cache lagged a write; the retry sees it.
		if ctx.Err() == nil && !apierrors.IsConflict(err) {
			klogError(ctx, err, "sync pod", "pod", key)
		}
		a.queue.AddRateLimited(key)
	default:
		a.queue.Forget(key)
		if requeue > 0 {
			a.queue.AddAfter(key, requeue)
		}
	}
	return true
}

func portString(p int) string { return strconv.Itoa(p) }
