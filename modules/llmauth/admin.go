package llmauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/llmguard/caddy-llmguard/llmguard/auth"
	"github.com/llmguard/caddy-llmguard/llmguard/keyadmin"
	"github.com/llmguard/caddy-llmguard/llmguard/secevent"
	"github.com/llmguard/caddy-llmguard/modules/llmhttp"
)

func init() {
	caddy.RegisterModule(KeyAdmin{})
}

// maxAdminBody bounds an admin request body; a key's attributes are a few hundred bytes.
const maxAdminBody = 64 << 10

// KeyAdmin is the admin.api.llm_keys module: it manages the keys in the key files of the
// loaded llm_auth api_keys sources over Caddy's admin endpoint, so it inherits that
// endpoint's listener, origin checks and remote-admin mTLS. Caddy loads every admin.api.*
// module it knows, so it needs no configuration; keep the admin endpoint private.
//
//	GET    /llm_keys                 list keys (never hashes or secrets)
//	POST   /llm_keys                 create: {"id", …attributes}; answers 201 with the secret once as "key"
//	GET    /llm_keys/{id}            show one key
//	PATCH  /llm_keys/{id}            update name, roles, scopes, models, tier, expires, metadata,
//	                                 allowed_networks, allowed_countries, disabled (null clears one)
//	DELETE /llm_keys/{id}            revoke (the record stays, disabled)
//	POST   /llm_keys/{id}/rotate     new secret, same id: {"grace": "24h"} keeps the old one that long
//
// Every change is written atomically and every llm_auth store on that file is reloaded
// before the answer, so a created key works and a revoked key is refused at once on this
// instance (other instances sharing the file see it on their next poll). With a shared
// key store (api_keys store redis), the change goes to Redis and reaches every instance
// within its poll interval; while Redis cannot be reached, changes fail with 503. When
// several key files or stores are in use, ?file=<path or store name> chooses one. POST and PATCH must send Content-Type
// application/json, which a cross-site HTML form cannot. Errors are Caddy's admin error
// shape, {"error": "<message>"}, with 400, 404, 405, 409, 413, 415, 500 or 503.
type KeyAdmin struct {
	logger *zap.Logger
}

// actions maps the logged action to its security event.
var actions = map[string]secevent.Kind{"created": secevent.KeyCreated, "updated": secevent.KeyUpdated,
	"rotated": secevent.KeyRotated, "revoked": secevent.KeyRevoked}

// CaddyModule returns the Caddy module information.
func (KeyAdmin) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "admin.api.llm_keys", New: func() caddy.Module { return new(KeyAdmin) }}
}

// Provision takes the security event logger from the loading configuration, so its
// `log` blocks (which caddy.Log() would bypass) route the key-administration events.
func (a *KeyAdmin) Provision(ctx caddy.Context) error {
	a.logger = llmhttp.SecurityLogger(ctx)
	return nil
}

// Routes implements caddy.AdminRouter.
func (a *KeyAdmin) Routes() []caddy.AdminRoute {
	h := caddy.AdminHandlerFunc(a.serve)
	return []caddy.AdminRoute{{Pattern: "/llm_keys", Handler: h}, {Pattern: "/llm_keys/", Handler: h}}
}

func apiError(status int, format string, args ...any) error {
	return caddy.APIError{HTTPStatus: status, Err: fmt.Errorf(format, args...)}
}

func (a *KeyAdmin) serve(w http.ResponseWriter, r *http.Request) error {
	rest := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/llm_keys"), "/")
	id, action, _ := strings.Cut(rest, "/")
	if id != "" {
		if err := auth.CheckKeyID(id); err != nil {
			return apiError(http.StatusBadRequest, "%v", err)
		}
	}
	if action != "" && action != "rotate" {
		return apiError(http.StatusNotFound, "unknown key action %q; the only one is rotate", action)
	}
	f, name, err := a.file(r)
	if err != nil {
		return err
	}
	var body []byte
	if r.Method == http.MethodPost || r.Method == http.MethodPatch {
		if body, err = readBody(r); err != nil {
			return err
		}
	}
	switch {
	case id == "" && r.Method == http.MethodGet:
		keys, err := f.List()
		if err != nil {
			return fileError(err)
		}
		return writeJSON(w, http.StatusOK, map[string]any{"file": name, "keys": keys})
	case id == "" && r.Method == http.MethodPost:
		spec, err := keyadmin.ParseSpec(body)
		if err != nil {
			return fileError(err)
		}
		iss, err := f.Create(spec)
		if err != nil {
			return fileError(err)
		}
		a.logAction(r, "created", spec.ID, name)
		return writeJSON(w, http.StatusCreated, iss)
	case id == "":
		return notAllowed(w, "GET, POST")
	case action == "rotate" && r.Method == http.MethodPost:
		grace, err := keyadmin.ParseGrace(body)
		if err != nil {
			return fileError(err)
		}
		iss, err := f.Rotate(id, grace)
		if err != nil {
			return fileError(err)
		}
		a.logAction(r, "rotated", id, name, zap.String("llmguard.key.grace", grace.String()))
		return writeJSON(w, http.StatusOK, iss)
	case action == "rotate":
		return notAllowed(w, "POST")
	case r.Method == http.MethodGet:
		v, err := f.Get(id)
		if err != nil {
			return fileError(err)
		}
		return writeJSON(w, http.StatusOK, v)
	case r.Method == http.MethodPatch:
		p, err := keyadmin.ParsePatch(body)
		if err != nil {
			return fileError(err)
		}
		v, err := f.Update(id, p)
		if err != nil {
			return fileError(err)
		}
		a.logAction(r, "updated", id, name)
		return writeJSON(w, http.StatusOK, v)
	case r.Method == http.MethodDelete:
		v, err := f.Revoke(id)
		if err != nil {
			return fileError(err)
		}
		a.logAction(r, "revoked", id, name)
		return writeJSON(w, http.StatusOK, v)
	}
	return notAllowed(w, "GET, PATCH, DELETE")
}

// file picks the key set (key file or shared store) the request is about, and its name.
func (*KeyAdmin) file(r *http.Request) (keySet, string, error) {
	names := usedKeySets()
	want := r.URL.Query().Get("file")
	switch {
	case want != "":
		if f := adminSet(want); f != nil {
			return f, want, nil
		}
		if f := adminSet(canonicalPath(want)); f != nil {
			return f, canonicalPath(want), nil
		}
		return nil, "", apiError(http.StatusNotFound, "no loaded llm_auth api_keys source uses the key file or store %q; in use: %s", want, strings.Join(names, ", "))
	case len(names) == 0:
		return nil, "", apiError(http.StatusNotFound, "no loaded llm_auth api_keys source has a key file or shared store; keys configured inline are changed in the configuration")
	case len(names) > 1:
		return nil, "", apiError(http.StatusBadRequest, "several key files or stores are in use (%s); choose one with ?file=<path or name>", strings.Join(names, ", "))
	}
	if f := adminSet(names[0]); f != nil {
		return f, names[0], nil
	}
	return nil, "", apiError(http.StatusNotFound, "the key file was unloaded; retry")
}

func readBody(r *http.Request) ([]byte, error) {
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/json" {
		return nil, apiError(http.StatusUnsupportedMediaType, "send the body as Content-Type: application/json")
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxAdminBody))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, apiError(http.StatusRequestEntityTooLarge, "the body is larger than %d bytes", maxAdminBody)
	}
	if err != nil {
		return nil, apiError(http.StatusBadRequest, "reading the body: %v", err)
	}
	return body, nil
}

// fileError maps keyadmin errors to statuses.
func fileError(err error) error {
	var inv *keyadmin.InvalidError
	switch {
	case errors.As(err, &inv):
		return caddy.APIError{HTTPStatus: http.StatusBadRequest, Err: err}
	case errors.Is(err, keyadmin.ErrNotFound):
		return caddy.APIError{HTTPStatus: http.StatusNotFound, Err: err}
	case errors.Is(err, keyadmin.ErrExists), errors.Is(err, keyadmin.ErrRevoked):
		return caddy.APIError{HTTPStatus: http.StatusConflict, Err: err}
	case errors.Is(err, keyadmin.ErrUnavailable):
		return caddy.APIError{HTTPStatus: http.StatusServiceUnavailable, Err: err}
	}
	return caddy.APIError{HTTPStatus: http.StatusInternalServerError, Err: err}
}

func notAllowed(w http.ResponseWriter, allow string) error {
	w.Header().Set("Allow", allow)
	return apiError(http.StatusMethodNotAllowed, "method not allowed; use %s", allow)
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	// The answer may hold a new secret: no cache may keep it.
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

// logAction emits the security event of an admin change: who (the admin endpoint's peer
// address and, with remote admin, its client certificate subject) changed which key in
// which file — never the secret or hash.
func (a *KeyAdmin) logAction(r *http.Request, action, id, path string, extra ...zap.Field) {
	fields := append([]zap.Field{zap.String("llmguard.key.id", id), zap.String("file.path", path),
		zap.String("source.address", r.RemoteAddr)}, extra...)
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		fields = append(fields, zap.String("tls.client.subject", r.TLS.PeerCertificates[0].Subject.String()))
	}
	secevent.Emit(a.logger, actions[action], "success", fields...)
}

// Interface guards
var (
	_ caddy.AdminRouter = (*KeyAdmin)(nil)
	_ caddy.Provisioner = (*KeyAdmin)(nil)
)
