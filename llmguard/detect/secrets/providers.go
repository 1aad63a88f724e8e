package secrets

import "strings"

// providerRules are further provider keys with a distinctive literal prefix or layout.
// Shapes follow gitleaks' rule definitions (github.com/gitleaks/gitleaks,
// cmd/generate/config/rules, MIT); rules that gitleaks anchors only on a provider name
// near a generic token are handled by the assignment scan (providerKeywords, assign.go).
var providerRules = []prefixRule{
	// Anthropic / Claude Code OAuth tokens are covered by the sk-ant- core rule.
	{prefix: "dp.pt.", typ: ProviderToken, body: alnum, min: 40, max: 44, minH: 3}, // Doppler
	{prefix: "dp.st.", typ: ProviderToken, body: wordDot, min: 40, max: 80, minH: 3},
	{prefix: "dp.sa.", typ: ProviderToken, body: alnum, min: 40, max: 44, minH: 3},
	{prefix: "dp.ct.", typ: ProviderToken, body: alnum, min: 40, max: 44, minH: 3},
	{prefix: "dp.scim.", typ: ProviderToken, body: alnum, min: 40, max: 44, minH: 3},
	{prefix: "dp.audit.", typ: ProviderToken, body: alnum, min: 40, max: 44, minH: 3},
	{prefix: "PMAK-", typ: ProviderToken, body: word, min: 59, max: 59, minH: 3, check: hexGroups(24, 34)}, // Postman
	{prefix: "SG.", typ: ProviderToken, body: wordDotEq, min: 66, max: 66, minH: 3, check: sendgridBody},   // SendGrid
	{prefix: "xkeysib-", typ: ProviderToken, body: word, min: 81, max: 81, minH: 3, check: sendinblueBody}, // Brevo
	{prefix: "xsmtpsib-", typ: ProviderToken, body: word, min: 81, max: 81, minH: 3, check: sendinblueBody},
	{prefix: "lin_api_", typ: ProviderToken, body: alnum, min: 40, max: 40, minH: 3},                      // Linear
	{prefix: "pul-", typ: ProviderToken, body: lowerHex, min: 40, max: 40, minH: 3},                       // Pulumi
	{prefix: "dapi", typ: ProviderToken, body: word, min: 32, max: 34, minH: 3, check: databricksBody},    // Databricks
	{prefix: "rubygems_", typ: ProviderToken, body: lowerHex, min: 48, max: 48, minH: 3},                  // RubyGems
	{prefix: "AGE-SECRET-KEY-1", typ: PrivateKey, body: upperAlnum, min: 58, max: 58, check: bech32Upper}, // age
	{prefix: "shpss_", typ: ProviderToken, body: alnum, min: 32, max: 32, minH: 3, check: allHex},         // Shopify
	{prefix: "shpca_", typ: ProviderToken, body: alnum, min: 32, max: 32, minH: 3, check: allHex},
	{prefix: "shppa_", typ: ProviderToken, body: alnum, min: 32, max: 32, minH: 3, check: allHex},
	{prefix: "sq0atp-", typ: ProviderToken, body: word, min: 22, max: 60, minH: 3},                  // Square
	{prefix: "sq0csp-", typ: ProviderToken, body: word, min: 43, max: 43, minH: 3},                  // Square
	{prefix: "EAAA", typ: ProviderToken, body: word, min: 22, max: 60, minH: 3.5, check: mixedBody}, // Square
	{prefix: "FLWSECK_TEST-", typ: ProviderToken, body: word, min: 12, max: 34, check: flutterwaveBody},
	{prefix: "FLWPUBK_TEST-", typ: ProviderToken, body: word, min: 34, max: 34, check: flutterwaveBody},
	{prefix: "FLWSECK-", typ: ProviderToken, body: word, min: 12, max: 34, check: flutterwaveBody},
	{prefix: "dt0c01.", typ: ProviderToken, body: alnumDot, min: 89, max: 89, minH: 3.5, check: dotAt(24)}, // Dynatrace
	{prefix: "glc_", typ: ProviderToken, body: b64, min: 32, max: 403, minH: 3.5},                          // Grafana
	{prefix: "glsa_", typ: ProviderToken, body: wordNoDsh, min: 41, max: 41, minH: 3, check: grafanaSABody},
	{prefix: "eyJrIjoi", typ: ProviderToken, body: b64, min: 70, max: 403, minH: 3.5},
	{prefix: "hvs.", typ: ProviderToken, body: word, min: 90, max: 120, minH: 3.5},                 // Vault
	{prefix: "hvb.", typ: ProviderToken, body: word, min: 138, max: 300, minH: 4},                  // Vault
	{prefix: "s.", typ: ProviderToken, body: alnum, min: 24, max: 24, minH: 3.5, check: mixedBody}, // legacy Vault
	{prefix: "pscale_tkn_", typ: ProviderToken, body: wordDotEq, min: 32, max: 64, minH: 3},        // PlanetScale
	{prefix: "pscale_pw_", typ: ProviderToken, body: wordDotEq, min: 32, max: 64, minH: 3},
	{prefix: "pscale_oauth_", typ: ProviderToken, body: wordDotEq, min: 32, max: 64, minH: 3},
	{prefix: "fo1_", typ: ProviderToken, body: word, min: 43, max: 43, minH: 3.5}, // Fly.io
	{prefix: "fm1r_", typ: ProviderToken, body: b64, min: 100, max: 4096, minH: 4},
	{prefix: "fm1a_", typ: ProviderToken, body: b64, min: 100, max: 4096, minH: 4},
	{prefix: "fm2_", typ: ProviderToken, body: b64, min: 100, max: 4096, minH: 4},
	{prefix: "LTAI", typ: ProviderToken, body: alnum, min: 20, max: 20, minH: 2.5, check: mixedBody},    // Alibaba
	{prefix: "duffel_test_", typ: ProviderToken, body: b64url, min: 43, max: 43, minH: 3},               // Duffel
	{prefix: "duffel_live_", typ: ProviderToken, body: b64url, min: 43, max: 43, minH: 3},               // Duffel
	{prefix: "shippo_live_", typ: ProviderToken, body: alnum, min: 40, max: 40, minH: 3, check: allHex}, // Shippo
	{prefix: "shippo_test_", typ: ProviderToken, body: alnum, min: 40, max: 40, minH: 3, check: allHex},
	{prefix: "fio-u-", typ: ProviderToken, body: b64url, min: 64, max: 64, minH: 3},           // Frame.io
	{prefix: "rdme_", typ: ProviderToken, body: lowerAlnum, min: 70, max: 70, minH: 3},        // Readme
	{prefix: "key-", typ: ProviderToken, body: lowerHex, min: 32, max: 32, minH: 3},           // Mailgun
	{prefix: "pubkey-", typ: ProviderToken, body: lowerHex, min: 32, max: 32, minH: 3},        // Mailgun
	{prefix: "NRAK-", typ: ProviderToken, body: upperAlnum, min: 27, max: 27, minH: 3},        // New Relic
	{prefix: "NRJS-", typ: ProviderToken, body: lowerHex, min: 19, max: 19, minH: 3},          // New Relic
	{prefix: "NRII-", typ: ProviderToken, body: word, min: 32, max: 32, minH: 3},              // New Relic
	{prefix: "NRAA-", typ: ProviderToken, body: lowerHex, min: 27, max: 27, minH: 3},          // New Relic
	{prefix: "HRKU-AA", typ: ProviderToken, body: word, min: 58, max: 58, minH: 3.5},          // Heroku
	{prefix: "tfp_", typ: ProviderToken, body: wordDotEq, min: 59, max: 59, minH: 3},          // Typeform
	{prefix: "figd_", typ: ProviderToken, body: word, min: 40, max: 40, minH: 3.5},            // Figma
	{prefix: "dnkey-", typ: ProviderToken, body: b64url, min: 79, max: 79, minH: 3},           // Defined Networking
	{prefix: "sl.", typ: ProviderToken, body: wordDotEq, min: 130, max: 1400, minH: 4},        // Dropbox
	{prefix: "pnu_", typ: ProviderToken, body: alnum, min: 36, max: 36, minH: 3},              // Prefect
	{prefix: "tk-us-", typ: ProviderToken, body: word, min: 48, max: 48, minH: 3},             // Scalingo
	{prefix: "sm_pat_", typ: ProviderToken, body: alnum, min: 12, max: 64, minH: 3},           // Settlemint
	{prefix: "sm_aat_", typ: ProviderToken, body: alnum, min: 12, max: 64, minH: 3},           // Settlemint
	{prefix: "sm_sat_", typ: ProviderToken, body: alnum, min: 12, max: 64, minH: 3},           // Settlemint
	{prefix: "pat.", typ: ProviderToken, body: wordDot, min: 68, max: 68, check: harnessBody}, // Harness
	{prefix: "sat.", typ: ProviderToken, body: wordDot, min: 68, max: 68, check: harnessBody}, // Harness
	{prefix: "pat", typ: ProviderToken, body: alnumDot, min: 79, max: 79, minH: 3, check: airtableBody},
	{prefix: "pk.", typ: ProviderToken, body: alnumDot, min: 83, max: 83, minH: 3.5, check: dotAt(60)},  // Mapbox
	{prefix: "sk.", typ: ProviderToken, body: alnumDot, min: 83, max: 83, minH: 3.5, check: dotAt(60)},  // Mapbox
	{prefix: "live_", typ: ProviderToken, body: b64url, min: 30, max: 40, minH: 3.5, check: mixedBody},  // GoCardless, Adyen, Chargebee, Lob
	{prefix: "test_", typ: ProviderToken, body: alnum, min: 30, max: 40, minH: 3.5, check: mixedBody},   // Adyen, Chargebee, Lob
	{prefix: "SK", typ: ProviderToken, body: alnum, min: 32, max: 32, minH: 3, check: allHex},           // Twilio
	{prefix: "API-", typ: ProviderToken, body: upperAlnum, min: 26, max: 26, minH: 3, check: mixedBody}, // Octopus Deploy
	{prefix: "ico-", typ: ProviderToken, body: alnum, min: 32, max: 32, minH: 3, check: mixedBody},      // Infracost
	{prefix: "AKCp", typ: ProviderToken, body: alnum, min: 69, max: 69, minH: 4.5},                      // Artifactory
	{prefix: "cmVmd", typ: ProviderToken, body: alnum, min: 59, max: 59, minH: 4.5},                     // Artifactory
	{prefix: "EZAK", typ: ProviderToken, body: alnum, min: 54, max: 54, minH: 3},                        // EasyPost
	{prefix: "EZTK", typ: ProviderToken, body: alnum, min: 54, max: 54, minH: 3},                        // EasyPost
	{prefix: "4b1d", typ: ProviderToken, body: alnum, min: 38, max: 38, minH: 3},                        // ClickHouse
	{prefix: "doo_v1_", typ: ProviderToken, body: lowerHex, min: 64, max: 64, minH: 3},                  // DigitalOcean
	{prefix: "dor_v1_", typ: ProviderToken, body: lowerHex, min: 64, max: 64, minH: 3},                  // DigitalOcean
	{prefix: "p8e-", typ: ProviderToken, body: alnum, min: 32, max: 32, minH: 3},                        // Adobe
	{prefix: "v1.0-", typ: ProviderToken, body: word, min: 171, max: 171, minH: 3, check: hexGroups(24, 146)},
	{prefix: "api_org_", typ: ProviderToken, body: alpha, min: 34, max: 34, minH: 3.5}, // Hugging Face
	{prefix: "AQVN", typ: ProviderToken, body: word, min: 35, max: 38, minH: 3.5},      // Yandex
	{prefix: "A3T", typ: AWSAccessKey, body: upperAlnum, min: 17, max: 17, minH: 3, check: awsA3T},
	{prefix: "A3-", typ: ProviderToken, body: upperAlnumDash, min: 36, max: 37, minH: 3.5, check: onePasswordKey}, // 1Password
	{prefix: "castai_v1_", typ: ProviderToken, body: wordNoDsh, min: 73, max: 73, minH: 3, check: underscoreAt(64)},
	{prefix: "lsv2_pt_", typ: ProviderToken, body: wordNoDsh, min: 43, max: 43, minH: 3, check: underscoreAt(32)}, // LangSmith
	{prefix: "lsv2_sk_", typ: ProviderToken, body: wordNoDsh, min: 43, max: 43, minH: 3, check: underscoreAt(32)},
	{prefix: "ctp_", typ: ProviderToken, body: alnum, min: 30, max: 248, minH: 3.5}, // Chief Tools
	{prefix: "cto_", typ: ProviderToken, body: alnum, min: 30, max: 248, minH: 3.5},
	{prefix: "ctr_", typ: ProviderToken, body: alnum, min: 30, max: 248, minH: 3.5},
	{prefix: "AQE", typ: ProviderToken, body: wordDotEq, min: 56, max: 200, minH: 3, check: adyenBody},
	{prefix: "AAAAAAAAAAAAAAAAAAAAAA", typ: ProviderToken, body: alnumPct, min: 80, max: 100, minH: 4}, // Twitter bearer
	{prefix: "django-insecure-", typ: ProviderToken, body: nonQuote, min: 8, max: 250, minH: 3},
	{prefix: "GR1348941", typ: GitLabToken, body: word, min: 20, max: 20, minH: 3}, // GitLab
	{prefix: "glcbt-", typ: GitLabToken, body: word, min: 22, max: 26, minH: 3},
	{prefix: "glffct-", typ: GitLabToken, body: word, min: 20, max: 20, minH: 3},
	{prefix: "glft-", typ: GitLabToken, body: word, min: 20, max: 20, minH: 3},
	{prefix: "glimt-", typ: GitLabToken, body: word, min: 25, max: 25, minH: 3},
	{prefix: "glagent-", typ: GitLabToken, body: word, min: 50, max: 50, minH: 3},
	{prefix: "gloas-", typ: GitLabToken, body: word, min: 64, max: 64, minH: 3},
	{prefix: "glrt-", typ: GitLabToken, body: wordDot, min: 20, max: 320, minH: 3, check: gitlabPATBody},
	{prefix: "glsoat-", typ: GitLabToken, body: word, min: 20, max: 20, minH: 3},
	{prefix: "sc_", typ: ProviderToken, body: wordDotEq, min: 60, max: 200, minH: 3, check: authressBody}, // Authress
	{prefix: "ext_", typ: ProviderToken, body: wordDotEq, min: 60, max: 200, minH: 3, check: authressBody},
	{prefix: "scauth_", typ: ProviderToken, body: wordDotEq, min: 60, max: 200, minH: 3, check: authressBody},
	{prefix: "authress_", typ: ProviderToken, body: wordDotEq, min: 60, max: 200, minH: 3, check: authressBody},
}

// anthropicBody: API and admin keys end in "AA"; Claude Code OAuth tokens are oat01- and
// 95 characters.
func anthropicBody(b string) bool {
	return strings.HasSuffix(b, "AA") || strings.HasPrefix(b, "oat01-") && len(b) == 101
}

// gitlabPATBody: glpat-<20> or the routable glpat-<27..300>.<2+7 lower alnum>.
func gitlabPATBody(b string) bool {
	i := strings.IndexByte(b, '.')
	if i < 0 {
		return len(b) <= 64
	}
	tail := b[i+1:]
	if i < 27 || len(tail) != 9 {
		return false
	}
	for k := 0; k < len(tail); k++ {
		if !isLower(tail[k]) && !isDigit(tail[k]) {
			return false
		}
	}
	return true
}

// hexGroups checks <n1 hex>-<n2 hex> (either case).
func hexGroups(n1, n2 int) func(string) bool {
	return func(b string) bool {
		return len(b) == n1+1+n2 && b[n1] == '-' && allHex(b[:n1]) && allHex(b[n1+1:])
	}
}

func dotAt(n int) func(string) bool {
	return func(b string) bool { return len(b) > n && b[n] == '.' && strings.Count(b, ".") == 1 }
}

func underscoreAt(n int) func(string) bool {
	return func(b string) bool { return len(b) > n && b[n] == '_' && strings.Count(b, "_") == 1 }
}

// sendgridBody: SG.<22>.<43>.
func sendgridBody(b string) bool { return b[22] == '.' && strings.Count(b, ".") == 1 }

// sendinblueBody: xkeysib-<64 lower hex>-<16 alnum>.
func sendinblueBody(b string) bool {
	return b[64] == '-' && lowerHex.all(b[:64]) && alnum.all(b[65:])
}

// databricksBody: dapi<32 lower hex>, optionally -<digit>.
func databricksBody(b string) bool {
	return lowerHex.all(b[:32]) && (len(b) == 32 || len(b) == 34 && b[32] == '-' && isDigit(b[33]))
}

// bech32Upper: the bech32 alphabet in upper case (age secret keys).
func bech32Upper(b string) bool {
	for i := 0; i < len(b); i++ {
		if !strings.ContainsRune("QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L", rune(b[i])) {
			return false
		}
	}
	return true
}

// mixedBody wants letters and digits both, which words and identifiers lack.
func mixedBody(b string) bool {
	letters, digits := false, false
	for i := 0; i < len(b); i++ {
		letters = letters || isUpper(b[i]) || isLower(b[i])
		digits = digits || isDigit(b[i])
	}
	return letters && digits
}

// flutterwaveBody: 12 or 32 characters of [a-hA-H0-9], the 32 form optionally -X.
func flutterwaveBody(b string) bool {
	h := strings.TrimSuffix(b, "-X")
	if len(h) != 12 && len(h) != 32 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i] | 0x20
		if !(isDigit(h[i]) || c >= 'a' && c <= 'h') {
			return false
		}
	}
	return mixedBody(h)
}

// grafanaSABody: glsa_<32 alnum>_<8 hex>.
func grafanaSABody(b string) bool {
	return b[32] == '_' && strings.Count(b, "_") == 1 && allHex(b[33:])
}

// harnessBody: pat.<22>.<24 alnum>.<20 alnum>.
func harnessBody(b string) bool {
	if b[22] != '.' || b[47] != '.' || strings.Count(b, ".") != 2 {
		return false
	}
	for i := 23; i < len(b); i++ {
		if b[i] != '.' && !isAlnum(b[i]) {
			return false
		}
	}
	return entropy(b) >= 3.5
}

// airtableBody: pat<14 alnum>.<64 lower hex>.
func airtableBody(b string) bool {
	return b[14] == '.' && strings.Count(b, ".") == 1 && lowerHex.all(b[15:])
}

// awsA3T: A3T<one of A-Z0-9><16 of A-Z2-7>.
func awsA3T(b string) bool {
	return upper32.all(b[1:])
}

// onePasswordKey: A3-<6>-<11>-<5>-<5>-<5> or A3-<6>-<6>-<5>-<5>-<5>-<5>.
func onePasswordKey(b string) bool {
	segs := strings.Split(b, "-")
	want := []int{6, 11, 5, 5, 5}
	if len(segs) == 6 {
		want = []int{6, 6, 5, 5, 5, 5}
	}
	if len(segs) != len(want) {
		return false
	}
	for i, s := range segs {
		if len(s) != want[i] {
			return false
		}
	}
	return mixedBody(b)
}

// adyenBody: AQE<5+ lower alnum>.<50..80 of [\w=-]>.
func adyenBody(b string) bool {
	i := strings.IndexByte(b, '.')
	if i < 5 || strings.Count(b, ".") != 1 {
		return false
	}
	for k := 0; k < i; k++ {
		if !isLower(b[k]) && !isDigit(b[k]) {
			return false
		}
	}
	n := len(b) - i - 1
	return n >= 50 && n <= 80
}

// authressBody: <5..30>.<4..6>.acc[_-]<10..32>.<30..120> after the sc_/ext_ prefix.
func authressBody(b string) bool {
	parts := strings.Split(b, ".")
	if len(parts) != 4 {
		return false
	}
	p := parts
	return len(p[0]) >= 5 && len(p[0]) <= 30 && len(p[1]) >= 4 && len(p[1]) <= 6 &&
		(strings.HasPrefix(p[2], "acc_") || strings.HasPrefix(p[2], "acc-")) &&
		len(p[2]) >= 14 && len(p[2]) <= 36 && len(p[3]) >= 30 && len(p[3]) <= 120
}
