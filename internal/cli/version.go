package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
	_ "unsafe" // for go:linkname to kubectl's version variables

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/version"
	componentversion "k8s.io/component-base/version"
)

// The Kubernetes release everynode implements; /version reports it with an
// "+everynode" suffix so clients apply 1.37 semantics.
const (
	kubeMajor = "1"
	kubeMinor = "37"
)

// kubeVersion returns the Kubernetes version our k8s.io modules belong to
// (k8s.io/client-go v0.37.2 is Kubernetes v1.37.2).
func kubeVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			if m.Path == "k8s.io/client-go" && strings.HasPrefix(m.Version, "v0.") {
				return "v1." + strings.TrimPrefix(m.Version, "v0.")
			}
		}
	}
	return "v" + kubeMajor + "." + kubeMinor + ".0"
}

// serverVersion is what the API server's /version answers.
func serverVersion() version.Info {
	v := kubeVersion() + "+everynode"
	return version.Info{
		Major: kubeMajor, Minor: kubeMinor, GitVersion: v, GitTreeState: "clean",
		BuildDate: "1970-01-01T00:00:00Z", GoVersion: runtime.Version(), Compiler: runtime.Compiler,
		Platform: runtime.GOOS + "/" + runtime.GOARCH,
	}
}

// The embedded kubectl reads its version from these variables, which a
// release build sets with -ldflags -X; we set them from the module version
// so that `go build` alone gives a kubectl that reports its true version.
//
//go:linkname clientGitVersion k8s.io/client-go/pkg/version.gitVersion
var clientGitVersion string

//go:linkname clientGitMajor k8s.io/client-go/pkg/version.gitMajor
var clientGitMajor string

//go:linkname clientGitMinor k8s.io/client-go/pkg/version.gitMinor
var clientGitMinor string

//go:linkname componentGitVersion k8s.io/component-base/version.gitVersion
var componentGitVersion string

//go:linkname componentGitMajor k8s.io/component-base/version.gitMajor
var componentGitMajor string

//go:linkname componentGitMinor k8s.io/component-base/version.gitMinor
var componentGitMinor string

// stampKubectlVersion sets the embedded kubectl's version before it runs.
func stampKubectlVersion() {
	v := kubeVersion()
	clientGitVersion, clientGitMajor, clientGitMinor = v, kubeMajor, kubeMinor
	componentGitVersion, componentGitMajor, componentGitMinor = v, kubeMajor, kubeMinor
	// component-base caches the version at init; refresh it.
	_ = componentversion.SetDynamicVersion(v)
}

func newVersionCommand(streams IO) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print everynode's version and the Kubernetes version it implements",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintf(streams.Out, "everynode (Kubernetes API %s)\n", kubeVersion())
			return err
		},
	}
}
