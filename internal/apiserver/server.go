package apiserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/pprof"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/everynode/everynode/internal/apiserver/admission"
	"github.com/everynode/everynode/internal/apiserver/openapi"
	"github.com/everynode/everynode/internal/auth"
	"github.com/everynode/everynode/internal/store"
)

// MaxRequestBytes is the largest request body accepted, as upstream's 3 MiB.
const MaxRequestBytes = 3 << 20

// Config wires a Server.
type Config struct {
	// Etcd is the client of the cluster holding the objects.
	Etcd *clientv3.Client
	// Authenticator maps requests to users; nil serves every request as an
	// anonymous administrator (tests of pure HTTP behaviour only).
	Authenticator *auth.Authenticator
	// Clock stamps creation and deletion times; nil means the real clock.
	Clock clock.Clock
	// Version is what /version reports.
	Version version.Info
	// CA and Tokens enable the join protocol (JoinPath, CAPath); nil
	// disables it.
	CA     *auth.CA
	Tokens *auth.Tokens
	// AgentClient reaches node agents' logs endpoints (it carries the
	// server's client certificate); nil disables pods/log.
	AgentClient *http.Client
	// DefaultTolerationSeconds for not-ready and unreachable (R69); 0 means
	// upstream's 300.
	DefaultTolerationSeconds int64
}

// Server serves the Kubernetes API.
type Server struct {
	cfg     Config
	clock   clock.Clock
	scheme  *runtime.Scheme
	codecs  serializer.CodecFactory
	store   *store.Store
	kinds   []*kind
	byPath  map[string]*kind // "group/version/plural"
	storage map[string]*store.Resource
	openapi http.Handler
	// buffers are scratch buffers (*bytes.Buffer) for watch encoding.
	buffers sync.Pool
}

// New returns a server; call Start before serving.
func New(cfg Config) (*Server, error) {
	scheme, err := NewScheme()
	if err != nil {
		return nil, err
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.DefaultTolerationSeconds == 0 {
		cfg.DefaultTolerationSeconds = 300
	}
	s := &Server{
		cfg:     cfg,
		clock:   cfg.Clock,
		scheme:  scheme,
		codecs:  newCodecs(scheme),
		store:   store.New(cfg.Etcd, scheme),
		kinds:   kinds(),
		byPath:  map[string]*kind{},
		storage: map[string]*store.Resource{},
	}
	var docs []openapi.Resource
	for _, k := range s.kinds {
		s.byPath[k.gvk.Group+"/"+k.gvk.Version+"/"+k.plural] = k
		if _, ok := s.storage[k.storage]; !ok {
			s.storage[k.storage] = s.store.Register(store.ResourceConfig{
				Name: k.storage, GVK: k.gvk, Namespaced: k.namespaced,
				Attrs: k.fields, IndexField: k.index,
			})
		}
		docs = append(docs, openapiResource(k))
	}
	s.openapi, err = openapi.NewHandler(docs)
	if err != nil {
		return nil, fmt.Errorf("build OpenAPI documents: %w", err)
	}
	return s, nil
}

// Start fills the caches and creates the namespaces every cluster has.
func (s *Server) Start(ctx context.Context) error {
	if err := s.store.Start(ctx); err != nil {
		return err
	}
	ns := s.kindFor("", "v1", "namespaces")
	for _, name := range []string{metav1.NamespaceDefault, metav1.NamespaceSystem, corev1.NamespaceNodeLease, metav1.NamespacePublic} {
		obj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if _, err := s.create(ctx, ns, "", obj, false); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create namespace %s: %w", name, err)
		}
	}
	// The "kubernetes" Service every cluster has, naming the API server.
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "kubernetes", Namespace: metav1.NamespaceDefault,
			Labels: map[string]string{"component": "apiserver", "provider": "kubernetes"}},
		Spec: corev1.ServiceSpec{
			ClusterIP: "10.96.0.1", ClusterIPs: []string{"10.96.0.1"}, IPFamilies: []corev1.IPFamily{corev1.IPv4Protocol},
			Ports: []corev1.ServicePort{{Name: "https", Port: 443, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(6443)}},
		},
	}
	if _, err := s.create(ctx, s.kindFor("", "v1", "services"), metav1.NamespaceDefault, svc, false); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create the kubernetes service: %w", err)
	}
	return nil
}

// RunCompactor compacts the etcd history every interval (for an external
// etcd; the embedded member compacts itself). It returns when ctx ends.
func (s *Server) RunCompactor(ctx context.Context, interval time.Duration) {
	s.store.RunCompactor(ctx, interval)
}

// Done is closed when the server's storage watch stops.
func (s *Server) Done() <-chan struct{} { return s.store.Done() }

func (s *Server) kindFor(group, version, plural string) *kind {
	return s.byPath[group+"/"+version+"/"+plural]
}

func (s *Server) storageOf(k *kind) *store.Resource { return s.storage[k.storage] }

// Handler returns the HTTP handler of the whole API.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(s.serveHTTP)
}

type ctxKey int

const userKey ctxKey = iota

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	switch path {
	case "/healthz", "/livez", "/readyz":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok"))
		return
	case "/version":
		s.writeJSON(w, http.StatusOK, s.cfg.Version)
		return
	case CAPath:
		if s.cfg.CA != nil {
			s.serveCA(w)
			return
		}
	case JoinPath:
		if s.cfg.CA != nil {
			s.serveJoin(w, r)
			return
		}
	}
	if s.cfg.Authenticator != nil {
		u, ok := s.cfg.Authenticator.Authenticate(r)
		if !ok {
			s.writeError(w, r, apierrors.NewUnauthorized("Unauthorized"))
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), userKey, u))
	}
	if r.ContentLength > MaxRequestBytes {
		s.writeError(w, r, apierrors.NewRequestEntityTooLargeError(fmt.Sprintf("limit is %d", MaxRequestBytes)))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxRequestBytes)

	if strings.HasPrefix(path, "/debug/pprof") {
		// Profiling, as kube-apiserver's --profiling: administrators only.
		if u, ok := userFrom(r.Context()); ok && !u.IsAdmin() {
			s.writeError(w, r, apierrors.NewForbidden(schema.GroupResource{}, "", fmt.Errorf("User %q cannot get path %q", u.Name, path)))
			return
		}
		servePprof(w, r)
		return
	}
	if strings.HasPrefix(path, "/openapi/") {
		if s.authorize(w, r, auth.Attributes{NonResourcePath: path}) {
			s.openapi.ServeHTTP(w, r)
		}
		return
	}
	seg := strings.Split(strings.Trim(path, "/"), "/")
	// Discovery documents are readable by every authenticated user.
	discovery := func(serve func()) {
		if s.authorize(w, r, auth.Attributes{NonResourcePath: path}) {
			serve()
		}
	}
	var gv schema.GroupVersion
	var rest []string
	switch {
	case len(seg) >= 1 && seg[0] == "api":
		if len(seg) == 1 {
			discovery(func() { s.serveAPIVersions(w, r) })
			return
		}
		gv, rest = schema.GroupVersion{Version: seg[1]}, seg[2:]
	case len(seg) >= 1 && seg[0] == "apis":
		switch len(seg) {
		case 1:
			discovery(func() { s.serveAPIGroups(w, r) })
			return
		case 2:
			discovery(func() { s.serveAPIGroup(w, r, seg[1]) })
			return
		}
		gv, rest = schema.GroupVersion{Group: seg[1], Version: seg[2]}, seg[3:]
	default:
		s.writeError(w, r, errNoResource())
		return
	}
	if len(rest) == 0 {
		discovery(func() { s.serveResourceList(w, r, gv) })
		return
	}
	req, err := s.route(gv, rest)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if !s.authorize(w, r, auth.Attributes{
		Verb: verbOf(r, req), Group: req.kind.gvk.Group, Resource: req.kind.plural, Subresource: req.sub,
		Namespace: req.namespace, Name: req.name, FieldSelector: r.URL.Query().Get("fieldSelector"),
	}) {
		return
	}
	s.serveResource(w, r, req)
}

// request is a routed resource request.
type request struct {
	kind      *kind
	namespace string
	name      string
	sub       string
}

// errNoResource is upstream's answer for a path no resource serves.
func errNoResource() error {
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status: metav1.StatusFailure, Code: http.StatusNotFound, Reason: metav1.StatusReasonNotFound,
		Message: "the server could not find the requested resource", Details: &metav1.StatusDetails{},
	}}
}

func (s *Server) route(gv schema.GroupVersion, rest []string) (request, error) {
	notFound := errNoResource()
	var req request
	if rest[0] == "namespaces" && len(rest) >= 3 && !(len(rest) == 3 && (rest[2] == "status" || rest[2] == "finalize")) {
		req.namespace = rest[1]
		rest = rest[2:]
	}
	req.kind = s.kindFor(gv.Group, gv.Version, rest[0])
	if req.kind == nil || len(rest) > 3 {
		return req, notFound
	}
	if req.namespace != "" && !req.kind.namespaced {
		return req, notFound
	}
	if len(rest) >= 2 {
		if req.kind.namespaced && req.namespace == "" {
			// A namespaced object is addressed within its namespace.
			return req, notFound
		}
		req.name = rest[1]
	}
	if len(rest) == 3 {
		req.sub = rest[2]
		if !req.kind.hasSub(req.sub) {
			return req, notFound
		}
	}
	return req, nil
}

func (s *Server) serveResource(w http.ResponseWriter, r *http.Request, req request) {
	q := r.URL.Query()
	switch {
	case req.sub == "log" && r.Method == http.MethodGet:
		s.serveLog(w, r, req)
	case req.sub == "binding" && r.Method == http.MethodPost:
		s.serveBinding(w, r, req)
	case req.sub == "eviction" && r.Method == http.MethodPost:
		s.serveEviction(w, r, req)
	case req.sub == "binding" || req.sub == "eviction" || req.sub == "log":
		s.writeError(w, r, apierrors.NewMethodNotSupported(req.kind.groupResource(), r.Method))
	case req.name == "" && r.Method == http.MethodGet && isWatch(q):
		s.serveWatch(w, r, req)
	case req.name == "" && r.Method == http.MethodGet:
		s.serveList(w, r, req)
	case req.name == "" && r.Method == http.MethodPost:
		s.serveCreate(w, r, req)
	case req.name == "" && r.Method == http.MethodDelete:
		s.serveDeleteCollection(w, r, req)
	case req.name != "" && r.Method == http.MethodGet:
		s.serveGet(w, r, req)
	case req.name != "" && r.Method == http.MethodPut:
		s.serveUpdate(w, r, req)
	case req.name != "" && r.Method == http.MethodPatch:
		s.servePatch(w, r, req)
	case req.name != "" && r.Method == http.MethodDelete && req.sub == "":
		s.serveDelete(w, r, req)
	default:
		s.writeError(w, r, apierrors.NewMethodNotSupported(req.kind.groupResource(), r.Method))
	}
}

func (s *Server) logger(ctx context.Context) klog.Logger { return klog.FromContext(ctx) }

func (s *Server) now() metav1.Time { return metav1.NewTime(s.clock.Now().Truncate(time.Second)) }

// userFrom returns the authenticated user of a request's context.
func userFrom(ctx context.Context) (auth.User, bool) {
	u, ok := ctx.Value(userKey).(auth.User)
	return u, ok
}

// verbOf maps a request to the Kubernetes authorization verb.
func verbOf(r *http.Request, req request) string {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		switch {
		case req.name != "":
			return "get"
		case isWatch(r.URL.Query()):
			return "watch"
		}
		return "list"
	case http.MethodPost:
		return "create"
	case http.MethodPut:
		return "update"
	case http.MethodPatch:
		return "patch"
	case http.MethodDelete:
		if req.name == "" {
			return "deletecollection"
		}
		return "delete"
	}
	return strings.ToLower(r.Method)
}

// authorize answers 403 in upstream's words when the request's user may not
// do what it asks. Requests without an authenticator are trusted (tests).
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, a auth.Attributes) bool {
	u, ok := userFrom(r.Context())
	if !ok {
		return true
	}
	a.User = u
	d := auth.Authorize(a)
	if d.Allowed {
		return true
	}
	var msg string
	if a.NonResourcePath != "" {
		msg = fmt.Sprintf("User %q cannot get path %q", u.Name, a.NonResourcePath)
	} else {
		res := a.Resource
		if a.Subresource != "" {
			res += "/" + a.Subresource
		}
		scope := "at the cluster scope"
		if a.Namespace != "" {
			scope = fmt.Sprintf("in the namespace %q", a.Namespace)
		}
		msg = fmt.Sprintf("User %q cannot %s resource %q in API group %q %s", u.Name, a.Verb, res, a.Group, scope)
	}
	if d.Reason != "" {
		msg += ": " + d.Reason
	}
	s.writeError(w, r, apierrors.NewForbidden(schema.GroupResource{Group: a.Group, Resource: a.Resource}, a.Name, errors.New(msg)))
	return false
}

// admitNode applies NodeRestriction to a write by a node credential.
func admitNode(ctx context.Context, k *kind, op, sub, name string, obj, old runtime.Object) error {
	u, ok := userFrom(ctx)
	if !ok {
		return nil
	}
	node, isNode := u.NodeName()
	if !isNode || u.IsAdmin() {
		return nil
	}
	if msg, allowed := admission.NodeRestriction(node, op, sub, obj, old); !allowed {
		return apierrors.NewForbidden(k.groupResource(), name, errors.New(msg))
	}
	return nil
}

func servePprof(w http.ResponseWriter, r *http.Request) {
	switch strings.TrimPrefix(r.URL.Path, "/debug/pprof/") {
	case "cmdline":
		pprof.Cmdline(w, r)
	case "profile":
		pprof.Profile(w, r)
	case "symbol":
		pprof.Symbol(w, r)
	case "trace":
		pprof.Trace(w, r)
	default:
		pprof.Index(w, r)
	}
}
