package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/llmguard/caddy-llmguard/llmguard/auth"
	"github.com/llmguard/caddy-llmguard/llmguard/geo/geotest"
)

// geoNets is the test's invented map of the world; 100.64.0.0/10 and loopback are in no
// network, so they are "unknown".
var geoNets = map[string][2]string{
	"192.0.2.0/24":     {"DE", "EU"},
	"198.51.100.0/24":  {"US", "NA"},
	"203.0.113.0/24":   {"JP", "AS"},
	"2001:db8:de::/48": {"DE", "EU"},
}

// geoConfig is a gateway whose client address the test sets with X-Forwarded-For (the
// test client is the trusted proxy). Each llm_geo matcher marks its match with a response
// header; / answers the placeholders; /v1/ is llm_geo + llm_auth (a key limited to DE,
// one unlimited) + llm_mock; llm_audit writes its records to auditFile.
func geoConfig(gw int, db, auditFile, deKey, anyKey string) string {
	m := func(name, lists string) string {
		return fmt.Sprintf("\t@%s llm_geo {\n\t\tdb %s\n\t\tpoll_interval 20ms\n\t\t%s\n\t}\n\theader @%s X-Geo-%s match\n", name, db, lists, name, name)
	}
	return fmt.Sprintf(`{
	admin localhost:%d
	servers {
		trusted_proxies static 127.0.0.1/32 ::1
		client_ip_headers X-Forwarded-For
	}
	log default {
		exclude http.handlers.llm_audit
	}
	log audit {
		include http.handlers.llm_audit
		output file %s
		format json
	}
}
http://localhost:%d {
	llm_audit
%s%s%s%s%s%s
	handle /v1/* {
		llm_geo {
			db %s
			poll_interval 20ms
		}
		llm_auth {
			api_keys {
				key de-only %s {
					allowed_countries DE
				}
				key anywhere %s
			}
		}
		llm_mock
	}
	respond "{http.llm.geo.country} {http.llm.geo.continent}" 200
}`, caddytest.Default.AdminPort, auditFile, gw,
		m("allowCountries", "allow_countries DE US"),
		m("denyCountries", "deny_countries JP"),
		m("allowContinents", "allow_continents EU"),
		m("denyContinents", "deny_continents AS NA"),
		m("allowUnknown", "allow_countries DE unknown"),
		m("denyUnknown", "deny_countries unknown"),
		db, auth.HashKey(deKey), auth.HashKey(anyKey))
}

// geoGet asks / from a client address and returns the placeholders' answer and the names
// of the matchers that matched.
func geoGet(t *testing.T, base, from string) (string, []string) {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/", nil)
	if from != "" {
		req.Header.Set("X-Forwarded-For", from)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var matched []string
	for _, name := range []string{"allowCountries", "denyCountries", "allowContinents", "denyContinents", "allowUnknown", "denyUnknown"} {
		if resp.Header.Get("X-Geo-"+name) == "match" {
			matched = append(matched, name)
		}
	}
	return string(b), matched
}

// TestGeo runs llm_geo in a real Caddy on a database the test builds: the matcher's
// country and continent allow and deny lists and its unknown policy, the placeholders,
// the country in the llm_audit record, per-key allowed_countries, and the database
// re-read when its file is replaced, without a reload.
func TestGeo(t *testing.T) {
	dir := t.TempDir()
	db, auditFile := filepath.Join(dir, "geo.mmdb"), filepath.Join(dir, "audit.log")
	geotest.WriteDB(t, db, geoNets)
	deKey, err := auth.NewKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	anyKey, err := auth.NewKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	gw := freePort(t)
	base := fmt.Sprintf("http://localhost:%d", gw)
	start(t, geoConfig(gw, db, auditFile, deKey, anyKey))

	t.Run("matcher lists and the unknown policy", func(t *testing.T) {
		for _, tc := range []struct {
			from, place string
			matched     []string
		}{
			{"192.0.2.7", "DE EU", []string{"allowCountries", "denyCountries", "allowContinents", "denyContinents", "allowUnknown", "denyUnknown"}},
			{"2001:db8:de::9", "DE EU", []string{"allowCountries", "denyCountries", "allowContinents", "denyContinents", "allowUnknown", "denyUnknown"}},
			{"198.51.100.7", "US NA", []string{"allowCountries", "denyCountries", "denyUnknown"}},
			{"203.0.113.7", "JP AS", []string{"denyUnknown"}},
			// Not in the database: an allow list refuses it unless it names unknown, a deny
			// list lets it through unless it names unknown.
			{"100.64.0.1", "unknown unknown", []string{"denyCountries", "denyContinents", "allowUnknown"}},
			{"", "unknown unknown", []string{"denyCountries", "denyContinents", "allowUnknown"}},
		} {
			place, matched := geoGet(t, base, tc.from)
			if place != tc.place || strings.Join(matched, ",") != strings.Join(tc.matched, ",") {
				t.Errorf("from %q: placeholders %q, matched %v; want %q, %v", tc.from, place, matched, tc.place, tc.matched)
			}
		}
	})

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	chat := func(key, from string) error {
		c := openai.NewClient(option.WithBaseURL(base+"/v1/"), option.WithAPIKey(key), option.WithMaxRetries(0))
		_, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "gpt-4o-mini",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}}, option.WithHeader("X-Forwarded-For", from))
		return err
	}

	t.Run("per-key allowed_countries", func(t *testing.T) {
		for _, tc := range []struct {
			name, key, from string
			ok              bool
		}{
			{"DE key from DE", deKey, "192.0.2.8", true},
			{"DE key from DE over IPv6", deKey, "2001:db8:de::8", true},
			{"DE key from US", deKey, "198.51.100.8", false},
			{"DE key from an unknown address", deKey, "100.64.0.8", false},
			{"unlimited key from JP", anyKey, "203.0.113.8", true},
		} {
			err := chat(tc.key, tc.from)
			switch {
			case tc.ok && err != nil:
				t.Errorf("%s: refused: %v", tc.name, err)
			case !tc.ok && (statusOf(err) != 403 || !strings.HasPrefix(openAIMessage(err), "country_not_allowed: ")):
				t.Errorf("%s: want 403 country_not_allowed, got %v", tc.name, err)
			case !tc.ok && (strings.Contains(openAIMessage(err), "US") || strings.Contains(openAIMessage(err), "198.51")):
				t.Errorf("%s: the refusal names the client's country or address: %s", tc.name, openAIMessage(err))
			}
		}
	})

	t.Run("the audit record carries the country", func(t *testing.T) {
		if err := chat(anyKey, "203.0.113.9"); err != nil {
			t.Fatal(err)
		}
		var countries []string
		for _, rec := range auditRecords(t, auditFile) {
			if rec["path"] == "/v1/chat/completions" {
				c, _ := rec["country"].(string)
				countries = append(countries, c)
			}
		}
		// The per-key requests above, then this one, in order: DE DE US unknown JP JP.
		want := "DE DE US unknown JP JP"
		if strings.Join(countries, " ") != want {
			t.Errorf("audit countries %v; want %s", countries, want)
		}
	})

	t.Run("a replaced database is read without a reload", func(t *testing.T) {
		next := map[string][2]string{"192.0.2.0/24": {"FR", "EU"}, "100.64.0.0/10": {"BR", "SA"}}
		geotest.WriteDB(t, db, next)
		// The watcher checks every 20ms; wait for the new answer, never for a fixed time.
		deadline := time.Now().Add(30 * time.Second)
		for {
			if place, _ := geoGet(t, base, "100.64.0.1"); place == "BR SA" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the replaced database was not picked up within 30s")
			}
			time.Sleep(20 * time.Millisecond)
		}
		if place, matched := geoGet(t, base, "192.0.2.7"); place != "FR EU" || strings.Join(matched, ",") != "denyCountries,allowContinents,denyContinents,denyUnknown" {
			t.Errorf("after the update 192.0.2.7 is %q, matched %v", place, matched)
		}
		// 198.51.100.0/24 is gone from the new database: unknown now, so the DE key's
		// limit and the handler placeholder follow the new file too.
		if place, _ := geoGet(t, base, "198.51.100.7"); place != "unknown unknown" {
			t.Errorf("after the update 198.51.100.7 is %q", place)
		}
		if err := chat(deKey, "192.0.2.8"); statusOf(err) != 403 {
			t.Errorf("DE key from a now-French address: %v", err)
		}
	})
}

// auditRecords reads the JSON lines of an audit log file.
func auditRecords(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("audit line %q: %v", sc.Text(), err)
		}
		out = append(out, rec)
	}
	return out
}

// TestGeoDatabaseErrors: a missing or corrupt database fails the config load — the
// admin API's /load refuses it with the path and the reason — and the running config
// stays.
func TestGeoDatabaseErrors(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.mmdb")
	geotest.WriteDB(t, good, geoNets)
	corrupt := filepath.Join(dir, "corrupt.mmdb")
	if err := os.WriteFile(corrupt, []byte(strings.Repeat("not a maxmind database ", 100)), 0o600); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(dir, "truncated.mmdb")
	if err := os.WriteFile(truncated, data[:len(data)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	gw := freePort(t)
	cfg := func(db string) string {
		return fmt.Sprintf("{\n\tadmin localhost:%d\n}\nhttp://localhost:%d {\n\tllm_geo {\n\t\tdb %s\n\t}\n\trespond \"{http.llm.geo.country}\" 200\n}\n", caddytest.Default.AdminPort, gw, db)
	}
	start(t, cfg(good))

	for _, tc := range []struct{ name, db, reason string }{
		{"missing", filepath.Join(dir, "missing.mmdb"), "no such file"},
		{"corrupt", corrupt, "not a MaxMind DB file"},
		{"truncated", truncated, "truncated.mmdb"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Post(fmt.Sprintf("http://localhost:%d/load", caddytest.Default.AdminPort), "text/caddyfile", strings.NewReader(cfg(tc.db)))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			msg := string(b)
			if resp.StatusCode == 200 || !strings.Contains(msg, "loading geo database") || !strings.Contains(msg, tc.reason) {
				t.Fatalf("load answered %d %s; want a refusal naming the geo database and %q", resp.StatusCode, msg, tc.reason)
			}
			// The previous config still serves.
			r, err := http.Get(fmt.Sprintf("http://localhost:%d/", gw))
			if err != nil {
				t.Fatal(err)
			}
			r.Body.Close()
			if r.StatusCode != 200 {
				t.Fatalf("the running config stopped serving: %d", r.StatusCode)
			}
		})
	}
}
