package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
)

// ErrBadContinue means a continue token could not be decoded.
var ErrBadContinue = errors.New("invalid continue token")

// ListOptions selects objects and the consistency of the read.
type ListOptions struct {
	Namespace string
	Label     labels.Selector
	Field     fields.Selector
	// Revision: 0 with Any=false is a consistent read of the latest state;
	// Any=true accepts whatever the cache holds; Revision>0 reads a state no
	// older than Revision (or exactly Revision if Exact).
	Revision int64
	Any      bool
	Exact    bool
	// Limit>0 pages through etcd at one revision; Continue resumes a page.
	Limit    int64
	Continue string
}

// ListResult is one list response.
type ListResult struct {
	Items    []runtime.Object
	Revision int64
	Continue string
	// Remaining counts the objects after this page when it is known.
	Remaining *int64
}

// List returns the matching objects sorted by key.
func (r *Resource) List(ctx context.Context, opts ListOptions) (ListResult, error) {
	f := newFilter(opts.Namespace, opts.Label, opts.Field)
	switch {
	case opts.Continue != "":
		rev, start, err := decodeContinue(opts.Continue, r.prefixFor(opts.Namespace))
		if err != nil {
			return ListResult{}, err
		}
		return r.listEtcd(ctx, f, rev, start, opts.Limit)
	case opts.Exact:
		return r.listEtcd(ctx, f, opts.Revision, r.prefixFor(opts.Namespace), opts.Limit)
	case opts.Limit > 0 && !opts.Any && opts.Revision == 0:
		// A consistent, paged read: every page comes from one etcd revision.
		return r.listEtcd(ctx, f, 0, r.prefixFor(opts.Namespace), opts.Limit)
	}
	if opts.Revision > 0 {
		if err := r.store.hub.waitFor(ctx, opts.Revision); err != nil {
			return ListResult{}, err
		}
	} else if !opts.Any {
		if err := r.store.waitFresh(ctx); err != nil {
			return ListResult{}, err
		}
	}
	entries, rev := r.cache.list(f)
	items := make([]runtime.Object, len(entries))
	for i, e := range entries {
		obj, err := e.object(r)
		if err != nil {
			return ListResult{}, err
		}
		items[i] = obj
	}
	return ListResult{Items: items, Revision: rev}, nil
}

// GetCached returns the cached object under key, at least as new as rev
// (0: whatever the cache holds).
func (r *Resource) GetCached(ctx context.Context, key string, rev int64) (runtime.Object, error) {
	if rev > 0 {
		if err := r.store.hub.waitFor(ctx, rev); err != nil {
			return nil, err
		}
	}
	e, _ := r.cache.get(key)
	if e == nil {
		return nil, ErrNotFound
	}
	return e.object(r)
}

// listEtcd reads a page from etcd at rev (0: latest), starting at key start
// and collecting up to limit matching objects (0: all).
func (r *Resource) listEtcd(ctx context.Context, f filter, rev int64, start string, limit int64) (ListResult, error) {
	end := clientv3.GetPrefixRangeEnd(r.prefixFor(f.namespace))
	res := ListResult{}
	key := start
	batch := limit
	if batch <= 0 || batch > 1000 {
		batch = 1000
	}
	for {
		opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(batch)}
		if rev > 0 {
			opts = append(opts, clientv3.WithRev(rev))
		}
		resp, err := r.store.client.Get(ctx, key, opts...)
		if err != nil {
			if errors.Is(err, rpctypes.ErrCompacted) {
				return ListResult{}, ErrExpired
			}
			if errors.Is(err, rpctypes.ErrFutureRev) {
				return ListResult{}, ErrTooLargeRV
			}
			return ListResult{}, fmt.Errorf("list %s: %w", r.prefix, err)
		}
		if rev == 0 {
			rev = resp.Header.Revision
		}
		for i, kv := range resp.Kvs {
			obj, err := r.decode(kv.Value, kv.ModRevision)
			if err != nil {
				return ListResult{}, err
			}
			e, err := r.newEntry(string(kv.Key), obj, nil, 0)
			if err != nil {
				return ListResult{}, err
			}
			if !f.matches(e) {
				continue
			}
			res.Items = append(res.Items, obj)
			if limit > 0 && int64(len(res.Items)) == limit {
				more := resp.More || i < len(resp.Kvs)-1
				if more {
					res.Continue = encodeContinue(rev, string(kv.Key)+"\x00", r.prefixFor(f.namespace))
					if f.label.Empty() && f.field.Empty() {
						n := resp.Count - int64(i) - 1
						if n > 0 {
							res.Remaining = &n
						}
					}
				}
				res.Revision = rev
				return res, nil
			}
		}
		if !resp.More || len(resp.Kvs) == 0 {
			res.Revision = rev
			return res, nil
		}
		key = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

// continueToken is the shape of kube-apiserver's continue tokens.
type continueToken struct {
	APIVersion string `json:"v"`
	Revision   int64  `json:"rv"`
	StartKey   string `json:"start"`
}

func encodeContinue(rev int64, key, prefix string) string {
	b, _ := json.Marshal(continueToken{APIVersion: "meta.k8s.io/v1", Revision: rev, StartKey: strings.TrimPrefix(key, prefix)})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeContinue(token, prefix string) (int64, string, error) {
	data, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return 0, "", fmt.Errorf("%w: %v", ErrBadContinue, err)
	}
	var t continueToken
	if err := json.Unmarshal(data, &t); err != nil || t.APIVersion != "meta.k8s.io/v1" || t.Revision <= 0 {
		return 0, "", ErrBadContinue
	}
	if strings.Contains(t.StartKey, "..") || strings.HasPrefix(t.StartKey, "/") {
		return 0, "", ErrBadContinue
	}
	return t.Revision, prefix + t.StartKey, nil
}

// WaitFor blocks until the cache reflects revision rev.
func (r *Resource) WaitFor(ctx context.Context, rev int64) error {
	return r.store.hub.waitFor(ctx, rev)
}
