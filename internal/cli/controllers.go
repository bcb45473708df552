package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/everynode/everynode/internal/controller/daemonset"
	"github.com/everynode/everynode/internal/controller/garbagecollector"
	"github.com/everynode/everynode/internal/controller/namespace"
	"github.com/everynode/everynode/internal/controller/nodelifecycle"
	"github.com/everynode/everynode/internal/controller/podgc"
	"github.com/everynode/everynode/internal/controller/rootcacert"
	"github.com/everynode/everynode/internal/controller/scheduler"
	"github.com/everynode/everynode/internal/controller/serviceaccount"
	"github.com/everynode/everynode/internal/controller/tainteviction"
)

// controllerDeps is what every controller is built from.
type controllerDeps struct {
	client    kubernetes.Interface
	informers informers.SharedInformerFactory
	recorder  func(component string) record.EventRecorder
	clock     clock.WithTicker
}

// controllerSpec names a controller and how to start it.
type controllerSpec struct {
	name  string
	start func(ctx context.Context, d controllerDeps) (run func(ctx context.Context) error, err error)
}

// leaseName is the Lease in kube-system through which servers sharing an
// etcd elect the one whose controllers act.
const leaseName = "everynode-controllers"

// runControllers elects a leader among the servers and, while this one
// leads, runs every controller. Losing the lease ends it with an error,
// so a server never runs controllers it no longer owns.
func runControllers(ctx context.Context, cfg *rest.Config, specs []controllerSpec) error {
	logger := klog.FromContext(ctx).WithName("controllers")
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("controller client: %w", err)
	}
	host, _ := os.Hostname()
	id := host + "_" + string(uuid.NewUUID())
	lock, err := resourcelock.New(resourcelock.LeasesResourceLock, "kube-system", leaseName,
		client.CoreV1(), client.CoordinationV1(), resourcelock.ResourceLockConfig{Identity: id})
	if err != nil {
		return fmt.Errorf("leader election lock: %w", err)
	}
	errc := make(chan error, 1)
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:            lock,
		LeaseDuration:   15 * time.Second,
		RenewDeadline:   10 * time.Second,
		RetryPeriod:     2 * time.Second,
		ReleaseOnCancel: true,
		Name:            leaseName,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(ctx context.Context) {
				logger.Info("Leading; starting controllers", "identity", id)
				errc <- startControllers(ctx, client, specs)
			},
			OnStoppedLeading: func() { logger.Info("No longer leading", "identity", id) },
		},
	})
	if err != nil {
		return fmt.Errorf("leader election: %w", err)
	}
	le.Run(ctx)
	if ctx.Err() != nil {
		return nil
	}
	select {
	case err := <-errc:
		if err != nil {
			return err
		}
	default:
	}
	return errors.New("lost the controllers' leader election lease")
}

func startControllers(ctx context.Context, client kubernetes.Interface, specs []controllerSpec) error {
	broadcaster := record.NewBroadcaster(record.WithContext(ctx))
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events("")})
	defer broadcaster.Shutdown()
	d := controllerDeps{
		client:    client,
		informers: informers.NewSharedInformerFactory(client, 0),
		recorder: func(component string) record.EventRecorder {
			return broadcaster.NewRecorder(clientgoscheme.Scheme, corev1.EventSource{Component: component})
		},
		clock: clock.RealClock{},
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, s := range specs {
		run, err := s.start(gctx, d)
		if err != nil {
			return fmt.Errorf("start %s controller: %w", s.name, err)
		}
		g.Go(func() error {
			if err := run(gctx); err != nil {
				return fmt.Errorf("%s controller: %w", s.name, err)
			}
			return nil
		})
	}
	d.informers.Start(gctx.Done())
	err := g.Wait()
	d.informers.Shutdown()
	return err
}

// controllerSpecs lists the controllers every server runs while leading.
func controllerSpecs(o controllerOptions) []controllerSpec {
	return []controllerSpec{
		{name: "daemonset", start: func(ctx context.Context, d controllerDeps) (func(context.Context) error, error) {
			c, err := daemonset.New(daemonset.Config{Client: d.client, Informers: d.informers, Recorder: d.recorder("daemonset-controller"), Clock: d.clock})
			if err != nil {
				return nil, err
			}
			return func(ctx context.Context) error { return c.Run(ctx, 2) }, nil
		}},
		{name: "garbagecollector", start: func(ctx context.Context, d controllerDeps) (func(context.Context) error, error) {
			c, err := garbagecollector.New(garbagecollector.Config{Client: d.client, Informers: d.informers, Recorder: d.recorder("garbage-collector-controller"), Clock: d.clock})
			if err != nil {
				return nil, err
			}
			return func(ctx context.Context) error { return c.Run(ctx, 4) }, nil
		}},
		{name: "namespace", start: func(ctx context.Context, d controllerDeps) (func(context.Context) error, error) {
			c, err := namespace.New(namespace.Config{Client: d.client, Informers: d.informers, Clock: d.clock})
			if err != nil {
				return nil, err
			}
			return func(ctx context.Context) error { return c.Run(ctx, 2) }, nil
		}},
		{name: "podgc", start: func(ctx context.Context, d controllerDeps) (func(context.Context) error, error) {
			c, err := podgc.New(podgc.Config{Client: d.client, Informers: d.informers, Clock: d.clock})
			if err != nil {
				return nil, err
			}
			return func(ctx context.Context) error { return c.Run(ctx, 1) }, nil
		}},
		{name: "nodelifecycle", start: func(ctx context.Context, d controllerDeps) (func(context.Context) error, error) {
			c, err := nodelifecycle.New(nodelifecycle.Config{
				Client: d.client, Informers: d.informers, Recorder: d.recorder(nodelifecycle.Name), Clock: d.clock,
				NodeMonitorPeriod: o.NodeMonitorPeriod, NodeMonitorGracePeriod: o.NodeMonitorGracePeriod,
				NodeStartupGracePeriod: o.NodeStartupGracePeriod,
			})
			if err != nil {
				return nil, err
			}
			return func(ctx context.Context) error { return c.Run(ctx, 1) }, nil
		}},
		{name: "tainteviction", start: func(ctx context.Context, d controllerDeps) (func(context.Context) error, error) {
			c, err := tainteviction.New(tainteviction.Config{Client: d.client, Informers: d.informers, Recorder: d.recorder(tainteviction.Name), Clock: d.clock})
			if err != nil {
				return nil, err
			}
			// Evictions that fall due together (a taint on many nodes)
			// wait on the API, not the CPU: upstream gives each its own
			// goroutine.
			return func(ctx context.Context) error { return c.Run(ctx, 8) }, nil
		}},
		{name: "serviceaccount", start: func(ctx context.Context, d controllerDeps) (func(context.Context) error, error) {
			c, err := serviceaccount.New(serviceaccount.Config{Client: d.client, Informers: d.informers, Clock: d.clock})
			if err != nil {
				return nil, err
			}
			return func(ctx context.Context) error { return c.Run(ctx, 1) }, nil
		}},
		{name: "rootcacert", start: func(ctx context.Context, d controllerDeps) (func(context.Context) error, error) {
			c, err := rootcacert.New(rootcacert.Config{Client: d.client, Informers: d.informers, Clock: d.clock, CAPEM: o.CAPEM})
			if err != nil {
				return nil, err
			}
			return func(ctx context.Context) error { return c.Run(ctx, 1) }, nil
		}},
		{name: "scheduler", start: func(ctx context.Context, d controllerDeps) (func(context.Context) error, error) {
			c, err := scheduler.New(scheduler.Config{Client: d.client, Informers: d.informers, Recorder: d.recorder(scheduler.Name), Clock: d.clock})
			if err != nil {
				return nil, err
			}
			return func(ctx context.Context) error { return c.Run(ctx, 1) }, nil
		}},
	}
}
