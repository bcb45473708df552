package apiserver

import (
	"net/http"
	"sort"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/everynode/everynode/internal/apiserver/openapi"
)

// The aggregated discovery media type kubectl asks for first.
const (
	discoveryGroup   = "apidiscovery.k8s.io"
	discoveryVersion = "v2"
	discoveryAs      = "APIGroupDiscoveryList"
)

// groupVersions returns the served group versions, core first.
func (s *Server) groupVersions() []schema.GroupVersion {
	seen := map[schema.GroupVersion]bool{}
	var out []schema.GroupVersion
	for _, k := range s.kinds {
		gv := k.gvk.GroupVersion()
		if !seen[gv] {
			seen[gv] = true
			out = append(out, gv)
		}
	}
	// Upstream's group priority: core, apps, events.k8s.io, coordination.k8s.io.
	rank := map[string]int{"": 0, "apps": 1, "events.k8s.io": 2, "coordination.k8s.io": 3}
	sort.SliceStable(out, func(i, j int) bool { return rank[out[i].Group] < rank[out[j].Group] })
	return out
}

// wantsAggregated reports whether the client asked for aggregated
// discovery and may take it.
func wantsAggregated(r *http.Request) bool {
	for _, a := range parseAccept(r.Header.Get("Accept")) {
		if a.params["as"] == discoveryAs && a.params["g"] == discoveryGroup && a.params["v"] == discoveryVersion {
			return true
		}
		if a.params["as"] == "" {
			return false // the client prefers the legacy documents
		}
	}
	return false
}

func (s *Server) serveAggregated(w http.ResponseWriter, core bool) {
	list := &apidiscoveryv2.APIGroupDiscoveryList{}
	list.Kind, list.APIVersion = "APIGroupDiscoveryList", discoveryGroup+"/"+discoveryVersion
	for _, gv := range s.groupVersions() {
		if (gv.Group == "") != core {
			continue
		}
		vd := apidiscoveryv2.APIVersionDiscovery{Version: gv.Version, Freshness: apidiscoveryv2.DiscoveryFreshnessCurrent}
		for _, k := range s.kinds {
			if k.gvk.GroupVersion() != gv {
				continue
			}
			scope := apidiscoveryv2.ScopeCluster
			if k.namespaced {
				scope = apidiscoveryv2.ScopeNamespace
			}
			rd := apidiscoveryv2.APIResourceDiscovery{
				Resource: k.plural, SingularResource: k.singular, Scope: scope, Verbs: allVerbs,
				ResponseKind: &metav1.GroupVersionKind{Group: gv.Group, Version: gv.Version, Kind: k.gvk.Kind},
				ShortNames:   k.shortNames, Categories: k.categories,
			}
			for _, sub := range k.subresources {
				sk, verbs := subresourceKind(k, sub)
				sd := apidiscoveryv2.APISubresourceDiscovery{Subresource: sub, Verbs: verbs}
				if sk != nil {
					sd.ResponseKind = &metav1.GroupVersionKind{Group: sk.Group, Version: sk.Version, Kind: sk.Kind}
				}
				rd.Subresources = append(rd.Subresources, sd)
			}
			vd.Resources = append(vd.Resources, rd)
		}
		g := apidiscoveryv2.APIGroupDiscovery{Versions: []apidiscoveryv2.APIVersionDiscovery{vd}}
		g.Name = gv.Group
		list.Items = append(list.Items, g)
	}
	data, err := jsonMarshal(list)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json;g="+discoveryGroup+";v="+discoveryVersion+";as="+discoveryAs)
	w.Header().Set("Vary", "Accept")
	_, _ = w.Write(data)
}

// subresourceKind returns the kind a subresource answers with and its verbs.
func subresourceKind(k *kind, sub string) (*schema.GroupVersionKind, []string) {
	switch sub {
	case "status":
		return &k.gvk, []string{"get", "patch", "update"}
	case "finalize":
		return &k.gvk, []string{"update"}
	case "binding":
		gvk := corev1.SchemeGroupVersion.WithKind("Binding")
		return &gvk, []string{"create"}
	case "eviction":
		gvk := policyv1.SchemeGroupVersion.WithKind("Eviction")
		return &gvk, []string{"create"}
	case "log":
		return nil, []string{"get"}
	}
	return nil, nil
}

func (s *Server) serveAPIVersions(w http.ResponseWriter, r *http.Request) {
	if wantsAggregated(r) {
		s.serveAggregated(w, true)
		return
	}
	v := &metav1.APIVersions{Versions: []string{"v1"}, ServerAddressByClientCIDRs: []metav1.ServerAddressByClientCIDR{{ClientCIDR: "0.0.0.0/0", ServerAddress: r.Host}}}
	v.Kind = "APIVersions"
	s.writeJSON(w, http.StatusOK, v)
}

func (s *Server) apiGroup(group string) *metav1.APIGroup {
	var g *metav1.APIGroup
	for _, gv := range s.groupVersions() {
		if gv.Group != group || group == "" {
			continue
		}
		if g == nil {
			g = &metav1.APIGroup{Name: group}
			g.Kind, g.APIVersion = "APIGroup", "v1"
		}
		vd := metav1.GroupVersionForDiscovery{GroupVersion: gv.String(), Version: gv.Version}
		g.Versions = append(g.Versions, vd)
		g.PreferredVersion = g.Versions[0]
	}
	return g
}

func (s *Server) serveAPIGroups(w http.ResponseWriter, r *http.Request) {
	if wantsAggregated(r) {
		s.serveAggregated(w, false)
		return
	}
	list := &metav1.APIGroupList{}
	list.Kind, list.APIVersion = "APIGroupList", "v1"
	seen := map[string]bool{}
	for _, gv := range s.groupVersions() {
		if gv.Group == "" || seen[gv.Group] {
			continue
		}
		seen[gv.Group] = true
		g := s.apiGroup(gv.Group)
		g.Kind, g.APIVersion = "", ""
		list.Groups = append(list.Groups, *g)
	}
	s.writeJSON(w, http.StatusOK, list)
}

func (s *Server) serveAPIGroup(w http.ResponseWriter, r *http.Request, group string) {
	g := s.apiGroup(group)
	if g == nil {
		s.writeError(w, r, errNoResource())
		return
	}
	s.writeJSON(w, http.StatusOK, g)
}

func (s *Server) serveResourceList(w http.ResponseWriter, r *http.Request, gv schema.GroupVersion) {
	list := &metav1.APIResourceList{GroupVersion: gv.String()}
	list.Kind, list.APIVersion = "APIResourceList", "v1"
	for _, k := range s.kinds {
		if k.gvk.GroupVersion() != gv {
			continue
		}
		list.APIResources = append(list.APIResources, metav1.APIResource{
			Name: k.plural, SingularName: k.singular, Namespaced: k.namespaced, Kind: k.gvk.Kind,
			Verbs: allVerbs, ShortNames: k.shortNames, Categories: k.categories,
		})
		for _, sub := range k.subresources {
			sk, verbs := subresourceKind(k, sub)
			res := metav1.APIResource{Name: k.plural + "/" + sub, Namespaced: k.namespaced, Verbs: verbs}
			if sk != nil {
				res.Group, res.Version, res.Kind = sk.Group, sk.Version, sk.Kind
				if sk.GroupVersion() == gv {
					res.Group, res.Version = "", ""
				}
			} else {
				res.Kind = k.gvk.Kind
			}
			list.APIResources = append(list.APIResources, res)
		}
	}
	if len(list.APIResources) == 0 {
		s.writeError(w, r, errNoResource())
		return
	}
	s.writeJSON(w, http.StatusOK, list)
}

// openapiResource describes kind k for the OpenAPI documents.
func openapiResource(k *kind) openapi.Resource {
	res := openapi.Resource{
		GVK: k.gvk, Plural: k.plural, Namespaced: k.namespaced,
		Object: k.newObj(), List: k.newList(), Verbs: allVerbs,
	}
	for _, sub := range k.subresources {
		_, verbs := subresourceKind(k, sub)
		var obj runtime.Object
		switch sub {
		case "status", "finalize":
			obj = k.newObj()
		case "binding":
			obj = &corev1.Binding{}
		case "eviction":
			obj = &policyv1.Eviction{}
		}
		res.Subresources = append(res.Subresources, openapi.Subresource{Name: sub, Object: obj, Verbs: verbs})
	}
	return res
}
