package validation

import (
	"path"
	"path/filepath"
	"reflect"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

const fileModeErrorMsg = "must be a number between 0 and 0777 (octal), both inclusive"

// volumeSourceOrder is the order in which upstream inspects volume sources, so
// that "may not specify more than 1 volume type" names the same field.
var volumeSourceOrder = []string{
	"emptyDir", "hostPath", "gitRepo", "gcePersistentDisk", "awsElasticBlockStore", "secret", "nfs",
	"iscsi", "glusterfs", "flocker", "persistentVolumeClaim", "rbd", "cinder", "cephfs", "quobyte",
	"downwardAPI", "fc", "flexVolume", "configMap", "azureFile", "vsphereVolume", "photonPersistentDisk",
	"portworxVolume", "azureDisk", "storageos", "projected", "scaleIO", "csi", "ephemeral", "image",
}

var hostPathTypes = sets.New(
	corev1.HostPathUnset, corev1.HostPathDirectoryOrCreate, corev1.HostPathDirectory,
	corev1.HostPathFileOrCreate, corev1.HostPathFile, corev1.HostPathSocket,
	corev1.HostPathCharDev, corev1.HostPathBlockDev)

var volumeDownwardAPIFieldPaths = sets.New(
	"metadata.name", "metadata.namespace", "metadata.labels", "metadata.annotations", "metadata.uid")

// validateVolumes checks pod volumes and returns the names that mounts may
// refer to (only volumes without errors, as upstream does).
func validateVolumes(volumes []corev1.Volume, fldPath *field.Path) (sets.Set[string], field.ErrorList) {
	var errs field.ErrorList
	names := sets.New[string]()
	for i, vol := range volumes {
		idxPath := fldPath.Index(i)
		namePath := idxPath.Child("name")
		el := validateVolumeSource(&vol.VolumeSource, idxPath)
		if vol.Name == "" {
			el = append(el, field.Required(namePath, ""))
		} else {
			el = append(el, dns1123Label(vol.Name, namePath)...)
		}
		if names.Has(vol.Name) {
			el = append(el, field.Duplicate(namePath, vol.Name))
		}
		if len(el) == 0 {
			names.Insert(vol.Name)
		} else {
			errs = append(errs, el...)
		}
	}
	return names, errs
}

// setVolumeSources returns the JSON names of the non-nil sources, in upstream
// inspection order.
func setVolumeSources(source *corev1.VolumeSource) []string {
	set := map[string]bool{}
	v := reflect.ValueOf(source).Elem()
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		name := strings.Split(t.Field(i).Tag.Get("json"), ",")[0]
		if f := v.Field(i); f.Kind() == reflect.Pointer && !f.IsNil() {
			set[name] = true
		}
	}
	var out []string
	for _, name := range volumeSourceOrder {
		if set[name] {
			out = append(out, name)
		}
	}
	return out
}

func validateVolumeSource(source *corev1.VolumeSource, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	sources := setVolumeSources(source)
	if len(sources) == 0 {
		return field.ErrorList{field.Required(fldPath, "must specify a volume type")}
	}
	for _, extra := range sources[1:] {
		errs = append(errs, field.Forbidden(fldPath.Child(extra), "may not specify more than 1 volume type"))
	}
	p := fldPath.Child(sources[0])
	switch sources[0] {
	case "emptyDir":
		if sl := source.EmptyDir.SizeLimit; sl != nil && sl.Cmp(resource.Quantity{}) < 0 {
			errs = append(errs, field.Forbidden(p.Child("sizeLimit"), "SizeLimit field must be a valid resource quantity"))
		}
	case "hostPath":
		errs = append(errs, validateHostPath(source.HostPath, p)...)
	case "secret":
		if source.Secret.SecretName == "" {
			errs = append(errs, field.Required(p.Child("secretName"), ""))
		}
		errs = append(errs, validateFileMode(source.Secret.DefaultMode, p.Child("defaultMode"))...)
		for i := range source.Secret.Items {
			errs = append(errs, validateKeyToPath(&source.Secret.Items[i], p.Child("items").Index(i))...)
		}
	case "configMap":
		if source.ConfigMap.Name == "" {
			errs = append(errs, field.Required(p.Child("name"), ""))
		}
		errs = append(errs, validateFileMode(source.ConfigMap.DefaultMode, p.Child("defaultMode"))...)
		for i := range source.ConfigMap.Items {
			errs = append(errs, validateKeyToPath(&source.ConfigMap.Items[i], p.Child("items").Index(i))...)
		}
	case "downwardAPI":
		errs = append(errs, validateFileMode(source.DownwardAPI.DefaultMode, p.Child("defaultMode"))...)
		for i := range source.DownwardAPI.Items {
			errs = append(errs, validateDownwardAPIFile(&source.DownwardAPI.Items[i], p)...)
		}
	case "projected":
		errs = append(errs, validateFileMode(source.Projected.DefaultMode, p.Child("defaultMode"))...)
		errs = append(errs, validateProjectedSources(source.Projected, p)...)
	case "persistentVolumeClaim":
		if source.PersistentVolumeClaim.ClaimName == "" {
			errs = append(errs, field.Required(p.Child("claimName"), ""))
		}
	case "nfs":
		if source.NFS.Server == "" {
			errs = append(errs, field.Required(p.Child("server"), ""))
		}
		if source.NFS.Path == "" {
			errs = append(errs, field.Required(p.Child("path"), ""))
		}
		if !path.IsAbs(source.NFS.Path) {
			errs = append(errs, field.Invalid(p.Child("path"), source.NFS.Path, "must be an absolute path"))
		}
	case "csi":
		if source.CSI.Driver == "" {
			errs = append(errs, field.Required(p.Child("driver"), ""))
		}
	case "ephemeral":
		if source.Ephemeral.VolumeClaimTemplate == nil {
			errs = append(errs, field.Required(p.Child("volumeClaimTemplate"), ""))
		}
	}
	return errs
}

func validateHostPath(hp *corev1.HostPathVolumeSource, fldPath *field.Path) field.ErrorList {
	if hp.Path == "" {
		return field.ErrorList{field.Required(fldPath.Child("path"), "")}
	}
	errs := validatePathNoBacksteps(hp.Path, fldPath.Child("path"))
	if hp.Type != nil && !hostPathTypes.Has(*hp.Type) {
		errs = append(errs, field.NotSupported(fldPath.Child("type"), *hp.Type, sets.List(hostPathTypes)))
	}
	return errs
}

func validateFileMode(mode *int32, fldPath *field.Path) field.ErrorList {
	if mode != nil && (*mode > 0777 || *mode < 0) {
		return field.ErrorList{field.Invalid(fldPath, *mode, fileModeErrorMsg)}
	}
	return nil
}

func validateKeyToPath(kp *corev1.KeyToPath, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if kp.Key == "" {
		errs = append(errs, field.Required(fldPath.Child("key"), ""))
	}
	if kp.Path == "" {
		errs = append(errs, field.Required(fldPath.Child("path"), ""))
	}
	errs = append(errs, validateLocalNonReservedPath(kp.Path, fldPath.Child("path"))...)
	return append(errs, validateFileMode(kp.Mode, fldPath.Child("mode"))...)
}

func validateDownwardAPIFile(file *corev1.DownwardAPIVolumeFile, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if file.Path == "" {
		errs = append(errs, field.Required(fldPath.Child("path"), ""))
	}
	errs = append(errs, validateLocalNonReservedPath(file.Path, fldPath.Child("path"))...)
	switch {
	case file.FieldRef != nil:
		errs = append(errs, validateObjectFieldSelector(file.FieldRef, volumeDownwardAPIFieldPaths, fldPath.Child("fieldRef"))...)
		if file.ResourceFieldRef != nil {
			errs = append(errs, field.Invalid(fldPath, "resource", "fieldRef and resourceFieldRef can not be specified simultaneously"))
		}
	case file.ResourceFieldRef != nil:
		errs = append(errs, validateResourceFieldSelector(file.ResourceFieldRef, true, fldPath.Child("resourceFieldRef"))...)
	default:
		errs = append(errs, field.Required(fldPath, "one of fieldRef and resourceFieldRef is required"))
	}
	return append(errs, validateFileMode(file.Mode, fldPath.Child("mode"))...)
}

func validateProjectedSources(projection *corev1.ProjectedVolumeSource, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	paths := sets.New[string]()
	addPath := func(p, badValue string) {
		if p == "" {
			return
		}
		if paths.Has(p) {
			errs = append(errs, field.Invalid(fldPath, badValue, "conflicting duplicate paths"))
		}
		paths.Insert(p)
	}
	for i, src := range projection.Sources {
		n := 0
		srcPath := fldPath.Child("sources").Index(i)
		if src.Secret != nil {
			n++
			p := srcPath.Child("secret")
			if src.Secret.Name == "" {
				errs = append(errs, field.Required(p.Child("name"), ""))
			}
			for j := range src.Secret.Items {
				errs = append(errs, validateKeyToPath(&src.Secret.Items[j], p.Child("items").Index(j))...)
				addPath(src.Secret.Items[j].Path, src.Secret.Name)
			}
		}
		if src.ConfigMap != nil {
			n++
			p := srcPath.Child("configMap")
			if src.ConfigMap.Name == "" {
				errs = append(errs, field.Required(p.Child("name"), ""))
			}
			for j := range src.ConfigMap.Items {
				errs = append(errs, validateKeyToPath(&src.ConfigMap.Items[j], p.Child("items").Index(j))...)
				addPath(src.ConfigMap.Items[j].Path, src.ConfigMap.Name)
			}
		}
		if src.DownwardAPI != nil {
			n++
			for j := range src.DownwardAPI.Items {
				errs = append(errs, validateDownwardAPIFile(&src.DownwardAPI.Items[j], srcPath.Child("downwardAPI"))...)
				addPath(src.DownwardAPI.Items[j].Path, src.DownwardAPI.Items[j].Path)
			}
		}
		if sat := src.ServiceAccountToken; sat != nil {
			n++
			p := srcPath.Child("serviceAccountToken")
			if sat.ExpirationSeconds != nil && *sat.ExpirationSeconds < 10*60 {
				errs = append(errs, field.Invalid(p.Child("expirationSeconds"), *sat.ExpirationSeconds, "may not specify a duration less than 10 minutes"))
			}
			if sat.ExpirationSeconds != nil && *sat.ExpirationSeconds > 1<<32 {
				errs = append(errs, field.Invalid(p.Child("expirationSeconds"), *sat.ExpirationSeconds, "may not specify a duration larger than 2^32 seconds"))
			}
			if sat.Path == "" {
				errs = append(errs, field.Required(fldPath.Child("path"), ""))
			} else {
				errs = append(errs, validateLocalNonReservedPath(sat.Path, fldPath.Child("path"))...)
			}
		}
		if src.ClusterTrustBundle != nil {
			n++
		}
		if src.PodCertificate != nil {
			n++
		}
		if n > 1 {
			errs = append(errs, field.Forbidden(srcPath, "may not specify more than 1 volume type"))
		}
	}
	return errs
}

func validatePathNoBacksteps(target string, fldPath *field.Path) field.ErrorList {
	for _, part := range strings.Split(filepath.ToSlash(target), "/") {
		if part == ".." {
			return field.ErrorList{field.Invalid(fldPath, target, "must not contain '..'")}
		}
	}
	return nil
}

func validateLocalDescendingPath(target string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if path.IsAbs(target) {
		errs = append(errs, field.Invalid(fldPath, target, "must be a relative path"))
	}
	return append(errs, validatePathNoBacksteps(target, fldPath)...)
}

func validateLocalNonReservedPath(target string, fldPath *field.Path) field.ErrorList {
	errs := validateLocalDescendingPath(target, fldPath)
	if strings.HasPrefix(target, "..") && !strings.HasPrefix(target, "../") {
		errs = append(errs, field.Invalid(fldPath, target, "must not start with '..'"))
	}
	return errs
}

func dns1123Label(value string, fldPath *field.Path) field.ErrorList {
	return nameErrors(apimachineryvalidation.NameIsDNSLabel(value, false), fldPath, value)
}
