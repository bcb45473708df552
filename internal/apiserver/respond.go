package apiserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/everynode/everynode/internal/apiserver/printers"
	"github.com/everynode/everynode/internal/store"
)

var tableGVK = metav1.SchemeGroupVersion.WithKind("Table")

// writeJSON writes a plain JSON document (discovery, version).
func (s *Server) writeJSON(w http.ResponseWriter, code int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", mediaJSON)
	w.WriteHeader(code)
	_, _ = w.Write(data)
}

// writeError writes err as a Status in the negotiated media type.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		return // the client went away; nobody reads the answer
	}
	var status *apierrors.StatusError
	if !errors.As(err, &status) {
		s.logger(r.Context()).Error(err, "Internal error", "method", r.Method, "path", r.URL.Path)
		status = apierrors.NewInternalError(err)
	}
	st := status.Status()
	st.Kind, st.APIVersion = "Status", "v1"
	out, ok := s.negotiate(r)
	if !ok || out.mediaType == mediaYAML {
		out, _ = s.negotiate(&http.Request{Header: http.Header{}})
	}
	if st.Code == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="kubernetes-master"`)
	}
	s.encode(w, out, int(st.Code), &st)
}

// encode writes obj with the negotiated serializer. Objects keep the
// TypeMeta they carry (the store sets it), so encoding never mutates shared
// cached objects.
func (s *Server) encode(w http.ResponseWriter, out output, code int, obj runtime.Object) {
	var buf bytes.Buffer
	if err := out.info.Serializer.Encode(obj, &buf); err != nil {
		http.Error(w, fmt.Sprintf("encode response: %v", err), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", out.info.MediaType)
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

// writeObject writes one object of kind k, or its Table or metadata form.
func (s *Server) writeObject(w http.ResponseWriter, r *http.Request, k *kind, code int, obj runtime.Object) {
	out, ok := s.negotiate(r, "Table", "PartialObjectMetadata")
	if !ok {
		s.writeError(w, r, notAcceptable())
		return
	}
	obj = s.present(k, obj)
	switch out.as {
	case "Table":
		t, err := s.table(r, k, []runtime.Object{obj}, "", "", nil)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		s.encode(w, out, code, t)
	case "PartialObjectMetadata":
		s.encode(w, out, code, partialMetadata(obj))
	default:
		s.encode(w, out, code, obj)
	}
}

// present converts a stored object to kind k's form with its TypeMeta set.
func (s *Server) present(k *kind, obj runtime.Object) runtime.Object {
	if k.fromStorage != nil {
		obj = k.fromStorage(obj)
	}
	if obj.GetObjectKind().GroupVersionKind() != k.gvk {
		obj = obj.DeepCopyObject()
		obj.GetObjectKind().SetGroupVersionKind(k.gvk)
	}
	return obj
}

func notAcceptable() error {
	return apierrors.NewGenericServerResponse(http.StatusNotAcceptable, "", schema.GroupResource{}, "",
		"only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf", 0, false)
}

func partialMetadata(obj runtime.Object) *metav1.PartialObjectMetadata {
	acc, _ := meta.Accessor(obj)
	p := &metav1.PartialObjectMetadata{ObjectMeta: *metaOf(acc)}
	p.SetGroupVersionKind(metav1.SchemeGroupVersion.WithKind("PartialObjectMetadata"))
	return p
}

func metaOf(acc metav1.Object) *metav1.ObjectMeta {
	if om, ok := acc.(*metav1.ObjectMeta); ok {
		return om
	}
	v := reflect.ValueOf(acc).Elem().FieldByName("ObjectMeta")
	om := v.Addr().Interface().(*metav1.ObjectMeta)
	return om
}

// writeList writes a list of kind k, or its Table or metadata form.
func (s *Server) writeList(w http.ResponseWriter, r *http.Request, k *kind, res store.ListResult) {
	out, ok := s.negotiate(r, "Table", "PartialObjectMetadataList")
	if !ok {
		s.writeError(w, r, notAcceptable())
		return
	}
	rv := strconv.FormatInt(res.Revision, 10)
	items := make([]runtime.Object, len(res.Items))
	for i, o := range res.Items {
		items[i] = s.present(k, o)
	}
	switch out.as {
	case "Table":
		t, err := s.table(r, k, items, rv, res.Continue, res.Remaining)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		s.encode(w, out, http.StatusOK, t)
		return
	case "PartialObjectMetadataList":
		l := &metav1.PartialObjectMetadataList{ListMeta: metav1.ListMeta{ResourceVersion: rv, Continue: res.Continue, RemainingItemCount: res.Remaining}}
		l.SetGroupVersionKind(metav1.SchemeGroupVersion.WithKind("PartialObjectMetadataList"))
		for _, o := range items {
			l.Items = append(l.Items, *partialMetadata(o))
		}
		s.encode(w, out, http.StatusOK, l)
		return
	}
	list := k.newList()
	if err := fillList(list, items); err != nil {
		s.writeError(w, r, err)
		return
	}
	lm, _ := meta.ListAccessor(list)
	lm.SetResourceVersion(rv)
	lm.SetContinue(res.Continue)
	lm.SetRemainingItemCount(res.Remaining)
	list.GetObjectKind().SetGroupVersionKind(k.gvk.GroupVersion().WithKind(k.gvk.Kind + "List"))
	s.encode(w, out, http.StatusOK, list)
}

// fillList copies items into a typed list by value, clearing each item's
// TypeMeta as kube-apiserver's lists do (the cached objects are untouched).
func fillList(list runtime.Object, items []runtime.Object) error {
	v := reflect.ValueOf(list).Elem().FieldByName("Items")
	if !v.IsValid() {
		return fmt.Errorf("%T has no Items", list)
	}
	slice := reflect.MakeSlice(v.Type(), len(items), len(items))
	for i, o := range items {
		elem := slice.Index(i)
		elem.Set(reflect.ValueOf(o).Elem())
		elem.FieldByName("TypeMeta").Set(reflect.Zero(elem.FieldByName("TypeMeta").Type()))
	}
	v.Set(slice)
	return nil
}

// table converts objects to the Table form kubectl prints.
func (s *Server) table(r *http.Request, k *kind, objs []runtime.Object, rv, cont string, remaining *int64) (*metav1.Table, error) {
	gk := k.gvk.GroupKind()
	rows, err := printers.Rows(gk, objs, s.clock.Now())
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	include := r.URL.Query().Get("includeObject")
	if include == "" {
		include = string(metav1.IncludeMetadata)
	}
	for i := range rows {
		var embed runtime.Object
		switch metav1.IncludeObjectPolicy(include) {
		case metav1.IncludeObject:
			embed = objs[i]
		case metav1.IncludeMetadata:
			embed = partialMetadata(objs[i])
		default:
			continue
		}
		raw, err := json.Marshal(embed)
		if err != nil {
			return nil, apierrors.NewInternalError(err)
		}
		rows[i].Object = runtime.RawExtension{Raw: raw}
	}
	t := &metav1.Table{Rows: rows}
	t.ResourceVersion, t.Continue, t.RemainingItemCount = rv, cont, remaining
	if !tableNoHeaders(r) {
		t.ColumnDefinitions = printers.Columns(gk)
	}
	t.SetGroupVersionKind(tableGVK)
	return t, nil
}

func tableNoHeaders(r *http.Request) bool {
	return strings.EqualFold(r.URL.Query().Get("noHeaders"), "true")
}

// storeError converts a store error into the Status upstream returns.
func storeError(err error, k *kind, name string) error {
	gr := k.groupResource()
	switch {
	case errors.Is(err, store.ErrNotFound):
		return apierrors.NewNotFound(gr, name)
	case errors.Is(err, store.ErrAlreadyExists):
		return apierrors.NewAlreadyExists(gr, name)
	case errors.Is(err, store.ErrExpired):
		return apierrors.NewResourceExpired("The resourceVersion for the provided list is too old.")
	case errors.Is(err, store.ErrTooLargeRV):
		e := apierrors.NewTimeoutError("Too large resource version", 1)
		e.ErrStatus.Details.Causes = []metav1.StatusCause{{Type: metav1.CauseTypeResourceVersionTooLarge, Message: "Too large resource version"}}
		return e
	case errors.Is(err, store.ErrBadContinue):
		return apierrors.NewBadRequest(err.Error())
	}
	return err
}
