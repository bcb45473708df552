package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/klog/v2"
)

// hub runs the single etcd watch that feeds every resource's cache.
type hub struct {
	s *Store

	mu     sync.Mutex
	rev    int64         // every change up to rev is in the caches
	notify chan struct{} // closed and replaced when rev advances

	done chan struct{}
	err  error
}

func startHub(ctx context.Context, s *Store) (*hub, error) {
	h := &hub{s: s, notify: make(chan struct{}), done: make(chan struct{})}
	rev, err := h.load(ctx)
	if err != nil {
		return nil, err
	}
	h.advance(rev)
	go func() {
		defer close(h.done)
		h.err = h.run(ctx, rev)
	}()
	return h, nil
}

// load reads every object at one revision and resets the caches to it.
func (h *hub) load(ctx context.Context) (int64, error) {
	const page = 1000
	byRes := map[*Resource][]*entry{}
	var rev int64
	key, end := Prefix, clientv3.GetPrefixRangeEnd(Prefix)
	for {
		opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(page)}
		if rev > 0 {
			opts = append(opts, clientv3.WithRev(rev))
		}
		resp, err := h.s.client.Get(ctx, key, opts...)
		if err != nil {
			return 0, fmt.Errorf("load %s: %w", Prefix, err)
		}
		if rev == 0 {
			rev = resp.Header.Revision
		}
		for _, kv := range resp.Kvs {
			r := h.s.resourceFor(string(kv.Key))
			if r == nil {
				continue
			}
			obj, err := r.decode(kv.Value, kv.ModRevision)
			if err != nil {
				return 0, fmt.Errorf("load %s: %w", kv.Key, err)
			}
			e, err := r.newEntry(string(kv.Key), obj, kv.Value, kv.ModRevision)
			if err != nil {
				return 0, err
			}
			byRes[r] = append(byRes[r], e)
		}
		if !resp.More || len(resp.Kvs) == 0 {
			break
		}
		key = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
	for _, r := range h.s.resources {
		r.cache.reset(rev, byRes[r])
	}
	return rev, nil
}

// run follows etcd from rev on, reloading when the watch breaks, until ctx
// is done.
func (h *hub) run(ctx context.Context, rev int64) error {
	logger := klog.FromContext(ctx)
	for {
		err := h.follow(ctx, rev)
		if ctx.Err() != nil {
			return nil
		}
		logger.Info("Storage watch broke; reloading caches", "err", err)
		for {
			rev, err = h.load(ctx)
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				return nil
			}
			logger.Error(err, "Reloading caches failed; retrying")
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(time.Second):
			}
		}
		h.advance(rev)
	}
}

func (h *hub) follow(ctx context.Context, rev int64) error {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	wch := h.s.client.Watch(wctx, Prefix, clientv3.WithPrefix(), clientv3.WithRev(rev+1), clientv3.WithProgressNotify())
	for resp := range wch {
		if err := resp.Err(); err != nil {
			return err
		}
		if resp.IsProgressNotify() {
			h.advanceAll(resp.Header.Revision)
			continue
		}
		var last int64
		for _, ev := range resp.Events {
			r := h.s.resourceFor(string(ev.Kv.Key))
			last = ev.Kv.ModRevision
			if r == nil {
				continue
			}
			ch := &change{rev: ev.Kv.ModRevision}
			if ev.Type == clientv3.EventTypeDelete {
				r.cache.apply(string(ev.Kv.Key), ch)
				continue
			}
			obj, err := r.decode(ev.Kv.Value, ev.Kv.ModRevision)
			if err != nil {
				klog.FromContext(ctx).Error(err, "Skipping undecodable object", "key", string(ev.Kv.Key))
				continue
			}
			e, err := r.newEntry(string(ev.Kv.Key), obj, ev.Kv.Value, ev.Kv.ModRevision)
			if err != nil {
				continue
			}
			ch.cur = e
			r.cache.apply(e.key, ch)
		}
		if last > 0 {
			h.advanceAll(last)
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return errors.New("etcd watch channel closed")
}

// advanceAll records that every change up to rev has been applied.
func (h *hub) advanceAll(rev int64) {
	for _, r := range h.s.resources {
		r.cache.advance(rev)
	}
	h.advance(rev)
}

func (h *hub) advance(rev int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if rev > h.rev {
		h.rev = rev
		close(h.notify)
		h.notify = make(chan struct{})
	}
}

// waitFor blocks until the caches reflect rev, asking etcd for a progress
// notification when writes outside our prefix hold the revision up.
func (h *hub) waitFor(ctx context.Context, rev int64) error {
	deadline := time.NewTimer(3 * time.Second)
	defer deadline.Stop()
	nudge := time.NewTimer(50 * time.Millisecond)
	defer nudge.Stop()
	for {
		h.mu.Lock()
		cur, ch := h.rev, h.notify
		h.mu.Unlock()
		if cur >= rev {
			return nil
		}
		select {
		case <-ch:
		case <-nudge.C:
			_ = h.s.client.RequestProgress(clientv3.WithRequireLeader(ctx))
			nudge.Reset(200 * time.Millisecond)
		case <-deadline.C:
			return ErrTooLargeRV
		case <-ctx.Done():
			return ctx.Err()
		case <-h.done:
			return errors.New("storage watch stopped")
		}
	}
}

// ErrTooLargeRV means the caches did not reach a requested revision in time.
var ErrTooLargeRV = errors.New("too large resource version")

// waitFresh waits until the caches reflect etcd's latest revision, which
// makes a read from them as consistent as a quorum read.
func (s *Store) waitFresh(ctx context.Context) error {
	rev, err := s.CurrentRevision(ctx)
	if err != nil {
		return err
	}
	return s.hub.waitFor(ctx, rev)
}
