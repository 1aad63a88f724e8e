package integration

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddytest"
)

// TestSharedPriceTable checks that the llm_prices global option is the one price table:
// llm_audit's cost and llm_rate_limit's money budget price a model only it lists, with
// the same result, and its no_default_prices drops the built-in list for both.
func TestSharedPriceTable(t *testing.T) {
	auditLog := filepath.Join(t.TempDir(), "audit.log")
	gw, up := freePort(t), freePort(t)
	config := func(extra string) string {
		return fmt.Sprintf(`{
	admin localhost:%d
	log audit {
		include http.handlers.llm_audit
		output file %s
		format json
	}
	llm_prices {
		# $10000 per 1M tokens: a cent per token, so the cost is easy to check.
		price house-model 10000 0 10000
		%s
	}
}
http://localhost:%d {
	llm_audit
	llm_rate_limit {
		key shared-price-test
		rule shared_price_spend {
			cost_budget 100 day
		}
	}
	reverse_proxy localhost:%d
}
http://localhost:%d {
	llm_mock {
		models house-model gpt-4o-mini
	}
}`, caddytest.Default.AdminPort, auditLog, extra, gw, up, up)
	}
	chat := func(model string) (int, string) {
		body := fmt.Sprintf(`{"model":%q,"max_tokens":20,"messages":[{"role":"user","content":"hi"}]}`, model)
		resp, err := http.Post(fmt.Sprintf("http://localhost:%d/v1/chat/completions", gw), "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct {
			Error struct{ Code string }
		}
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out.Error.Code
	}

	start(t, config(""))
	if code, _ := chat("house-model"); code != 200 {
		t.Fatalf("house-model, priced by llm_prices: status %d", code)
	}
	if code, _ := chat("gpt-4o-mini"); code != 200 {
		t.Fatalf("gpt-4o-mini, priced by the built-in list under llm_prices: status %d", code)
	}

	// The audit event's cost of the house-model call, from the shared table.
	f, err := os.Open(auditLog)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var auditCost float64
	for sc := bufio.NewScanner(f); sc.Scan(); {
		var ev struct {
			Model string
			Cost  float64
			Usage struct{ Input, Output int64 } `json:"usage"`
		}
		if json.Unmarshal(sc.Bytes(), &ev) == nil && ev.Model == "house-model" {
			auditCost = ev.Cost
		}
	}
	if auditCost < 0.01 {
		t.Fatalf("audit cost of house-model %v: want at least one token at a cent", auditCost)
	}

	// The budget charged the same amounts: the house-model call plus the gpt-4o-mini one.
	resp, err := http.Get(fmt.Sprintf("http://localhost:%d/llm_rate_limit/usage?key=shared-price-test", caddytest.Default.AdminPort))
	if err != nil {
		t.Fatal(err)
	}
	var usage struct {
		Usage []struct {
			Rule string
			Used float64
		}
	}
	json.NewDecoder(resp.Body).Decode(&usage)
	resp.Body.Close()
	var charged float64
	for _, u := range usage.Usage {
		if u.Rule == "shared_price_spend" {
			charged = u.Used
		}
	}
	// gpt-4o-mini's few tokens cost a millionth of the house-model call.
	if math.Abs(charged-auditCost) > 1e-3*auditCost {
		t.Fatalf("budget charged $%v, audit priced house-model at $%v: the two tables disagree", charged, auditCost)
	}

	// no_default_prices in llm_prices: only house-model has a price now, and the budget
	// refuses an unpriced model (fail closed).
	start(t, config("no_default_prices"))
	if code, errCode := chat("gpt-4o-mini"); code != 403 || errCode != "model_not_priced" {
		t.Fatalf("gpt-4o-mini without the built-in list: %d %s, want 403 model_not_priced", code, errCode)
	}
	if code, _ := chat("house-model"); code != 200 {
		t.Fatalf("house-model: status %d", code)
	}
}
