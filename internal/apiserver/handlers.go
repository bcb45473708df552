package apiserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/uuid"

	"github.com/everynode/everynode/internal/apiserver/admission"
	"github.com/everynode/everynode/internal/store"
)

// --- reading requests

func readBody(r *http.Request) ([]byte, error) {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, apierrors.NewRequestEntityTooLargeError(fmt.Sprintf("limit is %d", MaxRequestBytes))
		}
		return nil, apierrors.NewBadRequest(fmt.Sprintf("read request body: %v", err))
	}
	return data, nil
}

// fieldValidation returns the directive of a request (default Warn).
func fieldValidation(r *http.Request) (string, error) {
	v := r.URL.Query().Get("fieldValidation")
	switch v {
	case "":
		return metav1.FieldValidationWarn, nil
	case metav1.FieldValidationIgnore, metav1.FieldValidationWarn, metav1.FieldValidationStrict:
		return v, nil
	}
	return "", apierrors.NewBadRequest(fmt.Sprintf("fieldValidation must be one of %q, %q or %q, got %q",
		metav1.FieldValidationIgnore, metav1.FieldValidationWarn, metav1.FieldValidationStrict, v))
}

func dryRun(r *http.Request) (bool, error) {
	vals := r.URL.Query()["dryRun"]
	for _, v := range vals {
		if v != metav1.DryRunAll {
			return false, apierrors.NewBadRequest(fmt.Sprintf("Invalid dry run value: %q; supported values: %q", v, metav1.DryRunAll))
		}
	}
	return len(vals) > 0, nil
}

// decodeAs decodes data of the given media type into a new object of kind
// k, applying the field-validation directive. It returns warnings.
func (s *Server) decodeAs(k *kind, data []byte, contentType, directive string) (runtime.Object, []string, error) {
	dec, _, ok := s.decoderFor(contentType, directive != metav1.FieldValidationIgnore)
	if !ok {
		return nil, nil, apierrors.NewGenericServerResponse(http.StatusUnsupportedMediaType, "", k.groupResource(), "",
			fmt.Sprintf("the body of the request was in an unknown format - accepted media types include: %s, %s, %s", mediaJSON, mediaYAML, mediaProtobuf), 0, false)
	}
	into := k.newObj()
	gvk := k.gvk
	obj, got, err := dec.Decode(data, &gvk, into)
	var warnings []string
	if err != nil {
		if !runtime.IsStrictDecodingError(err) || obj == nil {
			return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("%s in version %q cannot be handled as a %s: %v", k.gvk.Kind, k.gvk.Version, k.gvk.Kind, err))
		}
		sde, ok := runtime.AsStrictDecodingError(err)
		if !ok {
			return nil, nil, apierrors.NewBadRequest(err.Error())
		}
		if directive == metav1.FieldValidationStrict {
			return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("%s in version %q cannot be handled as a %s: %v", k.gvk.Kind, k.gvk.Version, k.gvk.Kind, err))
		}
		for _, e := range sde.Errors() {
			warnings = append(warnings, e.Error())
		}
	}
	if got != nil && (got.Group != k.gvk.Group || got.Version != k.gvk.Version) {
		return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("the API version in the data (%s) does not match the expected API version (%s)", got.GroupVersion(), k.gvk.GroupVersion()))
	}
	if reflect.TypeOf(obj) != reflect.TypeOf(into) {
		return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("the kind in the data (%s) does not match the expected kind (%s)", got.Kind, k.gvk.Kind))
	}
	obj.GetObjectKind().SetGroupVersionKind(k.gvk)
	return obj, warnings, nil
}

func setWarnings(w http.ResponseWriter, warnings []string) {
	for _, msg := range warnings {
		w.Header().Add("Warning", "299 - "+strconv.Quote(msg))
	}
}

// --- get and list

func (s *Server) serveGet(w http.ResponseWriter, r *http.Request, req request) {
	st := s.storageOf(req.kind)
	key := st.Key(req.namespace, req.name)
	var obj runtime.Object
	var err error
	if rv := r.URL.Query().Get("resourceVersion"); rv != "" {
		n, perr := strconv.ParseInt(rv, 10, 64)
		if perr != nil || n < 0 {
			s.writeError(w, r, apierrors.NewBadRequest(fmt.Sprintf("invalid resource version %q", rv)))
			return
		}
		obj, err = st.GetCached(r.Context(), key, n)
	} else {
		obj, err = st.Get(r.Context(), key)
	}
	if err != nil {
		s.writeError(w, r, storeError(err, req.kind, req.name))
		return
	}
	s.writeObject(w, r, req.kind, http.StatusOK, obj)
}

// selectors parses labelSelector and fieldSelector, rejecting field keys the
// kind does not support, as upstream does.
func (s *Server) selectors(r *http.Request, k *kind) (labels.Selector, fields.Selector, error) {
	q := r.URL.Query()
	ls, err := labels.Parse(q.Get("labelSelector"))
	if err != nil {
		return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("unable to parse requirement: %v", err))
	}
	fs, err := fields.ParseSelector(q.Get("fieldSelector"))
	if err != nil {
		return nil, nil, apierrors.NewBadRequest(err.Error())
	}
	supported := map[string]bool{"metadata.name": true}
	if k.namespaced {
		supported["metadata.namespace"] = true
	}
	if k.fields != nil {
		for f := range k.fields(k.newObj()) {
			supported[f] = true
		}
	}
	for _, req := range fs.Requirements() {
		if !supported[req.Field] {
			return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("field label not supported: %s", req.Field))
		}
	}
	return ls, fs, nil
}

func (s *Server) listOptions(r *http.Request, req request) (store.ListOptions, error) {
	q := r.URL.Query()
	ls, fs, err := s.selectors(r, req.kind)
	if err != nil {
		return store.ListOptions{}, err
	}
	opts := store.ListOptions{Namespace: req.namespace, Label: ls, Field: fs, Continue: q.Get("continue")}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.ParseInt(l, 10, 64)
		if err != nil || n < 0 {
			return opts, apierrors.NewBadRequest(fmt.Sprintf("invalid limit %q", l))
		}
		opts.Limit = n
	}
	rv, match := q.Get("resourceVersion"), q.Get("resourceVersionMatch")
	switch {
	case rv == "" && match != "":
		return opts, apierrors.NewBadRequest("resourceVersionMatch is forbidden unless resourceVersion is provided")
	case rv == "0":
		opts.Any = match != string(metav1.ResourceVersionMatchExact)
	case rv != "":
		n, err := strconv.ParseInt(rv, 10, 64)
		if err != nil || n < 0 {
			return opts, apierrors.NewBadRequest(fmt.Sprintf("invalid resource version %q", rv))
		}
		opts.Revision = n
		opts.Exact = match == string(metav1.ResourceVersionMatchExact)
	}
	if opts.Continue != "" && rv != "" {
		return opts, apierrors.NewBadRequest("specifying resource version is not allowed when using continue")
	}
	return opts, nil
}

func (s *Server) serveList(w http.ResponseWriter, r *http.Request, req request) {
	opts, err := s.listOptions(r, req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := s.storageOf(req.kind).List(r.Context(), opts)
	if err != nil {
		s.writeError(w, r, storeError(err, req.kind, ""))
		return
	}
	s.writeList(w, r, req.kind, res)
}

// --- create

func (s *Server) serveCreate(w http.ResponseWriter, r *http.Request, req request) {
	directive, err := fieldValidation(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	dry, err := dryRun(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	data, err := readBody(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	obj, warnings, err := s.decodeAs(req.kind, data, r.Header.Get("Content-Type"), directive)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out, err := s.create(r.Context(), req.kind, req.namespace, obj, dry)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	setWarnings(w, warnings)
	s.writeObject(w, r, req.kind, http.StatusCreated, out)
}

// create stores a new object of kind k in namespace ns after defaulting,
// admission and validation; with dry set it stops short of storing.
func (s *Server) create(ctx context.Context, k *kind, ns string, obj runtime.Object, dry bool) (runtime.Object, error) {
	acc, err := meta.Accessor(obj)
	if err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	if k.namespaced {
		if err := matchNamespace(acc, ns); err != nil {
			return nil, err
		}
		if acc.GetNamespace() == "" {
			return nil, apierrors.NewBadRequest("the namespace of the object is required")
		}
	} else {
		acc.SetNamespace("")
	}
	if acc.GetResourceVersion() != "" {
		return nil, apierrors.NewBadRequest("resourceVersion should not be set on objects to be created")
	}
	if acc.GetName() == "" && acc.GetGenerateName() != "" {
		base := acc.GetGenerateName()
		if len(base) > 58 {
			base = base[:58]
		}
		acc.SetName(base + utilrand.String(5))
	}
	acc.SetUID(uuid.NewUUID())
	acc.SetCreationTimestamp(s.now())
	acc.SetDeletionTimestamp(nil)
	acc.SetDeletionGracePeriodSeconds(nil)
	acc.SetSelfLink("")
	acc.SetGeneration(0)
	defaultObject(obj)
	if k.prepareCreate != nil {
		k.prepareCreate(obj)
	}
	if pod, ok := obj.(*corev1.Pod); ok {
		admission.DefaultTolerationSeconds(pod, s.cfg.DefaultTolerationSeconds, s.cfg.DefaultTolerationSeconds)
	}
	if k.namespaced {
		if err := s.namespaceAllowsCreate(ctx, acc.GetNamespace()); err != nil {
			return nil, err
		}
	}
	if k.validate != nil {
		if errs := k.validate(obj); len(errs) > 0 {
			return nil, apierrors.NewInvalid(k.gvk.GroupKind(), acc.GetName(), errs)
		}
	}
	if err := admitNode(ctx, k, "create", "", acc.GetName(), obj, nil); err != nil {
		return nil, err
	}
	if dry {
		return obj, nil
	}
	st := s.storageOf(k)
	stored := obj
	if k.toStorage != nil {
		stored = k.toStorage(obj)
	}
	out, err := st.Create(ctx, st.Key(acc.GetNamespace(), acc.GetName()), stored)
	if err != nil {
		if errors.Is(err, store.ErrAlreadyExists) && acc.GetGenerateName() != "" {
			return nil, apierrors.NewGenerateNameConflict(k.groupResource(), acc.GetName(), 1)
		}
		return nil, storeError(err, k, acc.GetName())
	}
	return out, nil
}

func matchNamespace(acc metav1.Object, ns string) error {
	switch {
	case acc.GetNamespace() == "":
		acc.SetNamespace(ns)
	case ns != "" && acc.GetNamespace() != ns:
		return apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request")
	}
	return nil
}

// namespaceAllowsCreate is upstream's NamespaceLifecycle admission: no new
// objects in a namespace that is missing or terminating.
func (s *Server) namespaceAllowsCreate(ctx context.Context, ns string) error {
	k := s.kindFor("", "v1", "namespaces")
	st := s.storageOf(k)
	obj, err := st.GetCached(ctx, st.Key("", ns), 0)
	if errors.Is(err, store.ErrNotFound) {
		// The cache may lag a namespace created a moment ago.
		obj, err = st.Get(ctx, st.Key("", ns))
	}
	if errors.Is(err, store.ErrNotFound) {
		return apierrors.NewNotFound(k.groupResource(), ns)
	}
	if err != nil {
		return err
	}
	if obj.(*corev1.Namespace).Status.Phase == corev1.NamespaceTerminating {
		msg := fmt.Sprintf("unable to create new content in namespace %s because it is being terminated", ns)
		err := apierrors.NewForbidden(schema.GroupResource{Resource: "namespaces"}, ns, errors.New(msg))
		err.ErrStatus.Details.Causes = []metav1.StatusCause{{Type: corev1.NamespaceTerminatingCause, Message: msg, Field: "metadata.namespace"}}
		return err
	}
	return nil
}

// --- update and patch

func (s *Server) serveUpdate(w http.ResponseWriter, r *http.Request, req request) {
	directive, err := fieldValidation(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	dry, err := dryRun(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	data, err := readBody(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	obj, warnings, err := s.decodeAs(req.kind, data, r.Header.Get("Content-Type"), directive)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out, err := s.update(r.Context(), req, dry, func(runtime.Object) (runtime.Object, error) {
		return obj.DeepCopyObject(), nil
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	setWarnings(w, warnings)
	s.writeObject(w, r, req.kind, http.StatusOK, out)
}

// update replaces the object named by req with what next returns given the
// current object (in kind req.kind's form), keeping what the endpoint may
// not change, and validating the result.
func (s *Server) update(ctx context.Context, req request, dry bool, next func(cur runtime.Object) (runtime.Object, error)) (runtime.Object, error) {
	k := req.kind
	st := s.storageOf(k)
	key := st.Key(req.namespace, req.name)
	deleteNow := false
	fn := func(stored runtime.Object) (runtime.Object, error) {
		old := s.present(k, stored)
		obj, err := next(old)
		if err != nil {
			return nil, err
		}
		acc, err := meta.Accessor(obj)
		if err != nil {
			return nil, apierrors.NewBadRequest(err.Error())
		}
		oldAcc, _ := meta.Accessor(old)
		if acc.GetName() == "" {
			acc.SetName(req.name)
		} else if acc.GetName() != req.name {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", acc.GetName(), req.name))
		}
		if k.namespaced {
			if err := matchNamespace(acc, req.namespace); err != nil {
				return nil, err
			}
		}
		if rv := acc.GetResourceVersion(); rv != "" && rv != oldAcc.GetResourceVersion() {
			return nil, apierrors.NewConflict(k.groupResource(), req.name, errors.New(registryConflictMessage))
		}
		if uid := acc.GetUID(); uid != "" && uid != oldAcc.GetUID() {
			return nil, apierrors.NewConflict(k.groupResource(), req.name,
				fmt.Errorf("Precondition failed: UID in precondition: %v, UID in object meta: %v", oldAcc.GetUID(), uid))
		}
		acc.SetUID(oldAcc.GetUID())
		acc.SetResourceVersion(oldAcc.GetResourceVersion())
		acc.SetCreationTimestamp(oldAcc.GetCreationTimestamp())
		acc.SetDeletionTimestamp(oldAcc.GetDeletionTimestamp())
		acc.SetDeletionGracePeriodSeconds(oldAcc.GetDeletionGracePeriodSeconds())
		acc.SetGeneration(oldAcc.GetGeneration())
		acc.SetSelfLink("")
		defaultObject(obj)
		switch req.sub {
		case "":
			if k.prepareUpdate != nil {
				k.prepareUpdate(obj, old)
			}
			if k.validateUpdate != nil {
				if fe := k.validateUpdate(obj, old); len(fe) > 0 {
					return nil, apierrors.NewInvalid(k.gvk.GroupKind(), req.name, fe)
				}
			}
		case "status":
			k.prepareStatus(obj, old)
			if k.validateStatus != nil {
				if fe := k.validateStatus(obj, old); len(fe) > 0 {
					return nil, apierrors.NewInvalid(k.gvk.GroupKind(), req.name, fe)
				}
			}
		case "finalize":
			namespacePrepareFinalize(obj, old)
			if fe := namespaceValidateUpdate(obj, old); len(fe) > 0 {
				return nil, apierrors.NewInvalid(k.gvk.GroupKind(), req.name, fe)
			}
		default:
			return nil, apierrors.NewBadRequest(fmt.Sprintf("unknown subresource %q", req.sub))
		}
		if err := admitNode(ctx, k, "update", req.sub, req.name, obj, old); err != nil {
			return nil, err
		}
		deleteNow = shouldDeleteDuringUpdate(obj, old)
		if k.toStorage != nil {
			obj = k.toStorage(obj)
		}
		return obj, nil
	}
	var out runtime.Object
	var err error
	if dry {
		var cur runtime.Object
		cur, err = st.Get(ctx, key)
		if err == nil {
			out, err = fn(cur.DeepCopyObject())
		}
	} else {
		out, err = st.Update(ctx, key, fn)
	}
	if err != nil {
		return nil, storeError(err, k, req.name)
	}
	if deleteNow && !dry {
		deleted, err := st.Delete(ctx, key, func(cur runtime.Object) error {
			acc, _ := meta.Accessor(cur)
			if len(acc.GetFinalizers()) > 0 || acc.GetDeletionTimestamp() == nil {
				return errKeep
			}
			return nil
		})
		if err == nil {
			return deleted, nil
		}
		if !errors.Is(err, errKeep) && !errors.Is(err, store.ErrNotFound) {
			return nil, storeError(err, k, req.name)
		}
	}
	return out, nil
}

var errKeep = errors.New("object must be kept")

const registryConflictMessage = "the object has been modified; please apply your changes to the latest version and try again"

// shouldDeleteDuringUpdate: an object being deleted whose last finalizer was
// just removed, and whose grace period is over, goes away.
func shouldDeleteDuringUpdate(obj, old runtime.Object) bool {
	acc, _ := meta.Accessor(obj)
	oldAcc, _ := meta.Accessor(old)
	if acc.GetDeletionTimestamp() == nil || len(acc.GetFinalizers()) > 0 {
		return false
	}
	if ns, ok := obj.(*corev1.Namespace); ok {
		return len(ns.Spec.Finalizers) == 0
	}
	g := oldAcc.GetDeletionGracePeriodSeconds()
	return g != nil && *g == 0
}

// --- delete

func (s *Server) deleteOptions(r *http.Request) (metav1.DeleteOptions, error) {
	var opts metav1.DeleteOptions
	data, err := readBody(r)
	if err != nil {
		return opts, err
	}
	if len(strings.TrimSpace(string(data))) > 0 {
		dec, _, ok := s.decoderFor(r.Header.Get("Content-Type"), false)
		if !ok {
			return opts, apierrors.NewBadRequest("unsupported DeleteOptions media type")
		}
		gvk := metav1.SchemeGroupVersion.WithKind("DeleteOptions")
		if _, _, err := dec.Decode(data, &gvk, &opts); err != nil {
			return opts, apierrors.NewBadRequest(fmt.Sprintf("decode DeleteOptions: %v", err))
		}
	}
	q := r.URL.Query()
	if g := q.Get("gracePeriodSeconds"); g != "" {
		n, err := strconv.ParseInt(g, 10, 64)
		if err != nil {
			return opts, apierrors.NewBadRequest(fmt.Sprintf("invalid gracePeriodSeconds %q", g))
		}
		opts.GracePeriodSeconds = &n
	}
	if p := q.Get("propagationPolicy"); p != "" {
		pp := metav1.DeletionPropagation(p)
		opts.PropagationPolicy = &pp
	}
	if q.Get("orphanDependents") != "" {
		b := q.Get("orphanDependents") == "true"
		opts.OrphanDependents = &b
	}
	if len(q["dryRun"]) > 0 {
		opts.DryRun = q["dryRun"]
	}
	for _, v := range opts.DryRun {
		if v != metav1.DryRunAll {
			return opts, apierrors.NewBadRequest(fmt.Sprintf("Invalid dry run value: %q", v))
		}
	}
	if opts.PropagationPolicy != nil {
		switch *opts.PropagationPolicy {
		case metav1.DeletePropagationBackground, metav1.DeletePropagationForeground, metav1.DeletePropagationOrphan:
		default:
			return opts, apierrors.NewBadRequest(fmt.Sprintf("propagationPolicy: Unsupported value: %q: supported values: \"Foreground\", \"Background\", \"Orphan\"", *opts.PropagationPolicy))
		}
		if opts.OrphanDependents != nil {
			return opts, apierrors.NewBadRequest("orphanDependents and propagationPolicy cannot both be set")
		}
	}
	return opts, nil
}

func (s *Server) serveDelete(w http.ResponseWriter, r *http.Request, req request) {
	opts, err := s.deleteOptions(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	obj, deleted, err := s.delete(r.Context(), req.kind, req.namespace, req.name, opts)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeDeleted(w, r, req.kind, obj, deleted)
}

func (s *Server) writeDeleted(w http.ResponseWriter, r *http.Request, k *kind, obj runtime.Object, deleted bool) {
	if !deleted || k.plural == "pods" {
		s.writeObject(w, r, k, http.StatusOK, obj)
		return
	}
	acc, _ := meta.Accessor(obj)
	st := &metav1.Status{
		Status: metav1.StatusSuccess,
		Details: &metav1.StatusDetails{
			Name: acc.GetName(), Group: k.gvk.Group, Kind: k.plural, UID: acc.GetUID(),
		},
	}
	st.Kind, st.APIVersion = "Status", "v1"
	out, ok := s.negotiate(r)
	if !ok {
		s.writeError(w, r, notAcceptable())
		return
	}
	s.encode(w, out, http.StatusOK, st)
}

// delete removes an object, or starts its graceful deletion: pods bound to
// a node get a grace period for the agent to stop them, objects with
// finalizers (or asking for foreground or orphan propagation) get a
// deletionTimestamp and wait for their finalizers. It reports whether the
// object is gone.
func (s *Server) delete(ctx context.Context, k *kind, ns, name string, opts metav1.DeleteOptions) (runtime.Object, bool, error) {
	st := s.storageOf(k)
	key := st.Key(ns, name)
	dry := len(opts.DryRun) > 0
	check := func(cur runtime.Object) error {
		if err := admitNode(ctx, k, "delete", "", name, nil, cur); err != nil {
			return err
		}
		acc, _ := meta.Accessor(cur)
		if p := opts.Preconditions; p != nil {
			if p.UID != nil && *p.UID != acc.GetUID() {
				return apierrors.NewConflict(k.groupResource(), name,
					fmt.Errorf("Precondition failed: UID in precondition: %v, UID in object meta: %v", *p.UID, acc.GetUID()))
			}
			if p.ResourceVersion != nil && *p.ResourceVersion != acc.GetResourceVersion() {
				return apierrors.NewConflict(k.groupResource(), name,
					fmt.Errorf("Precondition failed: ResourceVersion in precondition: %v, ResourceVersion in object meta: %v", *p.ResourceVersion, acc.GetResourceVersion()))
			}
		}
		return nil
	}
	var graceful bool
	now := s.clock.Now()
	out, err := st.Update(ctx, key, func(cur runtime.Object) (runtime.Object, error) {
		if err := check(cur); err != nil {
			return nil, err
		}
		acc, _ := meta.Accessor(cur)
		grace := gracePeriod(cur, opts)
		fins := withPropagationFinalizer(acc.GetFinalizers(), opts)
		ns, isNS := cur.(*corev1.Namespace)
		graceful = grace > 0 || len(fins) > 0 || isNS && len(ns.Spec.Finalizers) > 0
		if !graceful {
			return nil, errDeleteNow
		}
		if dt := acc.GetDeletionTimestamp(); dt != nil {
			// Already terminating: only a shorter grace period changes it.
			if old := acc.GetDeletionGracePeriodSeconds(); old == nil || grace >= *old {
				acc.SetFinalizers(fins)
				return cur, nil
			}
		}
		t := metav1.NewTime(now.Add(time.Duration(grace) * time.Second))
		if dt := acc.GetDeletionTimestamp(); dt == nil || t.Before(dt) {
			acc.SetDeletionTimestamp(&t)
		}
		acc.SetDeletionGracePeriodSeconds(&grace)
		acc.SetFinalizers(fins)
		if isNS {
			ns.Status.Phase = corev1.NamespaceTerminating
		}
		if dry {
			return nil, &dryRunResult{cur}
		}
		return cur, nil
	})
	var dr *dryRunResult
	switch {
	case errors.As(err, &dr):
		return s.present(k, dr.obj), false, nil
	case err == nil:
		return s.present(k, out), false, nil
	case !errors.Is(err, errDeleteNow):
		return nil, false, storeError(err, k, name)
	}
	if dry {
		cur, err := st.Get(ctx, key)
		if err != nil {
			return nil, false, storeError(err, k, name)
		}
		return s.present(k, cur), true, nil
	}
	deleted, err := st.Delete(ctx, key, check)
	if err != nil {
		return nil, false, storeError(err, k, name)
	}
	return s.present(k, deleted), true, nil
}

var errDeleteNow = errors.New("delete immediately")

type dryRunResult struct{ obj runtime.Object }

func (d *dryRunResult) Error() string { return "dry run" }

// gracePeriod is how long the object lingers after deletion: only pods
// bound to a node and not yet finished get one.
func gracePeriod(obj runtime.Object, opts metav1.DeleteOptions) int64 {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return 0
	}
	if pod.Spec.NodeName == "" || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return 0
	}
	g := int64(corev1.DefaultTerminationGracePeriodSeconds)
	if pod.Spec.TerminationGracePeriodSeconds != nil {
		g = *pod.Spec.TerminationGracePeriodSeconds
	}
	if opts.GracePeriodSeconds != nil {
		g = *opts.GracePeriodSeconds
	}
	if g < 0 {
		g = 1
	}
	return g
}

// withPropagationFinalizer adds the finalizer the garbage collector reads
// for foreground and orphan propagation.
func withPropagationFinalizer(fins []string, opts metav1.DeleteOptions) []string {
	want := ""
	switch {
	case opts.PropagationPolicy != nil && *opts.PropagationPolicy == metav1.DeletePropagationForeground:
		want = metav1.FinalizerDeleteDependents
	case opts.PropagationPolicy != nil && *opts.PropagationPolicy == metav1.DeletePropagationOrphan,
		opts.OrphanDependents != nil && *opts.OrphanDependents:
		want = metav1.FinalizerOrphanDependents
	}
	if want == "" {
		return fins
	}
	for _, f := range fins {
		if f == want {
			return fins
		}
	}
	return append(append([]string{}, fins...), want)
}

func (s *Server) serveDeleteCollection(w http.ResponseWriter, r *http.Request, req request) {
	lopts, err := s.listOptions(r, req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	dopts, err := s.deleteOptions(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	lopts.Limit, lopts.Continue = 0, ""
	res, err := s.storageOf(req.kind).List(r.Context(), lopts)
	if err != nil {
		s.writeError(w, r, storeError(err, req.kind, ""))
		return
	}
	var out []runtime.Object
	for _, item := range res.Items {
		acc, _ := meta.Accessor(item)
		obj, _, err := s.delete(r.Context(), req.kind, acc.GetNamespace(), acc.GetName(), dopts)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		out = append(out, obj)
	}
	res.Items = out
	s.writeList(w, r, req.kind, res)
}
