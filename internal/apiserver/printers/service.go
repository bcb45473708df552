package printers

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
)

// Services, ServiceAccounts and ConfigMaps, as upstream prints them.

func serviceColumns() []metav1.TableColumnDefinition {
	spec := corev1.ServiceSpec{}.SwaggerDoc()
	return []metav1.TableColumnDefinition{
		nameColumn(),
		{Name: "Type", Type: "string", Description: spec["type"]},
		{Name: "Cluster-IP", Type: "string", Description: spec["clusterIP"]},
		{Name: "External-IP", Type: "string", Description: spec["externalIPs"]},
		{Name: "Port(s)", Type: "string", Description: spec["ports"]},
		ageColumn(),
		{Name: "Selector", Type: "string", Priority: 1, Description: spec["selector"]},
	}
}

func serviceRow(obj runtime.Object, now time.Time) (metav1.TableRow, error) {
	svc, ok := obj.(*corev1.Service)
	if !ok {
		return metav1.TableRow{}, wrongType(obj, "Service")
	}
	clusterIP := svc.Spec.ClusterIP
	if clusterIP == "" {
		clusterIP = "<none>"
	}
	external := "<none>"
	switch {
	case len(svc.Spec.ExternalIPs) > 0:
		external = strings.Join(svc.Spec.ExternalIPs, ",")
	case svc.Spec.Type == corev1.ServiceTypeLoadBalancer:
		external = "<pending>"
	case svc.Spec.Type == corev1.ServiceTypeExternalName:
		external = svc.Spec.ExternalName
	}
	var ports []string
	for _, p := range svc.Spec.Ports {
		s := fmt.Sprintf("%d/%s", p.Port, p.Protocol)
		if p.NodePort != 0 {
			s = fmt.Sprintf("%d:%d/%s", p.Port, p.NodePort, p.Protocol)
		}
		ports = append(ports, s)
	}
	portCell := strings.Join(ports, ",")
	if portCell == "" {
		portCell = "<none>"
	}
	selector := "<none>"
	if len(svc.Spec.Selector) > 0 {
		selector = labels.FormatLabels(svc.Spec.Selector)
	}
	return metav1.TableRow{Cells: []any{svc.Name, string(svc.Spec.Type), clusterIP, external, portCell, since(svc.CreationTimestamp, now), selector}}, nil
}

func serviceAccountColumns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		nameColumn(),
		{Name: "Secrets", Type: "string", Description: corev1.ServiceAccount{}.SwaggerDoc()["secrets"]},
		ageColumn(),
	}
}

func serviceAccountRow(obj runtime.Object, now time.Time) (metav1.TableRow, error) {
	sa, ok := obj.(*corev1.ServiceAccount)
	if !ok {
		return metav1.TableRow{}, wrongType(obj, "ServiceAccount")
	}
	return metav1.TableRow{Cells: []any{sa.Name, int64(len(sa.Secrets)), since(sa.CreationTimestamp, now)}}, nil
}

func configMapColumns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		nameColumn(),
		{Name: "Data", Type: "string", Description: corev1.ConfigMap{}.SwaggerDoc()["data"]},
		ageColumn(),
	}
}

func configMapRow(obj runtime.Object, now time.Time) (metav1.TableRow, error) {
	cm, ok := obj.(*corev1.ConfigMap)
	if !ok {
		return metav1.TableRow{}, wrongType(obj, "ConfigMap")
	}
	return metav1.TableRow{Cells: []any{cm.Name, int64(len(cm.Data) + len(cm.BinaryData)), since(cm.CreationTimestamp, now)}}, nil
}
