package secevent

import (
	"encoding/json"
	"regexp"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// The catalogue's codes are unique and well formed, its categories and types are ECS
// allowed values, and an emitted event carries every ECS field.
func TestCatalogue(t *testing.T) {
	// From the ECS 8.11 event.category / event.type allowed-value lists.
	categories := map[string]bool{"authentication": true, "iam": true, "intrusion_detection": true, "network": true, "web": true, "configuration": true, "threat": true}
	types := map[string]bool{"creation": true, "change": true, "deletion": true, "denied": true, "allowed": true, "info": true, "start": true, "end": true, "user": true, "indicator": true}
	code := regexp.MustCompile(`^LLMG-\d{4}$`)
	seen := map[string]bool{}
	for _, k := range Catalogue {
		if !code.MatchString(k.Code) || seen[k.Code] || seen[k.Action] {
			t.Errorf("%+v: code or action malformed or reused", k)
		}
		seen[k.Code], seen[k.Action] = true, true
		if !categories[k.Category] || !types[k.Type] || k.Severity < Low || k.Severity > Critical || k.Message == "" {
			t.Errorf("%+v: not an ECS category/type or severity", k)
		}
	}
}

func TestEmit(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	Emit(zap.New(core), AuthThrottled, "failure", zap.String("source.ip", "192.0.2.1"))
	Emit(zap.New(core), KeyCreated, "success", zap.String("llmguard.key.id", "alice"))
	all := logs.All()
	if len(all) != 2 || all[0].Level != zapcore.WarnLevel || all[1].Level != zapcore.InfoLevel {
		t.Fatalf("%+v", all)
	}
	f := all[0].ContextMap()
	for k, want := range map[string]any{"ecs.version": ECSVersion, "event.kind": "event", "event.code": "LLMG-2001",
		"event.action": "authentication-throttled", "event.outcome": "failure", "event.severity": int64(3), "source.ip": "192.0.2.1"} {
		if got := f[k]; got != want {
			t.Errorf("%s = %v (%T), want %v", k, got, got, want)
		}
	}
	b, _ := json.Marshal(f["event.category"])
	if string(b) != `["authentication"]` {
		t.Errorf("event.category = %s", b)
	}
}
