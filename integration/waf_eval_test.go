//go:build eval

package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"
)

// TestWAFFalsePositivesEval measures the CRS false-positive rate at paranoia levels 1 and
// 2, with and without examples/edge's LLM tuning (the README's table), on benign rows of
// the public prompt sets in ../shared/data/prompt-injection and on our own fixtures, each
// sent as a chat completion body (a system and a user message) through the example's WAF
// in the in-process Caddy. The tuned rate must stay under 0.5%.
//
// It is built to fit CI (it took 15 minutes when it loaded the CRS four times and sent
// every public row three times over, one request at a time):
//   - one Caddy load per tuning measures both levels: the CRS detects at PL2 and blocks at
//     PL1 (CRS v4 sums the scores per level), and a rule of ours after the CRS refuses
//     with 418 what PL2 would have refused (its detection score reaches the threshold).
//     TestWAFFalsePositivesEval checks that shortcut against a real PL2 load on our
//     technical prompts, row by row;
//   - requests go out from four workers;
//   - the public sets are sampled: every publicStride-th benign row (the table says how
//     many); our own sets are sent whole.
func TestWAFFalsePositivesEval(t *testing.T) {
	public, err := filepath.Glob("../../shared/data/prompt-injection/*.jsonl")
	if err != nil || len(public) == 0 {
		t.Fatalf("no prompt sets in ../../shared/data/prompt-injection (%v)", err)
	}
	all := readPrompts(t, public...)
	sets := []struct {
		name    string
		prompts []wafPrompt
	}{
		{fmt.Sprintf("public benign sets (every %dth of %d rows)", publicStride, len(all)), everyNth(all, publicStride)},
		{"everyday (ours)", readPrompts(t, everydayPrompts)},
		{"SQL/shell/HTML/code (ours)", readPrompts(t, technicalPrompts)},
	}
	var onePassPL2 []bool
	for _, untuned := range []bool{true, false} {
		cfg, base := wafConfig(t, untuned, 1)
		start(t, quietWAF(t, bothLevels(t, cfg)))
		for i, set := range sets {
			began := time.Now()
			res := wafVerdicts(t, base, set.prompts)
			var pl1, pl2 int
			for _, v := range res {
				if v.pl1 {
					pl1++
				}
				if v.pl2 {
					pl2++
				}
			}
			n := len(res)
			t.Logf("untuned=%v %s: PL1 %d of %d refused (%.2f%%), PL2 %d (%.2f%%) [%s]", untuned, set.name, pl1, n, pct(pl1, n), pl2, pct(pl2, n), time.Since(began).Round(time.Second))
			if !untuned && (pct(pl1, n) >= 0.5 || pct(pl2, n) >= 0.5) {
				t.Errorf("with the LLM tuning %s is refused at %.2f%% (PL1) / %.2f%% (PL2); want < 0.5%%", set.name, pct(pl1, n), pct(pl2, n))
			}
			if untuned && i == len(sets)-1 {
				for _, v := range res {
					onePassPL2 = append(onePassPL2, v.pl2)
				}
			}
		}
	}

	// The shortcut must give what a real PL2 deployment gives: the untuned CRS blocking at
	// PL2, on the technical prompts (most of which it refuses).
	cfg, base := wafConfig(t, true, 2)
	start(t, quietWAF(t, cfg))
	technical := sets[len(sets)-1].prompts
	for i, v := range wafVerdicts(t, base, technical) {
		if v.pl1 != onePassPL2[i] {
			t.Errorf("%s: refused at a real PL2: %v, in the one-pass PL2 column: %v", technical[i].ID, v.pl1, onePassPL2[i])
		}
	}
}

// publicStride samples the public benign rows (about 4,000): CRS takes tens of
// milliseconds per prompt on a shared 2-core machine.
const publicStride = 5

func pct(n, of int) float64 { return 100 * float64(n) / float64(of) }

func everyNth(ps []wafPrompt, n int) []wafPrompt {
	var out []wafPrompt
	for i := 0; i < len(ps); i += n {
		out = append(out, ps[i])
	}
	return out
}

// bothLevels makes one WAF report both paranoia levels: it detects at PL2 while blocking at
// PL1 (403), and refuses with 418 a request PL1 passed whose PL1+PL2 score reaches the
// threshold, which is exactly what blocking at PL2 refuses.
func bothLevels(t *testing.T, cfg string) string {
	t.Helper()
	const pl1, crs = "tx.blocking_paranoia_level=1", "Include @owasp_crs/*.conf"
	if !strings.Contains(cfg, pl1) || !strings.Contains(cfg, crs) {
		t.Fatalf("examples/edge/Caddyfile: expected %q and %q", pl1, crs)
	}
	cfg = strings.Replace(cfg, pl1, pl1+",setvar:tx.detection_paranoia_level=2", 1)
	return strings.Replace(cfg, crs, crs+"\n"+`SecRule TX:DETECTION_INBOUND_ANOMALY_SCORE "@ge %{tx.inbound_anomaly_score_threshold}" "id:1999,phase:2,deny,status:418,t:none,log,msg:'refused at paranoia level 2'"`, 1)
}

// quietWAF drops the WAF's and the audit's log lines (one or more per request, thousands
// here) from the test output.
func quietWAF(t *testing.T, cfg string) string {
	t.Helper()
	admin := fmt.Sprintf("admin localhost:%d", caddytest.Default.AdminPort)
	if !strings.Contains(cfg, admin) {
		t.Fatalf("no %q in the config", admin)
	}
	return strings.Replace(cfg, admin, admin+"\n\tlog default {\n\t\texclude http.handlers.waf http.handlers.llm_audit\n\t}", 1)
}

// verdict is what the WAF did with one prompt: refused at PL1 (403), and refused at PL2.
type verdict struct{ pl1, pl2 bool }

// wafVerdicts sends each prompt as a chat completion, without a key (llm_auth's 401 shows
// the WAF let it through), from four workers, and returns the verdict for each prompt.
func wafVerdicts(t *testing.T, base string, prompts []wafPrompt) []verdict {
	t.Helper()
	var (
		out  = make([]verdict, len(prompts))
		wg   sync.WaitGroup
		work = make(chan int)
	)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				p := prompts[i]
				b, _ := json.Marshal(map[string]any{"model": "gpt-4o-mini", "messages": []any{
					map[string]any{"role": "system", "content": "You are a helpful assistant."},
					map[string]any{"role": "user", "content": p.Text},
				}})
				status, body, err := postJSON(base+"/v1/chat/completions", b)
				if err != nil {
					t.Errorf("%s: %v", p.ID, err)
					continue
				}
				var v verdict
				switch {
				case wafRefused(status, body):
					v = verdict{pl1: true, pl2: true}
				case status == http.StatusTeapot:
					v = verdict{pl2: true}
				case status != http.StatusUnauthorized:
					t.Errorf("%s: status %d body %.300s; want the WAF's 403 or 418 or llm_auth's 401", p.ID, status, body)
				}
				out[i] = v
			}
		}()
	}
	for i := range prompts {
		work <- i
	}
	close(work)
	wg.Wait()
	return out
}

// postJSON sends a JSON body; unlike wafSend it may run on a worker goroutine (no t.Fatal).
func postJSON(url string, body []byte) (int, string, error) {
	resp, err := http.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}
