// Package conformance runs Kubernetes' own DaemonSet and ControllerRevision
// end-to-end specs (k8s.io/kubernetes/test/e2e/apps) against an everynode
// cluster reached through a kubeconfig. It is a separate Go module so that the
// product never depends on k8s.io/kubernetes; run.sh builds and drives it.
//
// The test main mirrors upstream's test/e2e (flag registration, embedded test
// files, suite setup), but links only the apps specs.
package conformance

import (
	"context"
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/component-base/logs"
	"k8s.io/klog/v2"
	conformancetestdata "k8s.io/kubernetes/test/conformance/testdata"
	"k8s.io/kubernetes/test/e2e/framework"
	"k8s.io/kubernetes/test/e2e/framework/config"
	e2enode "k8s.io/kubernetes/test/e2e/framework/node"
	e2epod "k8s.io/kubernetes/test/e2e/framework/pod"
	"k8s.io/kubernetes/test/e2e/framework/testfiles"
	e2etestingmanifests "k8s.io/kubernetes/test/e2e/testing-manifests"
	testfixtures "k8s.io/kubernetes/test/fixtures"
	utilnet "k8s.io/utils/net"

	// The specs under test.
	_ "k8s.io/kubernetes/test/e2e/apps"

	// Framework extensions upstream's suite links too: failure dumps,
	// metrics gathering and the after-each "all nodes ready" check.
	_ "k8s.io/kubernetes/test/e2e/framework/debug/init"
	_ "k8s.io/kubernetes/test/e2e/framework/metrics/init"
	_ "k8s.io/kubernetes/test/e2e/framework/node/init"
)

func TestMain(m *testing.M) {
	config.CopyFlags(config.Flags, flag.CommandLine)
	framework.RegisterCommonFlags(flag.CommandLine)
	framework.RegisterClusterFlags(flag.CommandLine)
	flag.Parse()
	if flag.CommandLine.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "unknown additional command line arguments: %s\n", flag.CommandLine.Args())
		os.Exit(1)
	}

	// Manifests and fixtures are read from the embedded copies, as in a
	// released e2e.test binary; there is no repository checkout to read from.
	testfiles.AddFileSource(e2etestingmanifests.GetE2ETestingManifestsFS())
	testfiles.AddFileSource(testfixtures.GetTestFixturesFS())
	testfiles.AddFileSource(conformancetestdata.GetConformanceTestdataFS())

	framework.AfterReadingAllFlags(&framework.TestContext)
	os.Exit(m.Run())
}

func TestConformance(t *testing.T) {
	logs.InitLogs()
	defer logs.FlushLogs()
	klog.EnableContextualLogging(true)

	gomega.RegisterFailHandler(framework.Fail)
	suiteConfig, reporterConfig := framework.CreateGinkgoConfig()
	ginkgo.RunSpecs(t, "everynode DaemonSet conformance", suiteConfig, reporterConfig)
}

// The suite setup performs the same checks as upstream's test/e2e suite
// setup, so the cluster is held to the same preconditions: every node
// schedulable, kube-system pods and daemons ready, and the kubernetes Service
// present (its clusterIP gives the cluster's IP family).
var _ = ginkgo.SynchronizedBeforeSuite(func(ctx context.Context) []byte {
	c, err := framework.LoadClientset()
	framework.ExpectNoError(err, "loading client")
	timeouts := framework.NewTimeoutContext()

	framework.ExpectNoError(e2enode.WaitForAllNodesSchedulable(ctx, c, timeouts.NodeSchedulable))
	if framework.TestContext.CloudConfig.NumNodes == framework.DefaultNumNodes {
		nodes, err := e2enode.GetReadySchedulableNodes(ctx, c)
		framework.ExpectNoError(err)
		framework.TestContext.CloudConfig.NumNodes = len(nodes.Items)
	}
	if err := e2epod.WaitForAlmostAllPodsReady(ctx, c, metav1.NamespaceSystem, framework.TestContext.MinStartupPods, framework.TestContext.AllowedNotReadyNodes, timeouts.SystemPodsStartup); err != nil {
		framework.Failf("waiting for kube-system pods to be running and ready: %v", err)
	}
	if err := waitForSystemDaemonSets(ctx, int32(framework.TestContext.AllowedNotReadyNodes), timeouts.SystemDaemonsetStartup); err != nil {
		framework.Logf("WARNING: waiting for kube-system daemonsets to be ready failed: %v", err)
	}

	if v, err := c.Discovery().ServerVersion(); err != nil {
		framework.Logf("Unexpected server error retrieving version: %v", err)
	} else {
		framework.Logf("server version: %s", v.GitVersion)
	}
	return nil
}, func(ctx context.Context, _ []byte) {
	c, err := framework.LoadClientset()
	framework.ExpectNoError(err, "loading client")
	svc, err := c.CoreV1().Services(metav1.NamespaceDefault).Get(ctx, "kubernetes", metav1.GetOptions{})
	if err != nil {
		framework.Failf("getting the kubernetes Service: %v", err)
	}
	framework.TestContext.IPFamily = "ipv4"
	if utilnet.IsIPv6String(svc.Spec.ClusterIP) {
		framework.TestContext.IPFamily = "ipv6"
	}
	framework.Logf("Cluster IP family: %s", framework.TestContext.IPFamily)
})

// waitForSystemDaemonSets waits until every DaemonSet in kube-system has at
// most allowedNotReady unready pods; -1 skips the wait, as upstream does.
func waitForSystemDaemonSets(ctx context.Context, allowedNotReady int32, timeout time.Duration) error {
	if allowedNotReady == -1 {
		return nil
	}
	c, err := framework.LoadClientset()
	if err != nil {
		return err
	}
	return wait.PollUntilContextTimeout(ctx, framework.Poll, timeout, true, func(ctx context.Context) (bool, error) {
		list, err := c.AppsV1().DaemonSets(metav1.NamespaceSystem).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, ds := range list.Items {
			if ds.Status.DesiredNumberScheduled-ds.Status.NumberReady > allowedNotReady {
				framework.Logf("daemonset %s/%s: %d of %d pods ready", ds.Namespace, ds.Name, ds.Status.NumberReady, ds.Status.DesiredNumberScheduled)
				return false, nil
			}
		}
		return true, nil
	})
}
