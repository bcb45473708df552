package auth

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/fields"
)

// Node identities, as Kubernetes names kubelets.
const (
	GroupNodes = "system:nodes"
	NodePrefix = "system:node:"
)

// NodeUserName is the user name of node name's credential.
func NodeUserName(node string) string { return NodePrefix + node }

// NodeName returns the node a user acts for, if it is a node credential.
func (u User) NodeName() (string, bool) {
	name, ok := strings.CutPrefix(u.Name, NodePrefix)
	if !ok || name == "" {
		return "", false
	}
	for _, g := range u.Groups {
		if g == GroupNodes {
			return name, true
		}
	}
	return "", false
}

// IsAdmin reports whether the user may do anything.
func (u User) IsAdmin() bool {
	for _, g := range u.Groups {
		if g == GroupMasters {
			return true
		}
	}
	return false
}

// Attributes describe a request for authorization.
type Attributes struct {
	User        User
	Verb        string // get list watch create update patch delete deletecollection
	Group       string
	Resource    string
	Subresource string
	Namespace   string
	Name        string
	// FieldSelector is the request's field selector (list and watch).
	FieldSelector string
	// NonResourcePath is set for requests outside the resource API
	// (discovery, OpenAPI).
	NonResourcePath string
}

// Decision is the authorizer's answer; Reason explains a denial.
type Decision struct {
	Allowed bool
	Reason  string
}

// Authorize decides a request: administrators may do anything; a node may
// read what a kubelet needs and write its own Node, its own Lease, events,
// and (checked again against the objects by the NodeRestriction admission)
// the pods bound to it; anyone else may only read discovery documents.
func Authorize(a Attributes) Decision {
	if a.User.IsAdmin() {
		return Decision{Allowed: true}
	}
	if a.NonResourcePath != "" {
		return Decision{Allowed: true}
	}
	node, ok := a.User.NodeName()
	if !ok {
		return Decision{Reason: "no RBAC policy matched"}
	}
	return authorizeNode(node, a)
}

func authorizeNode(node string, a Attributes) Decision {
	allow := Decision{Allowed: true}
	deny := func(format string, args ...any) Decision {
		return Decision{Reason: fmt.Sprintf(format, args...)}
	}
	switch {
	case a.Group == "" && a.Resource == "nodes":
		switch a.Verb {
		case "get", "list", "watch":
			return allow
		case "create":
			return allow // NodeRestriction checks the object's name
		case "update", "patch", "delete":
			if a.Name == node {
				return allow
			}
			return deny("node '%s' cannot modify node '%s'", node, a.Name)
		}
	case a.Group == "" && a.Resource == "pods":
		switch {
		case a.Subresource == "" && a.Verb == "get":
			return allow
		case a.Subresource == "" && (a.Verb == "list" || a.Verb == "watch"):
			if selectsNode(a.FieldSelector, node) {
				return allow
			}
			return deny("node '%s' can only list and watch pods with fieldSelector spec.nodeName=%s", node, node)
		case a.Subresource == "status" && (a.Verb == "get" || a.Verb == "update" || a.Verb == "patch"):
			return allow // NodeRestriction checks the pod is bound to this node
		case a.Subresource == "" && a.Verb == "delete":
			return allow // NodeRestriction checks the pod is bound to this node
		}
	case a.Group == "coordination.k8s.io" && a.Resource == "leases" && a.Namespace == "kube-node-lease":
		switch a.Verb {
		case "create":
			return allow // NodeRestriction checks the object's name
		case "get", "update", "patch", "delete":
			if a.Name == node {
				return allow
			}
			return deny("node '%s' cannot access lease '%s'", node, a.Name)
		}
	case (a.Group == "" || a.Group == "events.k8s.io") && a.Resource == "events":
		switch a.Verb {
		case "create", "update", "patch":
			return allow
		}
	}
	return deny("node '%s' is not allowed to %s %s", node, a.Verb, a.Resource)
}

// selectsNode reports whether a field selector limits a list to node's pods.
func selectsNode(selector, node string) bool {
	s, err := fields.ParseSelector(selector)
	if err != nil {
		return false
	}
	v, ok := s.RequiresExactMatch("spec.nodeName")
	return ok && v == node
}
