// Package caddyllmguard is the target of `xcaddy build --with
// github.com/llmguard/caddy-llmguard`: importing it registers every caddy-llmguard module
// with Caddy. It holds no logic of its own.
package caddyllmguard

import (
	_ "github.com/llmguard/caddy-llmguard/modules/llmalert"
	_ "github.com/llmguard/caddy-llmguard/modules/llmaudit"
	_ "github.com/llmguard/caddy-llmguard/modules/llmauth"
	_ "github.com/llmguard/caddy-llmguard/modules/llmdetect"
	_ "github.com/llmguard/caddy-llmguard/modules/llmerror"
	_ "github.com/llmguard/caddy-llmguard/modules/llmfilter"
	_ "github.com/llmguard/caddy-llmguard/modules/llmgeo"
	_ "github.com/llmguard/caddy-llmguard/modules/llminspect"
	_ "github.com/llmguard/caddy-llmguard/modules/llmmock"
	_ "github.com/llmguard/caddy-llmguard/modules/llmprices"
	_ "github.com/llmguard/caddy-llmguard/modules/llmratelimit"
	_ "github.com/llmguard/caddy-llmguard/modules/llmsentinel"
)
