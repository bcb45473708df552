// Package eventconv converts between the two API shapes of one stored Event:
// core v1 Event (/api/v1/.../events) and events.k8s.io/v1 Event.
//
// Upstream kube-apiserver keeps a single events storage and serves both
// groups from it, so an event written through one group is readable through
// the other. This package owns the field mapping that makes that possible,
// following upstream's pkg/apis/events/v1 conversion:
//
//	core v1                       events.k8s.io/v1
//	involvedObject            <-> regarding
//	message                   <-> note
//	source                    <-> deprecatedSource
//	firstTimestamp            <-> deprecatedFirstTimestamp
//	lastTimestamp             <-> deprecatedLastTimestamp
//	count                     <-> deprecatedCount
//	reportingComponent (Go ReportingController) <-> reportingController
//	metadata, eventTime, series, reportingInstance, action, reason,
//	related, type             <-> same names
//
// The conversion is lossless in both directions, and the result never shares
// memory with its input. It is pure and may be imported by any apiserver
// package (storage, printers, watch).
package eventconv

import (
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ToEventsV1 returns e in its events.k8s.io/v1 shape. A nil input yields nil.
func ToEventsV1(e *corev1.Event) *eventsv1.Event {
	if e == nil {
		return nil
	}
	out := &eventsv1.Event{
		TypeMeta:                 metav1.TypeMeta{APIVersion: eventsv1.SchemeGroupVersion.String(), Kind: "Event"},
		EventTime:                e.EventTime,
		ReportingController:      e.ReportingController,
		ReportingInstance:        e.ReportingInstance,
		Action:                   e.Action,
		Reason:                   e.Reason,
		Regarding:                e.InvolvedObject,
		Note:                     e.Message,
		Type:                     e.Type,
		DeprecatedSource:         e.Source,
		DeprecatedFirstTimestamp: e.FirstTimestamp,
		DeprecatedLastTimestamp:  e.LastTimestamp,
		DeprecatedCount:          e.Count,
	}
	// ObjectMeta holds maps and slices; copy them so the caller may mutate
	// the result without touching a cached input.
	e.ObjectMeta.DeepCopyInto(&out.ObjectMeta)
	if e.Series != nil {
		out.Series = &eventsv1.EventSeries{
			Count:            e.Series.Count,
			LastObservedTime: e.Series.LastObservedTime,
		}
	}
	if e.Related != nil {
		out.Related = e.Related.DeepCopy()
	}
	return out
}

// FromEventsV1 returns e in its core v1 shape. A nil input yields nil.
func FromEventsV1(e *eventsv1.Event) *corev1.Event {
	if e == nil {
		return nil
	}
	out := &corev1.Event{
		TypeMeta:            metav1.TypeMeta{APIVersion: corev1.SchemeGroupVersion.String(), Kind: "Event"},
		InvolvedObject:      e.Regarding,
		Reason:              e.Reason,
		Message:             e.Note,
		Source:              e.DeprecatedSource,
		FirstTimestamp:      e.DeprecatedFirstTimestamp,
		LastTimestamp:       e.DeprecatedLastTimestamp,
		Count:               e.DeprecatedCount,
		Type:                e.Type,
		EventTime:           e.EventTime,
		Action:              e.Action,
		ReportingController: e.ReportingController,
		ReportingInstance:   e.ReportingInstance,
	}
	// ObjectMeta holds maps and slices; copy them so the caller may mutate
	// the result without touching a cached input.
	e.ObjectMeta.DeepCopyInto(&out.ObjectMeta)
	if e.Series != nil {
		out.Series = &corev1.EventSeries{
			Count:            e.Series.Count,
			LastObservedTime: e.Series.LastObservedTime,
		}
	}
	if e.Related != nil {
		out.Related = e.Related.DeepCopy()
	}
	return out
}
