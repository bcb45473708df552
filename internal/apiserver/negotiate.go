package apiserver

import (
	"mime"
	"net/http"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
)

// Media types the server speaks.
const (
	mediaJSON     = "application/json"
	mediaYAML     = "application/yaml"
	mediaProtobuf = "application/vnd.kubernetes.protobuf"
)

// output is the negotiated shape of a response.
type output struct {
	mediaType string
	// as is "" (the object itself), "Table", "PartialObjectMetadata" or
	// "PartialObjectMetadataList" (group meta.k8s.io), or
	// "APIGroupDiscoveryList" (group apidiscovery.k8s.io).
	as      string
	version string
	group   string
	info    runtime.SerializerInfo
}

// accepted is one media range of an Accept header.
type accepted struct {
	typ    string
	params map[string]string
}

func parseAccept(header string) []accepted {
	if strings.TrimSpace(header) == "" {
		return []accepted{{typ: "*/*"}}
	}
	var out []accepted
	for _, part := range strings.Split(header, ",") {
		typ, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		out = append(out, accepted{typ: typ, params: params})
	}
	return out
}

// negotiate picks the response shape from the Accept header. kinds says
// which "as" forms this endpoint can produce (besides the plain object).
func (s *Server) negotiate(r *http.Request, forms ...string) (output, bool) {
	for _, a := range parseAccept(r.Header.Get("Accept")) {
		as := a.params["as"]
		if as != "" {
			ok := false
			for _, f := range forms {
				ok = ok || f == as
			}
			if !ok {
				continue
			}
		}
		var mt string
		switch a.typ {
		case "*/*", "application/*", mediaJSON:
			mt = mediaJSON
		case mediaYAML:
			mt = mediaYAML
		case mediaProtobuf:
			if as != "" {
				continue // tables and discovery are JSON only here
			}
			mt = mediaProtobuf
		default:
			continue
		}
		info, ok := runtime.SerializerInfoForMediaType(s.codecs.SupportedMediaTypes(), mt)
		if !ok {
			continue
		}
		return output{mediaType: mt, as: as, version: a.params["v"], group: a.params["g"], info: info}, true
	}
	return output{}, false
}

// decoderFor returns the decoder for a request body's Content-Type; strict
// decoders report unknown fields.
func (s *Server) decoderFor(contentType string, strict bool) (runtime.Decoder, string, bool) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil || mt == "" {
		mt = mediaJSON
	}
	info, ok := runtime.SerializerInfoForMediaType(s.codecs.SupportedMediaTypes(), mt)
	if !ok {
		return nil, mt, false
	}
	if strict {
		return info.StrictSerializer, mt, true
	}
	return info.Serializer, mt, true
}
