package auth

import (
	"fmt"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Kubeconfig is what a kubeconfig file says about one cluster and user.
type Kubeconfig struct {
	Server  string
	CAPEM   []byte
	CertPEM []byte
	KeyPEM  []byte
	Token   string
	User    string
}

// WriteKubeconfig writes a kubeconfig with a single context, "everynode".
func WriteKubeconfig(path string, k Kubeconfig) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["everynode"] = &clientcmdapi.Cluster{Server: k.Server, CertificateAuthorityData: k.CAPEM}
	cfg.AuthInfos[k.User] = &clientcmdapi.AuthInfo{ClientCertificateData: k.CertPEM, ClientKeyData: k.KeyPEM, Token: k.Token}
	cfg.Contexts["everynode"] = &clientcmdapi.Context{Cluster: "everynode", AuthInfo: k.User}
	cfg.CurrentContext = "everynode"
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		return fmt.Errorf("encode kubeconfig: %w", err)
	}
	return writeFile(path, data, 0o600)
}
