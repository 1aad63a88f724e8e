package patterns

import (
	"testing"

	"github.com/llmguard/caddy-llmguard/llmguard/detect"
	"github.com/llmguard/caddy-llmguard/llmguard/detect/pii"
)

func TestDenyAllow(t *testing.T) {
	l, err := Compile(
		[]Rule{{Name: "codename", Pattern: "project falcon", Literal: true, CaseInsensitive: true, Type: "CODENAME"},
			{Name: "ticket", Pattern: `\bTCK-[0-9]{4}\b`}},
		[]Rule{{Name: "support", Pattern: "support@example.com", Literal: true}})
	if err != nil {
		t.Fatal(err)
	}
	text := "Project FALCON ships; ask support@example.com or bob@corp.io about TCK-1234."
	set := detect.Set{Detectors: []detect.Detector{l, pii.New()}, Allow: l}
	fs := set.Detect(text, nil)
	var types []string
	for _, f := range fs {
		types = append(types, f.Type+":"+text[f.Start:f.End])
	}
	want := []string{"CODENAME:Project FALCON", "EMAIL_ADDRESS:bob@corp.io", "CUSTOM_PATTERN:TCK-1234"}
	if len(types) != len(want) {
		t.Fatalf("got %v, want %v", types, want)
	}
	for i := range want {
		if types[i] != want[i] {
			t.Fatalf("got %v, want %v", types, want)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	if _, err := Compile([]Rule{{Pattern: "("}}, nil); err == nil {
		t.Fatal("bad regexp accepted")
	}
	if _, err := Compile(nil, []Rule{{Name: "x"}}); err == nil {
		t.Fatal("empty pattern accepted")
	}
}
