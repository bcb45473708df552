package printers

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/everynode/everynode/internal/apiserver/eventconv"
)

// eventColumns serve both core v1 and events.k8s.io/v1 events: upstream
// prints both from the one internal Event type, with core v1 descriptions.
func eventColumns() []metav1.TableColumnDefinition {
	doc := corev1.Event{}.SwaggerDoc()
	return []metav1.TableColumnDefinition{
		{Name: "Last Seen", Type: "string", Description: doc["lastTimestamp"]},
		{Name: "Type", Type: "string", Description: doc["type"]},
		{Name: "Reason", Type: "string", Description: doc["reason"]},
		{Name: "Object", Type: "string", Description: doc["involvedObject"]},
		{Name: "Subobject", Type: "string", Priority: 1, Description: corev1.ObjectReference{}.SwaggerDoc()["fieldPath"]},
		{Name: "Source", Type: "string", Priority: 1, Description: doc["source"]},
		{Name: "Message", Type: "string", Description: doc["message"]},
		{Name: "First Seen", Type: "string", Priority: 1, Description: doc["firstTimestamp"]},
		{Name: "Count", Type: "string", Priority: 1, Description: doc["count"]},
		{Name: "Name", Type: "string", Priority: 1, Format: "name", Description: objectMetaDoc("name")},
	}
}

func eventRow(obj runtime.Object, now time.Time) (metav1.TableRow, error) {
	var ev *corev1.Event
	switch e := obj.(type) {
	case *corev1.Event:
		ev = e
	case *eventsv1.Event:
		ev = eventconv.FromEventsV1(e)
	default:
		return metav1.TableRow{}, wrongType(obj, "Event")
	}

	// Events recorded through events.k8s.io carry eventTime and series
	// instead of the deprecated first/last timestamps and count; print
	// whichever the event has.
	firstSeen := since(ev.FirstTimestamp, now)
	if ev.FirstTimestamp.IsZero() {
		firstSeen = sinceMicro(ev.EventTime, now)
	}
	lastSeen := since(ev.LastTimestamp, now)
	if ev.LastTimestamp.IsZero() {
		lastSeen = firstSeen
	}
	count := ev.Count
	if ev.Series != nil {
		lastSeen = sinceMicro(ev.Series.LastObservedTime, now)
		count = ev.Series.Count
	} else if count == 0 {
		count = 1 // a singleton new-style event has no count
	}

	object := strings.ToLower(ev.InvolvedObject.Kind)
	if ev.InvolvedObject.Name != "" {
		object = fmt.Sprintf("%s/%s", object, ev.InvolvedObject.Name)
	}

	return metav1.TableRow{Cells: []any{
		lastSeen,
		ev.Type,
		ev.Reason,
		object,
		ev.InvolvedObject.FieldPath,
		eventSource(ev),
		strings.TrimSpace(ev.Message),
		firstSeen,
		int64(count),
		ev.Name,
	}}, nil
}

// eventSource renders "component, host", falling back to the reporting
// controller and instance of new-style events, and dropping an empty host.
func eventSource(ev *corev1.Event) string {
	component := firstNonEmpty(ev.Source.Component, ev.ReportingController)
	host := firstNonEmpty(ev.Source.Host, ev.ReportingInstance)
	if host == "" {
		return component
	}
	return component + ", " + host
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
