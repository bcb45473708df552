package openapi

import (
	"bytes"
	"crypto/sha512"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	openapi_v2 "github.com/google/gnostic-models/openapiv2"
	"github.com/munnerz/goautoneg"
	"google.golang.org/protobuf/proto"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/kube-openapi/pkg/handler3"
)

// Resource describes one served resource; the apiserver passes the full list.
type Resource struct {
	GVK          schema.GroupVersionKind // e.g. apps/v1 DaemonSet
	Plural       string                  // "daemonsets"
	Namespaced   bool
	Object       runtime.Object // zero value of the type, e.g. &appsv1.DaemonSet{}
	List         runtime.Object // e.g. &appsv1.DaemonSetList{}
	Verbs        []string       // subset of get list watch create update patch delete deletecollection
	Subresources []Subresource
}

// Subresource describes one subresource of a Resource.
type Subresource struct {
	Name string // "status", "binding", "eviction", "log"
	// Object is the request/response body type (&corev1.Binding{},
	// &policyv1.Eviction{}). Nil means the parent's type, except for "log",
	// whose body is plain text.
	Object runtime.Object
	Verbs  []string // get, create, update, patch
}

// The v2 document's media types, as upstream names them. Clients ask for the
// "@" spelling; the "." one is the modern name.
const (
	mediaJSON            = "application/json"
	mediaProtobuf        = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
	subtypeProtobuf      = "com.github.proto-openapi.spec.v2.v1.0+protobuf"
	subtypeProtobufOlder = "com.github.proto-openapi.spec.v2@v1.0+protobuf"
)

// NewHandler builds the documents for resources and serves
//
//	GET /openapi/v2                      JSON or gnostic protobuf, by Accept
//	GET /openapi/v3                      index of group versions with content hashes
//	GET /openapi/v3/api/v1               one group version (JSON or protobuf);
//	GET /openapi/v3/apis/<group>/<ver>   with ?hash=<etag> the answer is immutable
//
// Schemas are derived when NewHandler runs, so type errors surface here; the
// encoded forms are produced on first request.
func NewHandler(resources []Resource) (http.Handler, error) {
	docs, err := buildDocuments(resources)
	if err != nil {
		return nil, fmt.Errorf("build OpenAPI documents: %w", err)
	}
	v2JSON, err := docs.v2.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("encode OpenAPI v2 document: %w", err)
	}

	v3 := handler3.NewOpenAPIService()
	for gv, doc := range docs.v3 {
		v3.UpdateGroupVersion(gv, doc)
	}
	v2 := &v2Document{json: v2JSON, etag: etag(v2JSON), modified: time.Now()}

	mux := http.NewServeMux()
	mux.Handle("GET /openapi/v2", v2)
	mux.HandleFunc("GET /openapi/v3", v3.HandleDiscovery)
	mux.HandleFunc("GET /openapi/v3/{gv...}", func(w http.ResponseWriter, r *http.Request) {
		// handler3 answers an unknown group version with an empty 200.
		if _, ok := docs.v3[r.PathValue("gv")]; !ok {
			http.NotFound(w, r)
			return
		}
		v3.HandleGroupVersion(w, r)
	})
	return mux, nil
}

// etag is the content hash upstream uses for OpenAPI documents.
func etag(data []byte) string {
	return fmt.Sprintf("%X", sha512.Sum512(data))
}

// v2Document serves /openapi/v2. The protobuf form is derived from the JSON
// once, when first asked for: parsing the JSON into gnostic's model is the
// expensive part and many clients never ask.
type v2Document struct {
	json     []byte
	etag     string
	modified time.Time

	protoOnce sync.Once
	proto     []byte
	protoErr  error
}

func (d *v2Document) protobuf() ([]byte, error) {
	d.protoOnce.Do(func() {
		doc, err := openapi_v2.ParseDocument(d.json)
		if err != nil {
			d.protoErr = fmt.Errorf("parse OpenAPI v2 document: %w", err)
			return
		}
		d.proto, d.protoErr = proto.Marshal(doc)
	})
	return d.proto, d.protoErr
}

func (d *v2Document) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	accept := r.Header.Get("Accept")
	if accept == "" {
		accept = "*/*"
	}
	w.Header().Add("Vary", "Accept")
	for _, clause := range goautoneg.ParseAccept(accept) {
		if clause.Type != "application" && clause.Type != "*" {
			continue
		}
		var body []byte
		var contentType string
		switch clause.SubType {
		case "json", "*":
			body, contentType = d.json, mediaJSON
		case subtypeProtobuf, subtypeProtobufOlder:
			pb, err := d.protobuf()
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			body, contentType = pb, mediaProtobuf
		default:
			continue
		}
		w.Header().Set("Content-Type", contentType)
		// Both encodings share one ETag; Vary: Accept keeps caches apart.
		w.Header().Set("Etag", strconv.Quote(d.etag))
		http.ServeContent(w, r, "", d.modified, bytes.NewReader(body))
		return
	}
	w.WriteHeader(http.StatusNotAcceptable)
}
