package secrets

import "testing"

func TestRules(t *testing.T) {
	d := New(Options{})
	for _, c := range []struct {
		text, typ, value string
	}{
		{"key: sk-ant-api03-" + pseudoRandom(93) + "AA end", AnthropicKey, "sk-ant-api03-" + pseudoRandom(93) + "AA"},
		{"export AWS_ACCESS_KEY_ID=AKIAQWERTYUIOPASDFGH", AWSAccessKey, "AKIAQWERTYUIOPASDFGH"},
		{"aws_secret_access_key = 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", AWSSecretKey, "wJalrXUtnFEMI/K7MDENG/bPxRfiCY9xQmPLEKEY"},
		{"token ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5", GitHubToken, "ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5"},
		{"glpat-Xy7Zq9Wv3Tu5Rs1Po8Nm", GitLabToken, "glpat-Xy7Zq9Wv3Tu5Rs1Po8Nm"},
		{"stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc", StripeKey, "sk_live_4eC39HqLyjWDarjtT1zdp7dc"},
		{"gateway key sk-llmg-" + rep("Ab3De5Gh7J", 4) + "x9Z1q2", GatewayKey, "sk-llmg-" + rep("Ab3De5Gh7J", 4) + "x9Z1q2"},
		{"password: \"Tr0ub4dor&3\"", Password, "Tr0ub4dor&3"},
		{"Authorization: Bearer eyJraWQiOiIx.abc", AuthCredential, "eyJraWQiOiIx.abc"},
		{"postgres://app:S3cr3tPw@db:5432/x", URLCredential, "app:S3cr3tPw"},
		{"jwt eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c", JWT, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"},
	} {
		fs := d.Detect(c.text, nil)
		if len(fs) != 1 || fs[0].Type != c.typ || c.text[fs[0].Start:fs[0].End] != c.value {
			t.Errorf("%q: got %+v, want one %s", c.text, fs, c.typ)
		}
	}
	for _, neg := range []string{
		"set OPENAI_API_KEY=sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "password: ${DB_PASSWORD}",
		"api_key = \"<your key here>\"", "AKIAIOSFODNN7EXAMPLE", "the token_url is https://x/y",
		"commit 43fc912ef59a83054ea7f6706df4d53a7dea4d80", "ThisIsAVeryLongCamelCaseIdentifierName2",
	} {
		if fs := d.Detect(neg, nil); len(fs) != 0 {
			t.Errorf("%q: unexpected %+v", neg, fs)
		}
	}
}

func rep(s string, n int) string {
	out := ""
	for i := 0; i < n; i++ {
		out += s
	}
	return out
}

// pseudoRandom returns a deterministic random-looking key body of n characters.
func pseudoRandom(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = alphabet[x%uint32(len(alphabet))]
	}
	return string(b)
}

// classifyIdent skips identifiers without a secret stem: every name it looks for must
// contain one, or adding a name would silently never match.
func TestSecretStemsCoverNames(t *testing.T) {
	names := append(append([]string{"awssecret", "secretaccesskey"}, secretNames...), passwordNames...)
	for _, n := range names {
		if !mayNameSecret(n) {
			t.Errorf("%q contains none of secretStems", n)
		}
		if classifyIdent([]byte("my"+n)) == "" {
			t.Errorf("classifyIdent(%q) found no secret", "my"+n)
		}
	}
}
