package defaults

import (
	"bufio"
	"encoding/json"
	"os"
	"testing"

	"github.com/llmguard/caddy-llmguard/llmguard/detect"
)

// everydayFile is the hand-written everyday gate: ordinary API prompts (short commands,
// personas, translations, code and SQL, documents that contain instructions, support and
// RAG templates, several languages). It is never trained on.
const everydayFile = "../injection/testdata/everyday.jsonl"

func everyday(t *testing.T) []string {
	t.Helper()
	f, err := os.Open(everydayFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var texts []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r struct {
			Text string `json:"text"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		texts = append(texts, r.Text)
	}
	if len(texts) < 300 {
		t.Fatalf("everyday gate has only %d prompts", len(texts))
	}
	return texts
}

// blocked counts the texts the policy would refuse.
func blocked(t *testing.T, p *detect.Policy, texts []string) (n int, which []string) {
	for _, text := range texts {
		for _, f := range p.Set.Detect(text, nil) {
			if p.Action(f) == detect.ActionBlock {
				n++
				which = append(which, text)
				break
			}
		}
	}
	return n, which
}

// sdkFirstExamples are the prompts of the official SDKs' first examples (openai-node,
// openai-go, anthropic-sdk-typescript, anthropic-sdk-go READMEs).
var sdkFirstExamples = []string{
	"Say hello", "Say this is a test", "Hello, Claude", "Write a haiku about recursion in programming.",
	"Are semicolons optional in JavaScript?", "Tell me a joke.",
}

// TestEverydayGate: the default policy blocks at most 0.5% of everyday prompts (today
// none, because injections are logged by default), and none of the SDK first examples.
func TestEverydayGate(t *testing.T) {
	p, err := Config{}.Policy()
	if err != nil {
		t.Fatal(err)
	}
	texts := everyday(t)
	n, which := blocked(t, p, texts)
	if float64(n) > 0.005*float64(len(texts)) {
		t.Errorf("defaults block %d of %d everyday prompts: %q", n, len(texts), which)
	}
	if n, which := blocked(t, p, sdkFirstExamples); n > 0 {
		t.Errorf("defaults block SDK first examples: %q", which)
	}
}

// maxEverydayBlockedWithBlocking is the everyday figure with `action PROMPT_INJECTION
// block` at the default threshold 0.5 (22 of 347 measured with the calibrated score, 6.3%;
// 41 before #12's calibration, when 0.5 was a lower cut): it may only go down. It is why the
// default is log.
const maxEverydayBlockedWithBlocking = 22

// quickstartThreshold is the injection threshold of examples/quickstart and
// examples/sentinel, where blocking is on: the gate's 0.5% must hold there.
const quickstartThreshold = 0.75

// TestEverydayGateWithBlocking measures the same gate with injections blocked, the
// one-line opt-in, and fails if a change raises it. The SDK first examples pass there too.
func TestEverydayGateWithBlocking(t *testing.T) {
	p, err := Config{Actions: map[string]string{"PROMPT_INJECTION": detect.ActionBlock}}.Policy()
	if err != nil {
		t.Fatal(err)
	}
	texts := everyday(t)
	n, _ := blocked(t, p, texts)
	t.Logf("everyday gate with blocking on: %d/%d = %.1f%%", n, len(texts), 100*float64(n)/float64(len(texts)))
	if n > maxEverydayBlockedWithBlocking {
		t.Errorf("blocking on: %d everyday prompts blocked, more than the recorded %d", n, maxEverydayBlockedWithBlocking)
	}
	if n, which := blocked(t, p, sdkFirstExamples); n > 0 {
		t.Errorf("blocking on: SDK first examples blocked: %q", which)
	}
}

// TestEverydayGateAtQuickstartThreshold: with blocking on at the quickstart's threshold the
// everyday gate holds (at most 0.5% blocked).
func TestEverydayGateAtQuickstartThreshold(t *testing.T) {
	p, err := Config{InjectionThreshold: quickstartThreshold, Actions: map[string]string{"PROMPT_INJECTION": detect.ActionBlock}}.Policy()
	if err != nil {
		t.Fatal(err)
	}
	texts := everyday(t)
	n, _ := blocked(t, p, texts)
	t.Logf("everyday gate blocking at %.2f: %d/%d = %.1f%%", quickstartThreshold, n, len(texts), 100*float64(n)/float64(len(texts)))
	if float64(n) > 0.005*float64(len(texts)) {
		t.Errorf("blocking at %.2f: %d of %d everyday prompts blocked", quickstartThreshold, n, len(texts))
	}
}
