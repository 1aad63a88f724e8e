package auth

import (
	"fmt"
	"slices"
	"strings"

	"github.com/llmguard/caddy-llmguard/llmguard/exchange"
	"github.com/llmguard/caddy-llmguard/llmguard/glob"
	"github.com/llmguard/caddy-llmguard/llmguard/request"
)

// ScopePrefix marks the scopes that restrict endpoints: "llm:chat", "llm:completions",
// "llm:embeddings", "llm:responses", "llm:messages", "llm:models", and "llm:*" for all.
// An identity that carries at least one llm: scope may use only the endpoints its llm:
// scopes name (on top of what its roles allow); an identity with no llm: scope is not
// restricted by scopes, because identity providers put unrelated scopes ("openid",
// "profile") into tokens and keys often carry none.
const ScopePrefix = "llm:"

// Role is a named set of permissions.
type Role struct {
	// Endpoints the role may call, by name (chat, completions, embeddings, responses,
	// messages, models). Empty means all.
	Endpoints []string `json:"endpoints,omitempty"`
	// Models the role may use, as glob patterns ("*" any run of characters including "/",
	// "?" one character). Empty means all.
	Models []string `json:"models,omitempty"`
	// Tier is the tier the role confers when the identity has none of its own.
	Tier string `json:"tier,omitempty"`
}

// Policy maps role names to roles. The zero value (no roles) lets every authenticated
// identity use every endpoint and model, narrowed only by the identity's own models and
// scopes.
type Policy struct {
	Roles map[string]*Role
	// DefaultRoles are given to identities that carry no role at all.
	DefaultRoles []string
}

// Validate checks endpoint names, glob syntax and that default roles exist.
func (p *Policy) Validate() error {
	for name, r := range p.Roles {
		if r == nil {
			return fmt.Errorf("role %q: empty definition", name)
		}
		for _, e := range r.Endpoints {
			if _, ok := request.ParseKind(e); !ok {
				return fmt.Errorf("role %q: unknown endpoint %q (want chat, completions, embeddings, responses, messages or models)", name, e)
			}
		}
		for _, m := range r.Models {
			if err := glob.Valid(m); err != nil {
				return fmt.Errorf("role %q: %v", name, err)
			}
		}
	}
	for _, d := range p.DefaultRoles {
		if _, ok := p.Roles[d]; !ok {
			return fmt.Errorf("default role %q is not defined", d)
		}
	}
	return nil
}

// Grant is what an identity may do, after merging its roles.
type Grant struct {
	// AllEndpoints or Endpoints lists allowed endpoints.
	AllEndpoints bool
	Endpoints    []request.Kind
	// ModelSets all have to admit a model: the roles' union (nil = any) and the
	// identity's own list (nil = any).
	RoleModels     []string
	AnyRoleModel   bool
	IdentityModels []string
	// ScopeEndpoints, when non-nil, further restricts endpoints (see ScopePrefix).
	ScopeEndpoints []request.Kind
	ScopeAll       bool
	// Tier is the identity's tier, or the first tier among its roles.
	Tier string
	// Roles are the identity's roles that are defined in the policy.
	Roles []string
}

// Resolve merges the identity's roles into a Grant. It fails if the policy defines roles
// and none of the identity's (or the default) roles exists: an identity the admin never
// gave a role is refused rather than given everything.
func (p *Policy) Resolve(id *exchange.Identity) (*Grant, error) {
	g := &Grant{Tier: id.Tier, IdentityModels: id.Models}
	if len(p.Roles) == 0 {
		g.AllEndpoints, g.AnyRoleModel = true, true
		g.Roles = id.Roles
	} else {
		names := id.Roles
		if len(names) == 0 {
			names = p.DefaultRoles
		}
		for _, n := range names {
			r, ok := p.Roles[n]
			if !ok {
				continue
			}
			g.Roles = append(g.Roles, n)
			if len(r.Endpoints) == 0 {
				g.AllEndpoints = true
			}
			for _, e := range r.Endpoints {
				k, _ := request.ParseKind(e)
				if !slices.Contains(g.Endpoints, k) {
					g.Endpoints = append(g.Endpoints, k)
				}
			}
			if len(r.Models) == 0 {
				g.AnyRoleModel = true
			}
			g.RoleModels = append(g.RoleModels, r.Models...)
			if g.Tier == "" {
				g.Tier = r.Tier
			}
		}
		if len(g.Roles) == 0 {
			return nil, fmt.Errorf("no role of this identity grants access to the gateway")
		}
	}
	for _, s := range id.Scopes {
		name, ok := strings.CutPrefix(s, ScopePrefix)
		if !ok {
			continue
		}
		if g.ScopeEndpoints == nil {
			g.ScopeEndpoints = []request.Kind{}
		}
		if name == "*" {
			g.ScopeAll = true
		} else if k, ok := request.ParseKind(name); ok {
			g.ScopeEndpoints = append(g.ScopeEndpoints, k)
		}
	}
	return g, nil
}

// AllowsEndpoint reports whether the grant covers endpoint k.
func (g *Grant) AllowsEndpoint(k request.Kind) bool {
	if !g.AllEndpoints && !slices.Contains(g.Endpoints, k) {
		return false
	}
	if g.ScopeEndpoints != nil && !g.ScopeAll && !slices.Contains(g.ScopeEndpoints, k) {
		return false
	}
	return true
}

// AllowsModel reports whether the grant covers model.
func (g *Grant) AllowsModel(model string) bool {
	if !g.AnyRoleModel && !glob.MatchAny(g.RoleModels, model) {
		return false
	}
	return len(g.IdentityModels) == 0 || glob.MatchAny(g.IdentityModels, model)
}
