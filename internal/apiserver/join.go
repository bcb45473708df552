package apiserver

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/everynode/everynode/internal/auth"
	"github.com/everynode/everynode/internal/store"
)

// Paths of the join protocol, outside the Kubernetes API.
const (
	// JoinPath exchanges a join token and a certificate request for a node
	// credential.
	JoinPath = "/everynode/v1/join"
	// CAPath serves the cluster CA so an agent can pin it against the hash
	// in its join token.
	CAPath = "/cacerts"
)

// JoinRequest is the body of a join.
type JoinRequest struct {
	NodeName string `json:"nodeName"`
	// CSR is a PEM certificate request; its subject is ignored.
	CSR string `json:"csr"`
}

// JoinResponse carries the node's credential.
type JoinResponse struct {
	Certificate string `json:"certificate"`
	CA          string `json:"ca"`
}

// joinClaimTTL is how long a join's claim on a node name holds when the
// node never registers.
const joinClaimTTL = 10 * time.Minute

// serveJoin issues a node credential for a valid join secret. A name whose
// Node exists, or that another join claimed moments ago, is refused: only
// the credential that registered a node may act for it.
func (s *Server) serveJoin(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		s.writeError(w, r, apierrors.NewMethodNotSupported(schema.GroupResource{Resource: "join"}, r.Method))
		return
	}
	secret, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || s.cfg.Tokens == nil || !s.cfg.Tokens.Valid(strings.TrimSpace(secret)) {
		s.writeError(w, r, apierrors.NewUnauthorized("invalid join token"))
		return
	}
	data, err := readBody(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req JoinRequest
	if err := json.Unmarshal(data, &req); err != nil {
		s.writeError(w, r, apierrors.NewBadRequest(fmt.Sprintf("decode join request: %v", err)))
		return
	}
	if errs := validation.IsDNS1123Subdomain(req.NodeName); len(errs) > 0 {
		s.writeError(w, r, apierrors.NewBadRequest(fmt.Sprintf("invalid node name %q: %s", req.NodeName, strings.Join(errs, "; "))))
		return
	}
	block, _ := pem.Decode([]byte(req.CSR))
	if block == nil {
		s.writeError(w, r, apierrors.NewBadRequest("csr is not PEM"))
		return
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil || csr.CheckSignature() != nil {
		s.writeError(w, r, apierrors.NewBadRequest("csr is not a valid certificate request"))
		return
	}
	nodes := s.storageOf(s.kindFor("", "v1", "nodes"))
	taken := apierrors.NewConflict(schema.GroupResource{Resource: "nodes"}, req.NodeName,
		errors.New("the node is already registered; only its own credential may act for it (delete the Node to let a new agent join with this name)"))
	if _, err := nodes.Get(r.Context(), nodes.Key("", req.NodeName)); err == nil {
		s.writeError(w, r, taken)
		return
	} else if !errors.Is(err, store.ErrNotFound) {
		s.writeError(w, r, err)
		return
	}
	now := s.clock.Now()
	_, claimed, err := s.store.Claim(r.Context(), "nodes/"+req.NodeName, strconv.FormatInt(now.Unix(), 10), func(old string) bool {
		at, err := strconv.ParseInt(old, 10, 64)
		return err != nil || now.Sub(time.Unix(at, 0)) > joinClaimTTL
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if !claimed {
		s.writeError(w, r, taken)
		return
	}
	certPEM, err := s.cfg.CA.SignClient(csr.PublicKey, auth.NodeUserName(req.NodeName), []string{auth.GroupNodes})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, JoinResponse{Certificate: string(certPEM), CA: string(s.cfg.CA.CertPEM)})
}

func (s *Server) serveCA(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/x-pem-file")
	_, _ = w.Write(s.cfg.CA.CertPEM)
}
