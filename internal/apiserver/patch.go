package apiserver

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
)

// servePatch applies a JSON, merge or strategic merge patch to the current
// object and stores the result as an update would.
func (s *Server) servePatch(w http.ResponseWriter, r *http.Request, req request) {
	directive, err := fieldValidation(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	dry, err := dryRun(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	pt := types.PatchType(mt)
	switch pt {
	case types.JSONPatchType, types.MergePatchType, types.StrategicMergePatchType:
	default:
		s.writeError(w, r, apierrors.NewGenericServerResponse(http.StatusUnsupportedMediaType, "patch", req.kind.groupResource(), req.name,
			fmt.Sprintf("the body of the request was in an unknown format - accepted media types include: %s, %s, %s",
				types.JSONPatchType, types.MergePatchType, types.StrategicMergePatchType), 0, false))
		return
	}
	patch, err := readBody(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var warnings []string
	out, err := s.update(r.Context(), req, dry, func(cur runtime.Object) (runtime.Object, error) {
		curJSON, err := json.Marshal(cur)
		if err != nil {
			return nil, apierrors.NewInternalError(err)
		}
		patched, err := s.applyPatch(req.kind, pt, curJSON, patch)
		if err != nil {
			return nil, err
		}
		obj, warns, err := s.decodeAs(req.kind, patched, mediaJSON, directive)
		if err != nil {
			return nil, err
		}
		warnings = warns
		return obj, nil
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	setWarnings(w, warnings)
	s.writeObject(w, r, req.kind, http.StatusOK, out)
}

func (s *Server) applyPatch(k *kind, pt types.PatchType, cur, patch []byte) ([]byte, error) {
	var out []byte
	var err error
	switch pt {
	case types.JSONPatchType:
		var p jsonpatch.Patch
		p, err = jsonpatch.DecodePatch(patch)
		if err != nil {
			return nil, apierrors.NewBadRequest(err.Error())
		}
		out, err = p.Apply(cur)
		if err != nil {
			return nil, apierrors.NewGenericServerResponse(http.StatusUnprocessableEntity, "", k.groupResource(), "", err.Error(), 0, false)
		}
		return out, nil
	case types.MergePatchType:
		out, err = jsonpatch.MergePatch(cur, patch)
	case types.StrategicMergePatchType:
		var schema strategicpatch.LookupPatchMeta
		schema, err = strategicpatch.NewPatchMetaFromStruct(k.newObj())
		if err == nil {
			var patchMap map[string]any
			if err = json.Unmarshal(patch, &patchMap); err != nil {
				return nil, apierrors.NewBadRequest(fmt.Sprintf("error decoding patch: %v", err))
			}
			var curMap map[string]any
			if err = json.Unmarshal(cur, &curMap); err != nil {
				return nil, apierrors.NewInternalError(err)
			}
			var res map[string]any
			res, err = strategicpatch.StrategicMergeMapPatchUsingLookupPatchMeta(curMap, patchMap, schema)
			if err == nil {
				out, err = json.Marshal(res)
			}
		}
	}
	if err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	return out, nil
}
