package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/everynode/everynode/internal/sim"
)

// simOptions are the flags of `everynode sim`.
type simOptions struct {
	Server        string
	Token         string
	Nodes         int
	NamePrefix    string
	Labels        []string
	Taints        []string
	PodStartDelay time.Duration
	Churn         string
	Concurrency   int
}

func newSimCommand(streams IO) *cobra.Command {
	o := simOptions{Nodes: 10, NamePrefix: "sim-", Concurrency: 50}
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "Simulate a fleet of nodes (fake runtime) against a server, each with its own credential and connection",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := o.config(streams)
			if err != nil {
				return err
			}
			s, err := sim.New(cfg)
			if err != nil {
				return err
			}
			return s.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Server, "server", "", "URL of the everynode server, e.g. https://127.0.0.1:6443")
	f.StringVar(&o.Token, "token", "", "join token (default: <EVERYNODE_DATA_DIR or ~/.everynode>/join-token)")
	f.IntVar(&o.Nodes, "nodes", o.Nodes, "number of simulated nodes")
	f.StringVar(&o.NamePrefix, "name-prefix", o.NamePrefix, "node names are this prefix and a zero-padded index")
	f.StringSliceVar(&o.Labels, "labels", nil, "labels every node registers with, key=value,...")
	f.StringSliceVar(&o.Taints, "taints", nil, "taints every node registers with, key=value:Effect,...")
	f.DurationVar(&o.PodStartDelay, "pod-start-delay", 0, "time from a pod reaching its node to Running and Ready")
	f.StringVar(&o.Churn, "churn", "", "remove and re-add a random node at this rate, e.g. 1/min, 5/s (or an interval such as 30s)")
	f.IntVar(&o.Concurrency, "join-concurrency", o.Concurrency, "nodes joining at the same time")
	return cmd
}

func (o simOptions) config(streams IO) (sim.Config, error) {
	if o.Server == "" {
		return sim.Config{}, fmt.Errorf("--server is required")
	}
	token := o.Token
	if token == "" {
		data, err := os.ReadFile(filepath.Join(defaultDataDir(), "join-token"))
		if err != nil {
			return sim.Config{}, fmt.Errorf("no --token given and no local join token: %w", err)
		}
		token = strings.TrimSpace(string(data))
	}
	labels, err := parseLabels(o.Labels)
	if err != nil {
		return sim.Config{}, err
	}
	taints, err := parseTaints(o.Taints)
	if err != nil {
		return sim.Config{}, err
	}
	churn, err := parseChurn(o.Churn)
	if err != nil {
		return sim.Config{}, err
	}
	return sim.Config{
		ServerURL: o.Server, Token: token, Nodes: o.Nodes, NamePrefix: o.NamePrefix,
		Labels: labels, Taints: taints, PodStartDelay: o.PodStartDelay, Churn: churn,
		JoinConcurrency: o.Concurrency, Out: streams.ErrOut,
	}, nil
}

// parseChurn reads --churn: "N/unit" (unit s, sec, min, h, hour) is N
// events per unit; a plain duration is the interval between two events.
// It returns the interval; "" and "0" mean no churn.
func parseChurn(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "0" {
		return 0, nil
	}
	count, unit, ok := strings.Cut(s, "/")
	if !ok {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return 0, fmt.Errorf("invalid --churn %q: want a rate such as 1/min or an interval such as 30s", s)
		}
		return d, nil
	}
	n, err := strconv.ParseFloat(count, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("invalid --churn %q: %q is not a count", s, count)
	}
	per := map[string]time.Duration{"s": time.Second, "sec": time.Second, "m": time.Minute, "min": time.Minute, "h": time.Hour, "hour": time.Hour}[unit]
	if per == 0 {
		return 0, fmt.Errorf("invalid --churn %q: unit %q is not one of s, min, h", s, unit)
	}
	if n == 0 {
		return 0, nil
	}
	return time.Duration(float64(per) / n), nil
}
