package openapi

import "k8s.io/kube-openapi/pkg/validation/spec"

// The parameters below are the ones upstream declares for each kind of
// request. Their descriptions are our own words.

// queryParam declares a query parameter. uniqueItems is set because upstream
// sets it on every simple parameter and some clients compare documents.
func queryParam(name, typ, description string) spec.Parameter {
	return spec.Parameter{
		ParamProps:        spec.ParamProps{Name: name, In: "query", Description: description},
		SimpleSchema:      spec.SimpleSchema{Type: typ},
		CommonValidations: spec.CommonValidations{UniqueItems: true},
	}
}

func pathParam(name, description string) spec.Parameter {
	p := queryParam(name, "string", description)
	p.In = "path"
	p.Required = true
	return p
}

func nameParam(kind string) spec.Parameter { return pathParam("name", "name of the "+kind) }

func namespaceParam() spec.Parameter {
	return pathParam("namespace", "namespace the object lives in")
}

func prettyParam() spec.Parameter {
	return queryParam("pretty", "string", "If 'true', the response is indented for reading.")
}

func bodyParam(definition string) []spec.Parameter {
	return []spec.Parameter{{ParamProps: spec.ParamProps{
		Name: "body", In: "body", Required: true, Schema: refTo(definition),
	}}}
}

func dryRunParam() spec.Parameter {
	return queryParam("dryRun", "string", "When present, the request is processed but nothing is persisted. The only valid value is All: every dry-run stage runs.")
}

// writeParams are the parameters of create, update and patch requests.
// fieldValidation is the one kubectl looks for to hand field checking to the
// server.
func writeParams() []spec.Parameter {
	return []spec.Parameter{
		dryRunParam(),
		queryParam("fieldManager", "string", "Name of the actor making the change, recorded in managedFields. At most 128 printable characters; required for apply patches."),
		queryParam("fieldValidation", "string", "How to treat unknown or duplicate fields in the request body: Ignore drops them silently, Warn drops them and returns a warning header per field, Strict rejects the request with a BadRequest listing them."),
	}
}

func forceParam() []spec.Parameter {
	return []spec.Parameter{queryParam("force", "boolean", "For apply patches only: take ownership of fields that conflict with other managers instead of failing. Must be unset for other patch types.")}
}

func deleteParams() []spec.Parameter {
	return []spec.Parameter{
		dryRunParam(),
		queryParam("gracePeriodSeconds", "integer", "Seconds to wait before the object is deleted; zero deletes at once. Unset uses the type's default."),
		queryParam("ignoreStoreReadErrorWithClusterBreakingPotential", "boolean", "Delete an object whose stored form can no longer be read. Dangerous; requires separate permission."),
		queryParam("orphanDependents", "boolean", "Deprecated in favour of propagationPolicy. If true, dependents are orphaned rather than garbage collected."),
		queryParam("propagationPolicy", "string", "How dependents are garbage collected: Orphan leaves them, Background deletes them after the owner, Foreground deletes them before the owner."),
	}
}

// selectionParams narrow and page a list.
func selectionParams() []spec.Parameter {
	return []spec.Parameter{
		queryParam("continue", "string", "Token from a previous paged list response to fetch the next page. A token that has expired yields 410 Gone."),
		queryParam("fieldSelector", "string", "Return only objects whose fields match this selector. Defaults to everything."),
		queryParam("labelSelector", "string", "Return only objects whose labels match this selector. Defaults to everything."),
		queryParam("limit", "integer", "Maximum number of items to return; the response's continue token fetches the rest. Not supported with watch."),
		queryParam("resourceVersion", "string", "Constrains which resource version the response may be served from. Unset means the most recent."),
		queryParam("resourceVersionMatch", "string", "How resourceVersion applies to a list: Exact or NotOlderThan."),
		queryParam("sendInitialEvents", "boolean", "With watch=true, first send the current objects as ADDED events, followed by a bookmark."),
		queryParam("timeoutSeconds", "integer", "Ends the list or watch call after this many seconds, whatever its activity."),
	}
}

func listParams() []spec.Parameter {
	return append(selectionParams(),
		queryParam("allowWatchBookmarks", "boolean", "Ask for BOOKMARK events on a watch; servers may send them at their own pace. Ignored when not watching."),
		queryParam("watch", "boolean", "Stream changes to the selected objects instead of listing them. Start from a resourceVersion."),
	)
}

func collectionParams() []spec.Parameter { return selectionParams() }

func logParams() []spec.Parameter {
	return []spec.Parameter{
		queryParam("container", "string", "Container to read logs from; may be omitted when the pod has one container."),
		queryParam("follow", "boolean", "Keep the stream open and send new log lines as they are written."),
		queryParam("insecureSkipTLSVerifyBackend", "boolean", "Do not verify the serving certificate of the node that holds the logs."),
		queryParam("limitBytes", "integer", "Stop after this many bytes of log output."),
		queryParam("previous", "boolean", "Return the logs of the previous, terminated instance of the container."),
		queryParam("sinceSeconds", "integer", "Only return log lines newer than this many seconds."),
		queryParam("stream", "string", "Which stream to return: All, Stdout or Stderr. Defaults to All."),
		queryParam("tailLines", "integer", "Only return this many lines from the end of the log."),
		queryParam("timestamps", "boolean", "Prefix every line with an RFC 3339 timestamp."),
	}
}
