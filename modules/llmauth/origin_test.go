package llmauth

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/llmguard/caddy-llmguard/modules/llmhttp"
)

// A genuine key used from outside its allowed networks or countries is refused with 403
// and a clear, API-shaped error; from inside it works. IPv4, IPv6 and IPv4-mapped IPv6.
func TestKeyOriginLimits(t *testing.T) {
	office, geoKey := newKey(t), newKey(t)
	h := newHandler(t, fmt.Sprintf(`llm_auth {
		api_keys {
			key office %s {
				allowed_networks 203.0.113.0/24 2001:db8:aa::/48
			}
			key eu %s {
				allowed_countries DE fr
			}
		}
		throttle off
	}`, hashOf(office), hashOf(geoKey)))
	withClientIP := func(ip string) reqOpt { return func(r *http.Request) { r.RemoteAddr = "[" + ip + "]:5555" } }
	for _, c := range []struct {
		ip   string
		want int
	}{
		{"203.0.113.9", 200},
		{"::ffff:203.0.113.9", 200},
		{"2001:db8:aa:1::2", 200},
		{"198.51.100.1", 403},
		{"::ffff:198.51.100.1", 403},
		{"2001:db8:bb::1", 403},
	} {
		res := serve(t, h, "POST", "/v1/chat/completions", chatBody, "", withHeader("Authorization", "Bearer "+office), withClientIP(c.ip))
		if res.code != c.want {
			t.Errorf("%s: %d %s", c.ip, res.code, res.body)
			continue
		}
		if c.want == 403 {
			if !strings.Contains(res.body, `"code":"network_not_allowed"`) || strings.Contains(res.body, "203.0.113") || strings.Contains(res.body, c.ip) {
				t.Errorf("%s: refusal %s", c.ip, res.body)
			}
			if res.nextSaw != nil {
				t.Errorf("%s: the refused request reached next", c.ip)
			}
		}
	}
	// Countries come from llm_geo's placeholder; none set means unknown, which is refused.
	for country, want := range map[string]int{"DE": 200, "FR": 200, "US": 403, "unknown": 403, "": 403} {
		opts := []reqOpt{withHeader("Authorization", "Bearer "+geoKey)}
		if country != "" {
			opts = append(opts, withPlaceholder(llmhttp.PlaceholderGeoCountry, country))
		}
		res := serve(t, h, "POST", "/v1/chat/completions", chatBody, "", opts...)
		if res.code != want {
			t.Errorf("country %q: %d %s", country, res.code, res.body)
		}
		if want == 403 && !strings.Contains(res.body, `"code":"country_not_allowed"`) {
			t.Errorf("country %q: refusal %s", country, res.body)
		}
	}
}

func TestKeyOriginLimitsRefuseBadConfig(t *testing.T) {
	for _, bad := range []string{"allowed_networks 10.0.0.0/33", "allowed_countries GER"} {
		err := provisionJSON(t, `{"sources":[{"source":"api_keys","keys":[{"id":"k","hash":"`+hashOf(newKey(t))+`",`+
			map[bool]string{true: `"allowed_networks":["10.0.0.0/33"]`, false: `"allowed_countries":["GER"]`}[strings.HasPrefix(bad, "allowed_networks")]+`}]}]}`)
		if err == nil {
			t.Errorf("%s: provisioned", bad)
		}
	}
}
