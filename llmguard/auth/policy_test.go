package auth

import (
	"testing"

	"github.com/llmguard/caddy-llmguard/llmguard/exchange"
	"github.com/llmguard/caddy-llmguard/llmguard/request"
)

func TestPolicyResolve(t *testing.T) {
	p := &Policy{
		Roles: map[string]*Role{
			"chatter":  {Endpoints: []string{"chat", "models"}, Models: []string{"gpt-4o-mini"}, Tier: "free"},
			"embedder": {Endpoints: []string{"embeddings"}, Models: []string{"text-embedding-*"}},
			"admin":    {Tier: "premium"},
		},
		DefaultRoles: []string{"chatter"},
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	// Role merge: union of endpoints and models; the first tier wins.
	g, err := p.Resolve(&exchange.Identity{Roles: []string{"embedder", "chatter", "undefined"}})
	if err != nil {
		t.Fatal(err)
	}
	if !g.AllowsEndpoint(request.KindChat) || !g.AllowsEndpoint(request.KindEmbeddings) || g.AllowsEndpoint(request.KindResponses) {
		t.Errorf("endpoints %+v", g)
	}
	if !g.AllowsModel("gpt-4o-mini") || !g.AllowsModel("text-embedding-3-small") || g.AllowsModel("gpt-4o") {
		t.Errorf("models %+v", g)
	}
	if g.Tier != "free" || len(g.Roles) != 2 {
		t.Errorf("tier %q roles %v", g.Tier, g.Roles)
	}
	// The identity's own models narrow its roles.
	g, _ = p.Resolve(&exchange.Identity{Roles: []string{"admin"}, Models: []string{"claude-*"}, Tier: "gold"})
	if !g.AllowsModel("claude-sonnet-4-5") || g.AllowsModel("gpt-4o") || g.Tier != "gold" || !g.AllowsEndpoint(request.KindMessages) {
		t.Errorf("narrowed %+v", g)
	}
	// Default roles apply only to identities without roles.
	g, _ = p.Resolve(&exchange.Identity{})
	if g.AllowsEndpoint(request.KindEmbeddings) || !g.AllowsEndpoint(request.KindChat) {
		t.Errorf("default %+v", g)
	}
	if _, err := p.Resolve(&exchange.Identity{Roles: []string{"ghost"}}); err == nil {
		t.Error("identity with only undefined roles was granted access")
	}
	// llm: scopes restrict endpoints; other scopes do not.
	g, _ = p.Resolve(&exchange.Identity{Roles: []string{"admin"}, Scopes: []string{"openid", "llm:embeddings"}})
	if g.AllowsEndpoint(request.KindChat) || !g.AllowsEndpoint(request.KindEmbeddings) {
		t.Errorf("scoped %+v", g)
	}
	g, _ = p.Resolve(&exchange.Identity{Roles: []string{"admin"}, Scopes: []string{"openid", "profile"}})
	if !g.AllowsEndpoint(request.KindChat) {
		t.Error("non-llm scopes restricted endpoints")
	}
	g, _ = p.Resolve(&exchange.Identity{Roles: []string{"chatter"}, Scopes: []string{"llm:*"}})
	if !g.AllowsEndpoint(request.KindChat) || g.AllowsEndpoint(request.KindResponses) {
		t.Error("llm:* must not widen roles")
	}
	// Without roles every endpoint and model is allowed, narrowed by the identity.
	open := &Policy{}
	g, _ = open.Resolve(&exchange.Identity{Models: []string{"gpt-*"}})
	if !g.AllowsEndpoint(request.KindResponses) || !g.AllowsModel("gpt-4o") || g.AllowsModel("claude-3") {
		t.Errorf("open %+v", g)
	}
}

func TestPolicyValidate(t *testing.T) {
	for _, p := range []*Policy{
		{Roles: map[string]*Role{"r": {Endpoints: []string{"chats"}}}},
		{Roles: map[string]*Role{"r": {Models: []string{""}}}},
		{Roles: map[string]*Role{"r": nil}},
		{Roles: map[string]*Role{"r": {}}, DefaultRoles: []string{"s"}},
	} {
		if p.Validate() == nil {
			t.Errorf("accepted %+v", p)
		}
	}
}
