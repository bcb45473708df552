package apiserver

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/everynode/everynode/internal/store"
)

// bookmarkInterval is how often an idle watch that allows bookmarks gets
// one, so a client resuming after a disconnect starts from a recent
// revision.
const bookmarkInterval = time.Minute

func isWatch(q url.Values) bool {
	v := q.Get("watch")
	return v == "1" || v == "true"
}

// watchOptions maps the request's resourceVersion, resourceVersionMatch and
// sendInitialEvents to where the watch starts, as upstream defines them.
func (s *Server) watchOptions(r *http.Request, req request) (store.WatchOptions, bool, error) {
	q := r.URL.Query()
	ls, fs, err := s.selectors(r, req.kind)
	if err != nil {
		return store.WatchOptions{}, false, err
	}
	opts := store.WatchOptions{Namespace: req.namespace, Label: ls, Field: fs}
	rv, match, initial := q.Get("resourceVersion"), q.Get("resourceVersionMatch"), q.Get("sendInitialEvents")
	var from int64
	if rv != "" && rv != "0" {
		from, err = strconv.ParseInt(rv, 10, 64)
		if err != nil || from < 0 {
			return opts, false, apierrors.NewBadRequest(fmt.Sprintf("invalid resource version %q", rv))
		}
	}
	switch initial {
	case "true", "false":
		if match != string(metav1.ResourceVersionMatchNotOlderThan) {
			return opts, false, apierrors.NewInvalid(metav1.SchemeGroupVersion.WithKind("ListOptions").GroupKind(), "",
				field.ErrorList{field.Forbidden(field.NewPath("sendInitialEvents"), "sendInitialEvents is forbidden for watch unless resourceVersionMatch is set to NotOlderThan")})
		}
		if initial == "true" {
			if q.Get("allowWatchBookmarks") != "true" {
				return opts, false, apierrors.NewInvalid(metav1.SchemeGroupVersion.WithKind("ListOptions").GroupKind(), "",
					field.ErrorList{field.Forbidden(field.NewPath("allowWatchBookmarks"), "allowWatchBookmarks must be set to true when sendInitialEvents is true")})
			}
			opts.Initial = true
			opts.Fresh = rv == ""
			if from > 0 {
				// Start from a state at least as new as rv.
				opts.From = 0
				opts.Fresh = false
				if err := s.storageOf(req.kind).WaitFor(r.Context(), from); err != nil {
					return opts, false, storeError(err, req.kind, "")
				}
			}
			return opts, true, nil
		}
		opts.From = from
		return opts, false, nil
	case "":
		if match != "" {
			return opts, false, apierrors.NewBadRequest("resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided")
		}
	default:
		return opts, false, apierrors.NewBadRequest(fmt.Sprintf("invalid sendInitialEvents %q", initial))
	}
	switch {
	case rv == "":
		opts.Initial, opts.Fresh = true, true
	case rv == "0":
		opts.Initial = true
	default:
		opts.From = from
	}
	return opts, false, nil
}

func (s *Server) serveWatch(w http.ResponseWriter, r *http.Request, req request) {
	opts, initialEnd, err := s.watchOptions(r, req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out, ok := s.negotiate(r, "Table")
	if !ok || out.info.StreamSerializer == nil {
		s.writeError(w, r, notAcceptable())
		return
	}
	q := r.URL.Query()
	timeout := time.Duration(1800+rand.IntN(1800)) * time.Second
	if t := q.Get("timeoutSeconds"); t != "" {
		n, err := strconv.ParseInt(t, 10, 64)
		if err != nil || n < 0 {
			s.writeError(w, r, apierrors.NewBadRequest(fmt.Sprintf("invalid timeoutSeconds %q", t)))
			return
		}
		timeout = time.Duration(n) * time.Second
	}
	bookmarks := q.Get("allowWatchBookmarks") == "true"

	enc := s.newWatchEncoder(w, r, req.kind, out)
	watcher, err := s.storageOf(req.kind).Watch(r.Context(), opts)
	if errors.Is(err, store.ErrExpired) {
		// As upstream: the watch opens, then reports 410 Gone as an event.
		enc.start()
		st := apierrors.NewResourceExpired(err.Error()).Status()
		st.Kind, st.APIVersion = "Status", "v1"
		_ = enc.send(watch.Error, &st)
		enc.flush()
		return
	}
	if err != nil {
		s.writeError(w, r, storeError(err, req.kind, ""))
		return
	}
	defer watcher.Stop()
	enc.start()
	for _, ev := range watcher.Initial() {
		if err := enc.send(ev.Type, ev.Object); err != nil {
			return
		}
	}
	if initialEnd {
		if err := enc.bookmark(watcher.InitialRevision(), true); err != nil {
			return
		}
	}
	enc.flush()

	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(bookmarkInterval)
	defer tick.Stop()
	events := watcher.Events()
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				return
			}
			if err := enc.send(ev.Type, ev.Object); err != nil {
				return
			}
			// Send what is already queued before flushing once.
			for drained := false; !drained; {
				select {
				case ev, ok := <-events:
					if !ok {
						enc.flush()
						return
					}
					if err := enc.send(ev.Type, ev.Object); err != nil {
						return
					}
				default:
					drained = true
				}
			}
			enc.flush()
		case <-tick.C:
			if !bookmarks {
				continue
			}
			if rev, ok := watcher.Bookmark(); ok {
				if err := enc.bookmark(rev, false); err != nil {
					return
				}
				enc.flush()
			}
		case <-deadline.C:
			return
		case <-r.Context().Done():
			return
		}
	}
}

// watchEncoder writes watch events in the negotiated framing. It keeps no
// buffer of its own between events: a server holds one watch per node or
// more, mostly idle, and a buffer each, grown to the largest object the
// watch ever sent, added up to megabytes at a thousand nodes.
type watchEncoder struct {
	s        *Server
	w        http.ResponseWriter
	r        *http.Request
	k        *kind
	out      output
	frame    io.Writer
	embedded runtime.Encoder
	event    runtime.Encoder
	headers  bool // table column definitions already sent
}

func (s *Server) newWatchEncoder(w http.ResponseWriter, r *http.Request, k *kind, out output) *watchEncoder {
	return &watchEncoder{
		s: s, w: w, r: r, k: k, out: out,
		frame:    out.info.StreamSerializer.Framer.NewFrameWriter(w),
		embedded: out.info.Serializer,
		event:    out.info.StreamSerializer.Serializer,
	}
}

func (e *watchEncoder) start() {
	ct := e.out.info.MediaType
	if e.out.mediaType == mediaProtobuf {
		ct += ";stream=watch"
	}
	e.w.Header().Set("Content-Type", ct)
	e.w.Header().Set("Transfer-Encoding", "chunked")
	e.w.WriteHeader(http.StatusOK)
	e.flush()
}

func (e *watchEncoder) flush() {
	if f, ok := e.w.(http.Flusher); ok {
		f.Flush()
	}
}

func (e *watchEncoder) send(typ watch.EventType, obj runtime.Object) error {
	if typ != watch.Error && typ != watch.Bookmark {
		obj = e.s.present(e.k, obj)
		if e.out.as == "Table" {
			t, err := e.s.table(e.r, e.k, []runtime.Object{obj}, "", "", nil)
			if err != nil {
				return err
			}
			if e.headers {
				t.ColumnDefinitions = nil
			}
			e.headers = true
			obj = t
		}
	}
	inner, outer := e.s.buffer(), e.s.buffer()
	defer e.s.buffers.Put(inner)
	defer e.s.buffers.Put(outer)
	if err := e.embedded.Encode(obj, inner); err != nil {
		return err
	}
	ev := &metav1.WatchEvent{Type: string(typ), Object: runtime.RawExtension{Raw: inner.Bytes()}}
	if err := e.event.Encode(ev, outer); err != nil {
		return err
	}
	_, err := e.frame.Write(outer.Bytes())
	return err
}

// bookmark sends a BOOKMARK at rev; initialEnd marks the end of the
// initial events of a watch list.
func (e *watchEncoder) bookmark(rev int64, initialEnd bool) error {
	obj := e.k.newObj()
	obj.GetObjectKind().SetGroupVersionKind(e.k.gvk)
	acc, _ := meta.Accessor(obj)
	acc.SetResourceVersion(strconv.FormatInt(rev, 10))
	if initialEnd {
		acc.SetAnnotations(map[string]string{metav1.InitialEventsAnnotationKey: "true"})
	}
	return e.send(watch.Bookmark, obj)
}

// buffer returns an empty scratch buffer from the pool shared by all
// watches; put it back into s.buffers when done.
func (s *Server) buffer() *bytes.Buffer {
	if b, ok := s.buffers.Get().(*bytes.Buffer); ok {
		b.Reset()
		return b
	}
	return new(bytes.Buffer)
}
