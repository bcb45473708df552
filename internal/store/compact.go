package store

import (
	"context"
	"errors"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"k8s.io/klog/v2"
)

// RunCompactor compacts etcd's history every interval, keeping at least one
// interval of it (so watches may resume from a resourceVersion that old), as
// kube-apiserver does for an external etcd. It returns when ctx ends.
func (s *Store) RunCompactor(ctx context.Context, interval time.Duration) {
	logger := klog.FromContext(ctx)
	t := time.NewTicker(interval)
	defer t.Stop()
	var previous int64
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if previous > 0 {
			if _, err := s.client.Compact(ctx, previous); err != nil && !errors.Is(err, rpctypes.ErrCompacted) {
				logger.Error(err, "Compacting etcd failed", "revision", previous)
			} else {
				logger.V(2).Info("Compacted etcd", "revision", previous)
			}
		}
		rev, err := s.CurrentRevision(ctx)
		if err != nil {
			logger.Error(err, "Reading etcd's revision failed")
			continue
		}
		previous = rev
	}
}
