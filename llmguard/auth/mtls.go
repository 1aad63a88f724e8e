package auth

import (
	"crypto/x509"
	"fmt"
	"slices"

	"github.com/llmguard/caddy-llmguard/llmguard/glob"
)

// CertIDField names the certificate field that becomes the identity id.
type CertIDField string

// Certificate id fields.
const (
	CertCN       CertIDField = "cn"        // subject common name (default)
	CertSANDNS   CertIDField = "san_dns"   // first DNS subject alternative name
	CertSANEmail CertIDField = "san_email" // first e-mail SAN
	CertSANURI   CertIDField = "san_uri"   // first URI SAN (SPIFFE ids)
)

// CertMapping turns a verified client certificate into an identity.
type CertMapping struct {
	// IDFrom selects the id field; default CertCN.
	IDFrom CertIDField
	// Roles maps glob patterns over the id to roles; every matching pattern contributes.
	Roles map[string][]string
}

// Validate checks the field name and patterns.
func (m CertMapping) Validate() error {
	switch m.IDFrom {
	case "", CertCN, CertSANDNS, CertSANEmail, CertSANURI:
	default:
		return fmt.Errorf("unknown certificate id field %q (want cn, san_dns, san_email or san_uri)", m.IDFrom)
	}
	for p := range m.Roles {
		if err := glob.Valid(p); err != nil {
			return err
		}
	}
	return nil
}

// CertID returns the id the mapping reads from cert, or "" if the field is empty.
func (m CertMapping) CertID(cert *x509.Certificate) string {
	switch m.IDFrom {
	case CertSANDNS:
		if len(cert.DNSNames) > 0 {
			return cert.DNSNames[0]
		}
	case CertSANEmail:
		if len(cert.EmailAddresses) > 0 {
			return cert.EmailAddresses[0]
		}
	case CertSANURI:
		if len(cert.URIs) > 0 {
			return cert.URIs[0].String()
		}
	default:
		return cert.Subject.CommonName
	}
	return ""
}

// RolesFor returns the roles of an id, sorted and without duplicates.
func (m CertMapping) RolesFor(id string) []string {
	var roles []string
	for p, rs := range m.Roles {
		if glob.Match(p, id) {
			roles = append(roles, rs...)
		}
	}
	slices.Sort(roles)
	return slices.Compact(roles)
}
