package eventconv

import (
	"reflect"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var (
	t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	t1 = t0.Add(time.Minute)
	t2 = t0.Add(2 * time.Minute)
)

func meta() metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name:              "ds1.17f0a",
		Namespace:         "kube-system",
		UID:               "8b3c1f4e-0000-4000-8000-000000000001",
		ResourceVersion:   "42",
		Generation:        1,
		CreationTimestamp: metav1.NewTime(t0),
		Labels:            map[string]string{"a": "b"},
		Annotations:       map[string]string{"c": "d"},
	}
}

func regarding() corev1.ObjectReference {
	return corev1.ObjectReference{
		Kind: "Pod", Namespace: "kube-system", Name: "ds1-abcde", UID: "u1",
		APIVersion: "v1", ResourceVersion: "7", FieldPath: "spec.containers{app}",
	}
}

func related() *corev1.ObjectReference {
	return &corev1.ObjectReference{Kind: "Node", Name: "node-1", APIVersion: "v1", UID: "u2"}
}

// fullCore and fullEvents are the same event in both shapes, every field set.
func fullCore() *corev1.Event {
	return &corev1.Event{
		TypeMeta:            metav1.TypeMeta{APIVersion: "v1", Kind: "Event"},
		ObjectMeta:          meta(),
		InvolvedObject:      regarding(),
		Reason:              "FailedDaemonPod",
		Message:             "Found failed daemon pod kube-system/ds1-abcde on node node-1, will try to kill it",
		Source:              corev1.EventSource{Component: "daemonset-controller", Host: "ctl-1"},
		FirstTimestamp:      metav1.NewTime(t0),
		LastTimestamp:       metav1.NewTime(t1),
		Count:               3,
		Type:                corev1.EventTypeWarning,
		EventTime:           metav1.NewMicroTime(t0.Add(123 * time.Microsecond)),
		Series:              &corev1.EventSeries{Count: 4, LastObservedTime: metav1.NewMicroTime(t2)},
		Action:              "Delete",
		Related:             related(),
		ReportingController: "everynode.io/daemonset-controller",
		ReportingInstance:   "everynode-ctl-1",
	}
}

func fullEvents() *eventsv1.Event {
	return &eventsv1.Event{
		TypeMeta:                 metav1.TypeMeta{APIVersion: "events.k8s.io/v1", Kind: "Event"},
		ObjectMeta:               meta(),
		EventTime:                metav1.NewMicroTime(t0.Add(123 * time.Microsecond)),
		Series:                   &eventsv1.EventSeries{Count: 4, LastObservedTime: metav1.NewMicroTime(t2)},
		ReportingController:      "everynode.io/daemonset-controller",
		ReportingInstance:        "everynode-ctl-1",
		Action:                   "Delete",
		Reason:                   "FailedDaemonPod",
		Regarding:                regarding(),
		Related:                  related(),
		Note:                     "Found failed daemon pod kube-system/ds1-abcde on node node-1, will try to kill it",
		Type:                     corev1.EventTypeWarning,
		DeprecatedSource:         corev1.EventSource{Component: "daemonset-controller", Host: "ctl-1"},
		DeprecatedFirstTimestamp: metav1.NewTime(t0),
		DeprecatedLastTimestamp:  metav1.NewTime(t1),
		DeprecatedCount:          3,
	}
}

// TestFixturesFullyPopulated guards the round-trip tests: if k8s.io/api grows
// a new Event field, the fixtures (and the conversion) must learn it.
func TestFixturesFullyPopulated(t *testing.T) {
	for name, obj := range map[string]any{"core": fullCore(), "events": fullEvents()} {
		v := reflect.ValueOf(obj).Elem()
		for i := 0; i < v.NumField(); i++ {
			if v.Field(i).IsZero() {
				t.Errorf("%s fixture: field %s is zero; populate it and map it", name, v.Type().Field(i).Name)
			}
		}
	}
}

func TestToEventsV1(t *testing.T) {
	cases := []struct {
		name string
		in   *corev1.Event
		want *eventsv1.Event
	}{
		{name: "nil", in: nil, want: nil},
		{name: "fully populated", in: fullCore(), want: fullEvents()},
		{
			name: "singleton event without series or related",
			in: &corev1.Event{
				ObjectMeta:     metav1.ObjectMeta{Name: "e", Namespace: "default"},
				InvolvedObject: corev1.ObjectReference{Kind: "DaemonSet", Name: "ds1"},
				Reason:         "SuccessfulCreate",
				Message:        "Created pod: ds1-x",
				Type:           corev1.EventTypeNormal,
			},
			want: &eventsv1.Event{
				TypeMeta:   metav1.TypeMeta{APIVersion: "events.k8s.io/v1", Kind: "Event"},
				ObjectMeta: metav1.ObjectMeta{Name: "e", Namespace: "default"},
				Regarding:  corev1.ObjectReference{Kind: "DaemonSet", Name: "ds1"},
				Reason:     "SuccessfulCreate",
				Note:       "Created pod: ds1-x",
				Type:       corev1.EventTypeNormal,
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, ToEventsV1(tc.in)); diff != "" {
				t.Errorf("ToEventsV1(%s) mismatch (-want +got):\n%s", tc.name, diff)
			}
		})
	}
}

func TestFromEventsV1(t *testing.T) {
	cases := []struct {
		name string
		in   *eventsv1.Event
		want *corev1.Event
	}{
		{name: "nil", in: nil, want: nil},
		{name: "fully populated", in: fullEvents(), want: fullCore()},
		{
			name: "new-style event with series and no deprecated fields",
			in: &eventsv1.Event{
				ObjectMeta:          metav1.ObjectMeta{Name: "e", Namespace: "default"},
				EventTime:           metav1.NewMicroTime(t0),
				Series:              &eventsv1.EventSeries{Count: 2, LastObservedTime: metav1.NewMicroTime(t1)},
				ReportingController: "c",
				ReportingInstance:   "i",
				Action:              "Evict",
				Reason:              "TaintManagerEviction",
				Regarding:           corev1.ObjectReference{Kind: "Pod", Name: "p"},
				Note:                "Marking for deletion",
				Type:                corev1.EventTypeNormal,
			},
			want: &corev1.Event{
				TypeMeta:            metav1.TypeMeta{APIVersion: "v1", Kind: "Event"},
				ObjectMeta:          metav1.ObjectMeta{Name: "e", Namespace: "default"},
				EventTime:           metav1.NewMicroTime(t0),
				Series:              &corev1.EventSeries{Count: 2, LastObservedTime: metav1.NewMicroTime(t1)},
				ReportingController: "c",
				ReportingInstance:   "i",
				Action:              "Evict",
				Reason:              "TaintManagerEviction",
				InvolvedObject:      corev1.ObjectReference{Kind: "Pod", Name: "p"},
				Message:             "Marking for deletion",
				Type:                corev1.EventTypeNormal,
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, FromEventsV1(tc.in)); diff != "" {
				t.Errorf("FromEventsV1(%s) mismatch (-want +got):\n%s", tc.name, diff)
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	cores := map[string]*corev1.Event{
		"fully populated": fullCore(),
		"minimal":         {TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Event"}, ObjectMeta: metav1.ObjectMeta{Name: "e"}},
	}
	for name, in := range cores {
		t.Run("core->events->core "+name, func(t *testing.T) {
			if diff := cmp.Diff(in, FromEventsV1(ToEventsV1(in))); diff != "" {
				t.Errorf("round trip mismatch (-want +got):\n%s", diff)
			}
		})
	}
	events := map[string]*eventsv1.Event{
		"fully populated": fullEvents(),
		"minimal":         {TypeMeta: metav1.TypeMeta{APIVersion: "events.k8s.io/v1", Kind: "Event"}, ObjectMeta: metav1.ObjectMeta{Name: "e"}},
	}
	for name, in := range events {
		t.Run("events->core->events "+name, func(t *testing.T) {
			if diff := cmp.Diff(in, ToEventsV1(FromEventsV1(in))); diff != "" {
				t.Errorf("round trip mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestNoAliasing checks that a converted event can be mutated without
// changing its source, which may live in a shared cache.
func TestNoAliasing(t *testing.T) {
	core := fullCore()
	ev := ToEventsV1(core)
	ev.Labels["a"] = "changed"
	ev.Annotations["c"] = "changed"
	ev.Series.Count = 99
	ev.Related.Name = "changed"
	if diff := cmp.Diff(fullCore(), core); diff != "" {
		t.Errorf("ToEventsV1 output aliases its input (-want +got):\n%s", diff)
	}

	events := fullEvents()
	back := FromEventsV1(events)
	back.Labels["a"] = "changed"
	back.Annotations["c"] = "changed"
	back.Series.Count = 99
	back.Related.Name = "changed"
	if diff := cmp.Diff(fullEvents(), events); diff != "" {
		t.Errorf("FromEventsV1 output aliases its input (-want +got):\n%s", diff)
	}
}
