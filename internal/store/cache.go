package store

import (
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/watch"
)

// entry is one cached object with what selectors look at, computed once.
// Cached objects are shared and must never be mutated.
type entry struct {
	key    string
	ns     string
	name   string
	labels labels.Set
	fields fields.Set
	index  string

	// obj is the decoded object. Once a newer version supersedes the
	// entry it lives on only in the watch history, where most of it is
	// never read again: compact drops the decoded object (several times
	// the size of its stored form) and object decodes raw again when a
	// replay or a late watcher needs it.
	obj atomic.Pointer[runtime.Object]
	raw []byte // as stored in etcd; nil: never compacted
	rev int64  // raw's modification revision
}

// object returns the entry's object, decoding it again from the stored
// bytes if compact dropped it.
func (e *entry) object(r *Resource) (runtime.Object, error) {
	if p := e.obj.Load(); p != nil {
		return *p, nil
	}
	obj, err := r.decode(e.raw, e.rev)
	if err != nil {
		return nil, fmt.Errorf("decode %s again: %w", e.key, err)
	}
	return obj, nil
}

// compact drops the decoded object of a superseded entry that can be
// decoded again.
func (e *entry) compact() {
	if e.raw != nil {
		e.obj.Store(nil)
	}
}

// change is one etcd event of a resource: cur is nil for a deletion.
type change struct {
	rev  int64
	cur  *entry
	prev *entry
	at   time.Time // when the cache recorded it
}

// cache holds the current objects of one resource, the recent changes, and
// the watchers.
type cache struct {
	r *Resource

	mu      sync.RWMutex
	rev     int64 // every change of this resource up to rev is applied
	objs    map[string]*entry
	byIndex map[string]map[string]*entry

	history []*change // ring buffer
	head    int       // index of the oldest change
	size    int
	oldest  int64 // history is complete for revisions > oldest

	watchers map[*Watcher]struct{} // not indexed
	// Watchers that select one IndexField value, or one object name, see
	// only the changes of their value or name.
	byField watcherSet
	byName  watcherSet
}

// watcherSet holds watchers by the value they select.
type watcherSet map[string]map[*Watcher]struct{}

func (s watcherSet) add(key string, w *Watcher) {
	set := s[key]
	if set == nil {
		set = map[*Watcher]struct{}{}
		s[key] = set
	}
	set[w] = struct{}{}
}

func (s watcherSet) remove(key string, w *Watcher) {
	if set := s[key]; set != nil {
		delete(set, w)
		if len(set) == 0 {
			delete(s, key)
		}
	}
}

func (s watcherSet) offer(key string, ch *change) {
	for w := range s[key] {
		w.offer(ch)
	}
}

func newCache(r *Resource) *cache {
	return &cache{
		r:        r,
		objs:     map[string]*entry{},
		byIndex:  map[string]map[string]*entry{},
		history:  make([]*change, r.cfg.HistoryLength),
		watchers: map[*Watcher]struct{}{},
		byField:  watcherSet{},
		byName:   watcherSet{},
	}
}

// newEntry makes the cache entry of obj, decoded from raw (stored at rev);
// raw nil makes an entry that is never compacted.
func (r *Resource) newEntry(key string, obj runtime.Object, raw []byte, rev int64) (*entry, error) {
	acc, err := meta.Accessor(obj)
	if err != nil {
		return nil, err
	}
	f := fields.Set{"metadata.name": acc.GetName()}
	if r.cfg.Namespaced {
		f["metadata.namespace"] = acc.GetNamespace()
	}
	if r.cfg.Attrs != nil {
		for k, v := range r.cfg.Attrs(obj) {
			f[k] = v
		}
	}
	e := &entry{key: key, ns: acc.GetNamespace(), name: acc.GetName(), labels: acc.GetLabels(), fields: f, raw: raw, rev: rev}
	e.obj.Store(&obj)
	if r.cfg.IndexField != "" {
		e.index = f[r.cfg.IndexField]
	}
	return e, nil
}

// reset replaces the whole content (initial load or reload after a broken
// watch) and ends every watcher, whose clients then start over.
func (c *cache) reset(rev int64, entries []*entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.objs = make(map[string]*entry, len(entries))
	c.byIndex = map[string]map[string]*entry{}
	for _, e := range entries {
		c.put(e)
	}
	c.rev = rev
	c.oldest = rev
	c.head, c.size = 0, 0
	for w := range c.watchers {
		w.closeLocked()
	}
	for _, set := range []watcherSet{c.byField, c.byName} {
		for _, ws := range set {
			for w := range ws {
				w.closeLocked()
			}
		}
	}
	c.watchers = map[*Watcher]struct{}{}
	c.byField, c.byName = watcherSet{}, watcherSet{}
}

func (c *cache) put(e *entry) {
	c.objs[e.key] = e
	if c.r.cfg.IndexField != "" {
		set := c.byIndex[e.index]
		if set == nil {
			set = map[string]*entry{}
			c.byIndex[e.index] = set
		}
		set[e.key] = e
	}
}

func (c *cache) remove(e *entry) {
	delete(c.objs, e.key)
	if c.r.cfg.IndexField != "" {
		if set := c.byIndex[e.index]; set != nil {
			delete(set, e.key)
			if len(set) == 0 {
				delete(c.byIndex, e.index)
			}
		}
	}
}

// apply records one change of the object under key (ch.cur nil for a
// deletion) and hands it to the interested watchers.
func (c *cache) apply(key string, ch *change) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch.prev = c.objs[key]
	if ch.prev != nil {
		c.remove(ch.prev)
	}
	if ch.cur != nil {
		c.put(ch.cur)
	}
	c.rev = ch.rev
	if ch.prev == nil && ch.cur == nil {
		return
	}
	c.record(ch)
	c.dispatch(ch)
	if ch.prev != nil && ch.cur != nil {
		// Superseded, and the watchers have their events. (A deletion's
		// prev stays decoded: a replay hands it to every watcher of it.)
		ch.prev.compact()
	}
}

// advance notes that every change up to rev has been applied.
func (c *cache) advance(rev int64) {
	c.mu.Lock()
	if rev > c.rev {
		c.rev = rev
	}
	c.mu.Unlock()
}

// record appends ch to the history. The history keeps at most
// HistoryLength changes, and drops changes older than HistoryAge beyond the
// newest minHistory, as kube-apiserver's watch cache keeps about 75 s: a
// watcher away for longer starts over with a list (410 Gone), and an idle
// server does not hold the last ten thousand versions of every pod.
func (c *cache) record(ch *change) {
	ch.at = c.r.cfg.Clock.Now()
	n := len(c.history)
	if c.size == n {
		c.dropOldest()
	}
	c.history[(c.head+c.size)%n] = ch
	c.size++
	cutoff := ch.at.Add(-c.r.cfg.HistoryAge)
	for c.size > minHistory && c.history[c.head].at.Before(cutoff) {
		c.dropOldest()
	}
}

// minHistory is how many changes the history keeps whatever their age.
const minHistory = 100

// dropOldest removes the oldest change: the history is then complete only
// after its revision.
func (c *cache) dropOldest() {
	c.oldest = c.history[c.head].rev
	c.history[c.head] = nil
	c.head = (c.head + 1) % len(c.history)
	c.size--
}

func (c *cache) dispatch(ch *change) {
	for w := range c.watchers {
		w.offer(ch)
	}
	e := ch.cur
	if e == nil {
		e = ch.prev
	}
	c.byName.offer(e.name, ch)
	if c.r.cfg.IndexField == "" {
		return
	}
	if ch.cur != nil {
		c.byField.offer(ch.cur.index, ch)
	}
	if ch.prev != nil && (ch.cur == nil || ch.prev.index != ch.cur.index) {
		c.byField.offer(ch.prev.index, ch)
	}
}

// list returns the matching entries sorted by key, and the revision they
// reflect.
func (c *cache) list(f filter) ([]*entry, int64) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []*entry
	c.candidates(f, func(e *entry) {
		if f.matches(e) {
			out = append(out, e)
		}
	})
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out, c.rev
}

// candidates calls fn for every entry f may match, using the field index
// or a direct key lookup instead of a full scan where it can.
func (c *cache) candidates(f filter, fn func(*entry)) {
	if v, ok := c.indexValue(f); ok {
		for _, e := range c.byIndex[v] {
			fn(e)
		}
		return
	}
	if name, ok := f.field.RequiresExactMatch("metadata.name"); ok && (!c.r.cfg.Namespaced || f.namespace != "") {
		if e := c.objs[c.r.Key(f.namespace, name)]; e != nil {
			fn(e)
		}
		return
	}
	for _, e := range c.objs {
		fn(e)
	}
}

// get returns the cached object under key.
func (c *cache) get(key string) (*entry, int64) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.objs[key], c.rev
}

func (c *cache) indexValue(f filter) (string, bool) {
	if c.r.cfg.IndexField == "" {
		return "", false
	}
	return f.field.RequiresExactMatch(c.r.cfg.IndexField)
}

// filter selects entries by namespace, labels and fields.
type filter struct {
	namespace string
	label     labels.Selector
	field     fields.Selector
}

func newFilter(namespace string, l labels.Selector, f fields.Selector) filter {
	if l == nil {
		l = labels.Everything()
	}
	if f == nil {
		f = fields.Everything()
	}
	return filter{namespace: namespace, label: l, field: f}
}

func (f filter) matches(e *entry) bool {
	if e == nil {
		return false
	}
	if f.namespace != "" && e.ns != f.namespace {
		return false
	}
	if !f.label.Empty() && !f.label.Matches(e.labels) {
		return false
	}
	if !f.field.Empty() && !f.field.Matches(e.fields) {
		return false
	}
	return true
}

// Event is one watch event as a client sees it.
type Event struct {
	Type   watch.EventType
	Object runtime.Object
}

// eventFor turns a change into the event a watcher with filter f sees, as
// upstream's watch cache does: an object that starts matching is ADDED, one
// that stops matching is DELETED.
func (f filter) eventFor(r *Resource, ch *change) (Event, bool) {
	curOK := ch.cur != nil && f.matches(ch.cur)
	prevOK := ch.prev != nil && f.matches(ch.prev)
	switch {
	case curOK && prevOK:
		return event(r, watch.Modified, ch.cur)
	case curOK:
		return event(r, watch.Added, ch.cur)
	case prevOK:
		// The last state the watcher saw, at the revision that removed it.
		obj, err := ch.prev.object(r)
		if err != nil {
			utilruntime.HandleError(err)
			return Event{}, false
		}
		obj = obj.DeepCopyObject()
		if err := setRV(obj, ch.rev); err != nil {
			return Event{}, false
		}
		return Event{Type: watch.Deleted, Object: obj}, true
	}
	return Event{}, false
}

func event(r *Resource, t watch.EventType, e *entry) (Event, bool) {
	obj, err := e.object(r)
	if err != nil {
		utilruntime.HandleError(err)
		return Event{}, false
	}
	return Event{Type: t, Object: obj}, true
}
