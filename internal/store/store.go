// Package store is everynode's typed storage on etcd: objects live under
// /registry/<resource>/[<namespace>/]<name>, encoded as Kubernetes protobuf;
// an object's resourceVersion is its etcd mod revision; updates are
// compare-and-swap transactions. One etcd watch over the whole prefix feeds an
// in-memory cache per resource, from which lists and watches are served.
// Only the apiserver imports this package.
package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/utils/clock"
)

// Prefix is the root of every key everynode writes.
const Prefix = "/registry/"

// ExpiredError is a watch from a revision older than the retained history.
type ExpiredError struct {
	Requested, Oldest int64
}

func (e *ExpiredError) Error() string {
	return fmt.Sprintf("too old resource version: %d (%d)", e.Requested, e.Oldest)
}

// Unwrap makes errors.Is(err, ErrExpired) hold.
func (e *ExpiredError) Unwrap() error { return ErrExpired }

// Errors returned by the store; the apiserver turns them into Status.
var (
	ErrNotFound      = errors.New("not found")
	ErrAlreadyExists = errors.New("already exists")
	ErrConflict      = errors.New("conflict")
	// ErrExpired means a resourceVersion is older than the retained history.
	ErrExpired = errors.New("resource version too old")
)

// Store is the storage of every resource, sharing one etcd client and one
// watch.
type Store struct {
	client *clientv3.Client
	scheme *runtime.Scheme
	proto  *protobuf.Serializer

	mu        sync.Mutex
	resources map[string]*Resource // by key prefix, e.g. "/registry/pods/"
	hub       *hub
}

// New returns a store on the given etcd client. Register resources, then
// call Start.
func New(client *clientv3.Client, scheme *runtime.Scheme) *Store {
	return &Store{
		client:    client,
		scheme:    scheme,
		proto:     protobuf.NewSerializer(scheme, scheme),
		resources: map[string]*Resource{},
	}
}

// ResourceConfig describes one stored resource.
type ResourceConfig struct {
	// Name is the resource's storage name, e.g. "pods" or "daemonsets".
	Name string
	// GVK is the kind stored; objects are kept with this TypeMeta set.
	GVK schema.GroupVersionKind
	// Namespaced says whether keys carry a namespace segment.
	Namespaced bool
	// Attrs returns the fields usable in field selectors (metadata.name and
	// metadata.namespace are added by the store).
	Attrs func(obj runtime.Object) map[string]string
	// IndexField, when set, names a field (e.g. "spec.nodeName") whose exact
	// value indexes watchers, so that an event reaches only the watchers of
	// its value and the unindexed ones.
	IndexField string
	// HistoryLength is how many recent events the cache keeps for watches
	// that resume from an older resourceVersion (default 10,000), and
	// HistoryAge how long it keeps them beyond the newest 100 (default 75 s).
	HistoryLength int
	HistoryAge    time.Duration
	// Clock dates the history; nil means the real clock.
	Clock clock.PassiveClock
}

// Register adds a resource. It must be called before Start.
func (s *Store) Register(cfg ResourceConfig) *Resource {
	if cfg.HistoryLength <= 0 {
		cfg.HistoryLength = 10000
	}
	if cfg.HistoryAge <= 0 {
		cfg.HistoryAge = 75 * time.Second
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	r := &Resource{store: s, cfg: cfg, prefix: Prefix + cfg.Name + "/"}
	r.cache = newCache(r)
	s.mu.Lock()
	s.resources[r.prefix] = r
	s.mu.Unlock()
	return r
}

// Start loads every registered resource into its cache and starts the watch
// that keeps the caches current. It returns when the caches are filled; the
// watch runs until ctx is done.
func (s *Store) Start(ctx context.Context) error {
	h, err := startHub(ctx, s)
	if err != nil {
		return err
	}
	s.hub = h
	return nil
}

// Done is closed when the watch feeding the caches has stopped for good.
func (s *Store) Done() <-chan struct{} { return s.hub.done }

// Err is the reason the watch stopped, once Done is closed.
func (s *Store) Err() error { return s.hub.err }

// CurrentRevision asks etcd for its latest revision.
func (s *Store) CurrentRevision(ctx context.Context) (int64, error) {
	resp, err := s.client.Get(ctx, Prefix+"\x00rev", clientv3.WithCountOnly())
	if err != nil {
		return 0, fmt.Errorf("read etcd revision: %w", err)
	}
	return resp.Header.Revision, nil
}

func (s *Store) resourceFor(key string) *Resource {
	// Keys are /registry/<name>/...; find the resource by its segment.
	rest := strings.TrimPrefix(key, Prefix)
	i := strings.IndexByte(rest, '/')
	if i < 0 {
		return nil
	}
	return s.resources[Prefix+rest[:i+1]]
}

// Resource is the storage of one resource.
type Resource struct {
	store  *Store
	cfg    ResourceConfig
	prefix string
	cache  *cache
}

// Key returns the storage key of an object.
func (r *Resource) Key(namespace, name string) string {
	if r.cfg.Namespaced {
		return r.prefix + namespace + "/" + name
	}
	return r.prefix + name
}

// prefixFor returns the key prefix of every object in namespace ("" = all).
func (r *Resource) prefixFor(namespace string) string {
	if r.cfg.Namespaced && namespace != "" {
		return r.prefix + namespace + "/"
	}
	return r.prefix
}

func (r *Resource) encode(obj runtime.Object) ([]byte, error) {
	acc, err := meta.Accessor(obj)
	if err != nil {
		return nil, err
	}
	// The revision is the key's, not part of the stored bytes.
	rv := acc.GetResourceVersion()
	acc.SetResourceVersion("")
	obj.GetObjectKind().SetGroupVersionKind(r.cfg.GVK)
	var buf bytes.Buffer
	err = r.store.proto.Encode(obj, &buf)
	acc.SetResourceVersion(rv)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", r.cfg.GVK.Kind, err)
	}
	return buf.Bytes(), nil
}

func (r *Resource) decode(data []byte, rev int64) (runtime.Object, error) {
	obj, err := r.store.scheme.New(r.cfg.GVK)
	if err != nil {
		return nil, err
	}
	out, _, err := r.store.proto.Decode(data, &r.cfg.GVK, obj)
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", r.cfg.GVK.Kind, err)
	}
	out.GetObjectKind().SetGroupVersionKind(r.cfg.GVK)
	if err := setRV(out, rev); err != nil {
		return nil, err
	}
	return out, nil
}

func setRV(obj runtime.Object, rev int64) error {
	acc, err := meta.Accessor(obj)
	if err != nil {
		return err
	}
	acc.SetResourceVersion(strconv.FormatInt(rev, 10))
	return nil
}

// Create stores a new object under key. The object gets its
// resourceVersion; it fails with ErrAlreadyExists if the key is taken.
func (r *Resource) Create(ctx context.Context, key string, obj runtime.Object) (runtime.Object, error) {
	data, err := r.encode(obj)
	if err != nil {
		return nil, err
	}
	resp, err := r.store.client.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, string(data))).
		Commit()
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", key, err)
	}
	if !resp.Succeeded {
		return nil, ErrAlreadyExists
	}
	if err := setRV(obj, resp.Header.Revision); err != nil {
		return nil, err
	}
	return obj, nil
}

// Get reads the latest version of the object under key from etcd.
func (r *Resource) Get(ctx context.Context, key string) (runtime.Object, error) {
	resp, err := r.store.client.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	if len(resp.Kvs) == 0 {
		return nil, ErrNotFound
	}
	return r.decode(resp.Kvs[0].Value, resp.Kvs[0].ModRevision)
}

// UpdateFunc returns the new state of an object given its current state (a
// private copy the function may change). Returning an error aborts.
type UpdateFunc func(cur runtime.Object) (runtime.Object, error)

// Update applies fn to the current object under key and writes the result
// if the object did not change meanwhile, retrying fn on races. An update
// that changes no byte is not written and returns the current object.
func (r *Resource) Update(ctx context.Context, key string, fn UpdateFunc) (runtime.Object, error) {
	cur, curData, curRev, err := r.current(ctx, key)
	if err != nil {
		return nil, err
	}
	for {
		next, err := fn(cur.DeepCopyObject())
		if err != nil {
			return nil, err
		}
		data, err := r.encode(next)
		if err != nil {
			return nil, err
		}
		if bytes.Equal(data, curData) {
			return cur, nil
		}
		resp, err := r.store.client.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(key), "=", curRev)).
			Then(clientv3.OpPut(key, string(data))).
			Else(clientv3.OpGet(key)).
			Commit()
		if err != nil {
			return nil, fmt.Errorf("update %s: %w", key, err)
		}
		if resp.Succeeded {
			if err := setRV(next, resp.Header.Revision); err != nil {
				return nil, err
			}
			return next, nil
		}
		cur, curData, curRev, err = r.fromTxnElse(resp)
		if err != nil {
			return nil, err
		}
	}
}

// Delete removes the object under key if check accepts its current state,
// retrying check on races. It returns the deleted object with the deletion's
// resourceVersion.
func (r *Resource) Delete(ctx context.Context, key string, check func(cur runtime.Object) error) (runtime.Object, error) {
	cur, _, curRev, err := r.current(ctx, key)
	if err != nil {
		return nil, err
	}
	for {
		if check != nil {
			if err := check(cur); err != nil {
				return nil, err
			}
		}
		resp, err := r.store.client.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(key), "=", curRev)).
			Then(clientv3.OpDelete(key)).
			Else(clientv3.OpGet(key)).
			Commit()
		if err != nil {
			return nil, fmt.Errorf("delete %s: %w", key, err)
		}
		if resp.Succeeded {
			out := cur.DeepCopyObject()
			if err := setRV(out, resp.Header.Revision); err != nil {
				return nil, err
			}
			return out, nil
		}
		cur, _, curRev, err = r.fromTxnElse(resp)
		if err != nil {
			return nil, err
		}
	}
}

// current returns the latest state of key from etcd.
func (r *Resource) current(ctx context.Context, key string) (runtime.Object, []byte, int64, error) {
	resp, err := r.store.client.Get(ctx, key)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("get %s: %w", key, err)
	}
	if len(resp.Kvs) == 0 {
		return nil, nil, 0, ErrNotFound
	}
	kv := resp.Kvs[0]
	obj, err := r.decode(kv.Value, kv.ModRevision)
	return obj, kv.Value, kv.ModRevision, err
}

func (r *Resource) fromTxnElse(resp *clientv3.TxnResponse) (runtime.Object, []byte, int64, error) {
	if len(resp.Responses) == 0 {
		return nil, nil, 0, ErrNotFound
	}
	rr := resp.Responses[0].GetResponseRange()
	if rr == nil || len(rr.Kvs) == 0 {
		return nil, nil, 0, ErrNotFound
	}
	kv := rr.Kvs[0]
	obj, err := r.decode(kv.Value, kv.ModRevision)
	return obj, kv.Value, kv.ModRevision, err
}

// claimPrefix holds everynode's own bookkeeping keys, outside the resource
// tree the caches follow.
const claimPrefix = "/everynode/claims/"

// Claim records that name is taken, unless it already was. It returns the
// value of an existing claim and false, or value and true when this call
// made the claim. An existing claim for which replace returns true is
// dropped and claimed anew.
func (s *Store) Claim(ctx context.Context, name, value string, replace func(old string) bool) (string, bool, error) {
	key := claimPrefix + name
	for {
		resp, err := s.client.Txn(ctx).
			If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
			Then(clientv3.OpPut(key, value)).
			Else(clientv3.OpGet(key)).
			Commit()
		if err != nil {
			return "", false, fmt.Errorf("claim %s: %w", name, err)
		}
		if resp.Succeeded {
			return value, true, nil
		}
		kvs := resp.Responses[0].GetResponseRange().Kvs
		if len(kvs) == 0 {
			continue
		}
		old := string(kvs[0].Value)
		if !replace(old) {
			return old, false, nil
		}
		if _, err := s.client.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(key), "=", kvs[0].ModRevision)).
			Then(clientv3.OpDelete(key)).
			Commit(); err != nil {
			return "", false, fmt.Errorf("replace claim %s: %w", name, err)
		}
	}
}
