package store

import (
	"context"
	"sync"

	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/watch"
)

// Buffer sizes of a watcher's event channel: a watcher that falls this far
// behind is ended and its client resumes from its last resourceVersion.
// Indexed watchers (one node's pods, one object by name) see a few events at
// a time, so their buffer is small to keep ten thousand of them cheap (the
// channel is allocated whole: 32 bytes an event).
const (
	watchBuffer        = 4096
	indexedWatchBuffer = 32
)

// WatchOptions selects what a watch sees and where it starts.
type WatchOptions struct {
	Namespace string
	Label     labels.Selector
	Field     fields.Selector
	// From is the revision after which events are sent; 0 means "now".
	From int64
	// Initial sends the current state as ADDED events first (the snapshot
	// is taken at InitialRevision).
	Initial bool
	// Fresh waits for the cache to reflect etcd's latest revision first.
	Fresh bool
}

// Watcher is one client's watch on a resource.
type Watcher struct {
	c *cache
	f filter
	// set is the index the watcher is registered in under key (nil: it
	// sees every change).
	set watcherSet
	key string

	initial    []Event
	initialRev int64
	ch         chan Event
	closed     bool // under c.mu
	stopOnce   sync.Once
}

// Watch starts a watch. It fails with ErrExpired when From is older than
// the retained history.
func (r *Resource) Watch(ctx context.Context, opts WatchOptions) (*Watcher, error) {
	if opts.Fresh {
		if err := r.store.waitFresh(ctx); err != nil {
			return nil, err
		}
	} else if opts.From > 0 {
		// A client may know a revision this server's cache has not seen yet
		// (it read it from another server, or a write just returned).
		if err := r.store.hub.waitFor(ctx, opts.From); err != nil {
			return nil, err
		}
	}
	f := newFilter(opts.Namespace, opts.Label, opts.Field)
	c := r.cache
	w := &Watcher{c: c, f: f}
	if v, ok := c.indexValue(f); ok {
		w.set, w.key = c.byField, v
	} else if name, ok := f.field.RequiresExactMatch("metadata.name"); ok {
		w.set, w.key = c.byName, name
	}
	size := watchBuffer
	if w.set != nil {
		size = indexedWatchBuffer
	}
	w.ch = make(chan Event, size)

	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case opts.Initial:
		c.candidates(f, func(e *entry) {
			if !f.matches(e) {
				return
			}
			if ev, ok := event(r, watch.Added, e); ok {
				w.initial = append(w.initial, ev)
			}
		})
	case opts.From > 0:
		if opts.From < c.oldest {
			// Upstream names the revision just before the oldest it holds.
			before := c.oldest
			if c.size > 0 {
				before = c.history[c.head].rev - 1
			}
			return nil, &ExpiredError{Requested: opts.From, Oldest: before}
		}
		n := len(c.history)
		for i := 0; i < c.size; i++ {
			ch := c.history[(c.head+i)%n]
			if ch.rev <= opts.From {
				continue
			}
			if ev, ok := f.eventFor(r, ch); ok {
				w.initial = append(w.initial, ev)
			}
		}
	}
	w.initialRev = c.rev
	if w.set != nil {
		w.set.add(w.key, w)
	} else {
		c.watchers[w] = struct{}{}
	}
	return w, nil
}

// Initial returns the events to send before those of Events.
func (w *Watcher) Initial() []Event { return w.initial }

// InitialRevision is the revision the initial events reflect.
func (w *Watcher) InitialRevision() int64 { return w.initialRev }

// Events delivers changes after the initial events; it is closed when the
// watcher falls behind or the store reloads, and the client must resume.
func (w *Watcher) Events() <-chan Event { return w.ch }

// Bookmark returns a revision the client may resume from, if every event up
// to it has been taken from Events.
func (w *Watcher) Bookmark() (int64, bool) {
	w.c.mu.RLock()
	defer w.c.mu.RUnlock()
	if w.closed || len(w.ch) > 0 {
		return 0, false
	}
	return w.c.rev, true
}

// Stop ends the watcher.
func (w *Watcher) Stop() {
	w.stopOnce.Do(func() {
		w.c.mu.Lock()
		defer w.c.mu.Unlock()
		w.closeLocked()
	})
}

// offer hands a change to the watcher; the cache lock is held.
func (w *Watcher) offer(ch *change) {
	if w.closed {
		return
	}
	ev, ok := w.f.eventFor(w.c.r, ch)
	if !ok {
		return
	}
	select {
	case w.ch <- ev:
	default:
		w.closeLocked()
	}
}

// closeLocked closes the channel and unregisters; the cache lock is held.
func (w *Watcher) closeLocked() {
	if w.closed {
		return
	}
	w.closed = true
	close(w.ch)
	if w.set != nil {
		w.set.remove(w.key, w)
	} else {
		delete(w.c.watchers, w)
	}
}
