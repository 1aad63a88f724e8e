package llmprices

import (
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/modules/standard"
)

// TestGlobalOptionErrors checks that a wrong llm_prices block is refused at adapt time
// with a message naming the problem (the golden test pins the accepted syntax).
func TestGlobalOptionErrors(t *testing.T) {
	for body, want := range map[string]string{
		"price m 1 2":                      "price needs <model> <input> <cached_input> <output>",
		"price m 1 x 2":                    "price of m",
		"price m -1 0 0":                   "price of m",
		"price m 1 0 1\n\t\tprice m 2 0 2": "duplicate price for model 'm'",
		"no_default_prices yes":            "wrong argument count",
		"prize m 1 0 1":                    "unrecognized llm_prices option 'prize'",
	} {
		src := "{\n\tllm_prices {\n\t\t" + body + "\n\t}\n}\n:8080 {\n\trespond ok\n}\n"
		_, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(src), nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", body, err, want)
		}
	}
	src := "{\n\tllm_prices\n\tllm_prices\n}\n:8080 {\n\trespond ok\n}\n"
	if _, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(src), nil); err == nil {
		t.Error("llm_prices twice accepted")
	}
}
