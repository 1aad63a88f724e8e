package secrets

import (
	"strings"
	"testing"
)

// randOf returns a deterministic random-looking string of n bytes from alphabet, seeded so
// that different calls differ.
func randOf(alphabet string, n int, seed uint32) string {
	b := make([]byte, n)
	x := 2463534242 ^ seed*2654435761
	if x == 0 {
		x = 1
	}
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = alphabet[x%uint32(len(alphabet))]
	}
	return string(b)
}

const (
	hexLower  = "0123456789abcdef"
	alnumAll  = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	alnumLow  = "abcdefghijklmnopqrstuvwxyz0123456789"
	alnumUp   = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	wordChars = alnumAll + "_-"
	b64Chars  = alnumAll + "+/"
)

// TestProviderRules has, for every provider rule added from gitleaks' rule set, at least
// one true positive and one false positive. Literal strings marked "gitleaks" are gitleaks'
// own test cases (github.com/gitleaks/gitleaks, cmd/generate/config/rules, MIT licence);
// the others are synthetic keys of the documented shape.
func TestProviderRules(t *testing.T) {
	r := func(a string, n int) string { return randOf(a, n, uint32(n*7+len(a))) }
	cases := []struct {
		name   string
		text   string
		secret bool
	}{
		{"doppler", "DOPPLER_TOKEN=dp.pt." + r(alnumAll, 43), true},
		{"doppler", "dp.pt.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", false},
		{"doppler service", `token: "dp.st.prd.` + r(alnumAll, 40) + `"`, true},
		{"postman", "postman key PMAK-" + r(hexLower, 24) + "-" + r(hexLower, 34), true},
		{"postman", "PMAK-" + r(hexLower, 24) + r(hexLower, 35), false},
		{"sendgrid", "SENDGRID_API_KEY=SG." + r(wordChars, 22) + "." + r(wordChars, 43), true},
		{"sendgrid", "see SG.this.is.not.a.key for details", false},
		{"sendinblue", "xkeysib-" + r(hexLower, 64) + "-" + r(alnumAll, 16), true},
		{"sendinblue", "xkeysib-" + r(hexLower, 64), false},
		{"linear", `linear := "lin_api_` + r(alnumAll, 40) + `"`, true},
		{"linear", "lin_api_key_name", false},
		{"pulumi", "pul-" + r(hexLower, 40), true},
		{"pulumi", "pul-request-handler-for-the-big-system-ok", false},
		{"databricks gitleaks", `token = dapif13ac4b49d1cb31f69f678e39602e381-2`, true},
		{"databricks gitleaks", `DATABRICKS_TOKEN=dapi123456789012345678a9bc01234defg5`, false},
		{"rubygems", "rubygems_" + r(hexLower, 48), true},
		{"rubygems", "rubygems_api_key_setting", false},
		{"age", "AGE-SECRET-KEY-1" + strings.ToUpper(randOf("qpzry9x8gf2tvdw0s3jn54khce6mua7l", 58, 3)), true},
		{"age", "AGE-SECRET-KEY-1XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX", false},
		{"shopify", "shpss_" + r(hexLower, 32), true},
		{"shopify", "shppa_" + r(hexLower, 32), true},
		{"shopify", "shpca_" + r(hexLower, 31) + "z", false},
		{"square gitleaks", "ARG token=sq0atp-812erere3wewew45678901", true},
		{"square gitleaks", "ARG token=EAAAlsBxkkVgvmr7FasTFbM6VUGZ31EJ4jZKTJZySgElBDJ_wyafHuBFquFexY7E", true},
		{"square gitleaks", `value: "sq0csp-0p9h7g6f4s3s3s3-4a3ardgwa6ADRDJDDKUFYDYDYDY"`, true},
		{"square gitleaks", `aws-cli@sha256:eaaa7b11777babe28e6133a8b19ff71cea687e0d7f05158dee95a71f76ce3d00`, false},
		{"flutterwave", "FLWSECK_TEST-" + r("abcdefgh0123456789", 32) + "-X", true},
		{"flutterwave", "FLWPUBK_TEST-" + r("abcdefgh0123456789", 32) + "-X", true},
		{"flutterwave", "FLWSECK_TEST-" + r(alnumLow, 32) + "-Y", false},
		{"dynatrace", "dt0c01." + r(alnumUp, 24) + "." + r(alnumAll, 64), true},
		{"dynatrace", "dt0c01.ABCDEFGHIJKLMNOPQRSTUVWX", false},
		{"grafana gitleaks", `loki_key: glc_eyJvIjoiNzQ0NTg3IiwibiI7InN0YWlrLTQ3NTgzMC1obC13cml0ZS1oYW5kc29uJG9raSIsImsiOiI4M2w3cmdYUlBoMTUyMW1lMU023nl5UDUiLCJtIjp7IOIiOiJ1cyJ9fQ==`, true},
		{"grafana gitleaks", `'Authorization': 'Bearer glsa_pITqMOBIfNH2KL4PkXJqmTyQl0D9QGxF_486f63e1'`, true},
		{"grafana gitleaks", "glsa_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX_AAAAAAAA", false},
		{"grafana gitleaks", `   API_KEY="glc_111111111111111111111111111111111111111111="`, false},
		{"grafana api key", "eyJrIjoi" + r(alnumAll, 70), true},
		{"vault gitleaks", `token: s.ZC9Ecf4M5g9o34Q6RkzGsj0z`, true},
		{"vault gitleaks", `-vaultToken hvs.CAESIP2jTxc9S2K7Z6CtcFWQv7-044m_oSsxnPE1H3nF89l3GiYKHGh2cy5sQmlIZVNyTWJNcDRsYWJpQjlhYjVlb1cQh6PL8wEYAg"`, true},
		{"vault gitleaks", `hvb.AAAAAQJgxDgqsGNorpoOR7hPZ5SU-ynBvCl764jyRP_fnX7WvkdkDzGjbLNGdPdtlY33Als2P36yDZueqzfdGw9RsaTeaYXSH7E4RYSWuRoQ9YRKIw8o7mDDY2ZcT3KOB7RwtW1w1FN2eDqcy_sbCjXPaM1iBVH-mqMSYRmRd2nb5D1SJPeBzIYRqSglLc31wUGN7xEzyrKUczqOKsIcybQA`, true},
		{"vault gitleaks", `s.THISSTRINGISALLUPPERCASE`, false},
		{"vault gitleaks", `s.makeKubeConfigController = args`, false},
		{"vault gitleaks", `  credentials: new AWS.SharedIniFileCredentials({ profile: '<YOUR_PROFILE>' })`, false},
		{"planetscale", "pscale_tkn_" + r(wordChars, 43), true},
		{"planetscale", "pscale_pw_" + r(wordChars, 32), true},
		{"planetscale", "pscale_oauth_" + r(wordChars, 64), true},
		{"planetscale", "pscale_tkn_short", false},
		{"flyio gitleaks", "Fly access token: fo1_8rz-j7r2eqJ2U7affEOO3HJN0j63DInyog3eV-glQSc\n", true},
		{"flyio gitleaks", `#           FLY_API_TOKEN: FlyV1 fm2_lJPECAAAAAAAAyZtxBD1hSZ7L5leXsj64ZbDlkm/wrVodHRwczovL2FwaS5mbHkuaW8vdjGWAJLOAAwMDB8Lk7lodHRwczovL2FwaS5mbHkuaW8vYWFhL3YxxDwDnhgJj/ML/nRKMiAYgnvXfNacrGWffj5TdfgGY2LU0ZetT7WzTLQQMO8cN2nRTztl/xLjnnZg5pBwFonETmhNA6Yl0X1tatt8ezA0UjVQiJr93VQ7qAmD5GG2Ce5txhbQv3tmIGsvaC7BOkIqAiR273bhZkO44AYsrCPr2XF8W6Twk7NyU+3UUeDwjw2SlAORgc4APu7vHwWRgqdidWlsZGVyH6J3Zx8BxCAlmLbu1HQDg8ZAGKKmEt4Mbnbqli6lbzBDHsawhcUF4A==,fm2_lJPETmhNA6Yl0X1tatt8ezA0UjVQiJr93VQ7qAmD5GG2Ce5txhbQv3tmIGsvaC7BOkIqAij273bhZkO44AYsrCPr2XF8W6Twk7NyU+3UUeDwj8QQbn07DOV+7SmoLj/uT+dbr8O5aHR0cHM6Ly9hcGkuZmx5LmlvL2FhYS92MZgEks5mqfbvzwAAAAE9PYz9F84AC7QACpHOAAu0AAzEEFfW3B+SzffV/KrAYa8qqpnEIIlD6DqZMZQ9Kt7fEenCCOLA+tUSJ+kmEFIUcc83npOI`, true},
		{"flyio gitleaks", `<input type="hidden" name="authenticity_token" value="7SWa-Fo1_hsC6oovfBsJFLGPUl2EhkSWPbJhWANwgaJWBDl1vxd9VNqXTNAefsJqzIRYaZEfYZLffa31rw8zJA" autocomplete="off" />`, false},
		{"flyio gitleaks", `pub const MINIDUMP_SYSMEMINFO1_PERF_CCTOTALDIRTYPAGES_CCDIRTYPAGETHRESHOLD: u32 = 4u32;`, false},
		{"alibaba", `alibabaKey := "LTAI` + r(hexLower, 20) + `"`, true},
		{"alibaba", "LTAIABCDEFGHIJKLMNOPQRST", false},
		{"duffel", "duffel_test_" + r(wordChars, 43), true},
		{"duffel", "duffel_live_flights", false},
		{"shippo", "shippo_live_" + r(hexLower, 40), true},
		{"shippo", "shippo_test_" + r(alnumAll, 40), false},
		{"frameio", "fio-u-" + r(wordChars, 64), true},
		{"frameio", "fio-u-profile", false},
		{"readme", "rdme_" + r(alnumLow, 70), true},
		{"readme", "rdme_" + r(alnumAll, 70), false},
		{"mailgun", `MAILGUN_KEY="key-` + r(hexLower, 32) + `"`, true},
		{"mailgun", "pubkey-" + r(hexLower, 32), true},
		{"mailgun", "key-value store", false},
		{"newrelic", "NEW_RELIC_KEY=NRAK-" + r(alnumUp, 27), true},
		{"newrelic", "NRJS-" + r(hexLower, 19), true},
		{"newrelic", "NRII-" + r(hexLower, 32), true},
		{"newrelic", "NRAK-XXXXXXXXXXXXXXXXXXXXXXXXXXX", false},
		{"heroku gitleaks", `const KEY = "HRKU-AAlQ1aVoHDujJ9QsDHdHlHO0hbzhoERRSO45ZQusSYHg_____w4_hLrAym_u""`, true},
		{"heroku gitleaks", `API_Key = "HRKU-AAy9Ppr_HD2pPuTyIiTYInO0hbzhoERRSO93ZQusSYHgaD7_WQ07FnF7L9FX"`, true},
		{"heroku", "HRKU-AA", false},
		{"typeform", "tfp_" + r(wordChars, 59), true},
		{"typeform", "tfp_config", false},
		{"figma", "figd_" + r(wordChars, 40), true},
		{"figma", "figd_export", false},
		{"definednetworking", "dnkey-" + r(wordChars, 26) + "-" + r(wordChars, 52), true},
		{"definednetworking", "dnkey-file", false},
		{"dropbox", "sl." + r(wordChars, 135), true},
		{"dropbox", "sl.example", false},
		{"prefect gitleaks", `PREFECT_API_KEY = "pnu_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"`, false},
		{"prefect", "pnu_" + r(alnumAll, 36), true},
		{"scalingo", "tk-us-" + r(wordChars, 48), true},
		{"scalingo", "tk-us-east", false},
		{"settlemint", `settlemintToken := "sm_pat_` + r(alnumAll, 16) + `"`, true},
		{"settlemint", `nonMatchingToken := "sm_aat_` + r(alnumAll, 10) + `"`, false},
		{"harness", "pat." + r(wordChars, 22) + "." + r(alnumAll, 24) + "." + r(alnumAll, 20), true},
		{"harness", "sat.example.org", false},
		{"airtable", "pat" + r(alnumAll, 14) + "." + r(hexLower, 64), true},
		{"airtable", "pattern.matching", false},
		{"mapbox", "MAPBOX_TOKEN=pk." + r(alnumLow, 60) + "." + r(alnumLow, 22), true},
		{"mapbox", "pk.eyJ1IjoibWFwYm94", false},
		{"gocardless", "GOCARDLESS_TOKEN=live_" + r(wordChars, 40), true},
		{"chargebee", `chargebeeToken := "test_` + r(alnumAll, 32) + `"`, true},
		{"castai gitleaks", `key = test_v1_2cb5a70064f60ba2f5507bcbb02938a5a0483bf2a9742d08c5c274c827c9f6ea_037192b5`, false},
		{"castai gitleaks", `castai_v1_2cb5a70064f60ba2f5507bcbb02938a5a0483bf2a9742d08c5c274c827c9f6ea_aabb92b5`, true},
		{"twilio", "TWILIO_KEY=SK" + r(hexLower, 32), true},
		{"twilio", "SKU_NUMBER_FOR_THE_WAREHOUSE_ITEM_1", false},
		{"octopus gitleaks", `set apikey="API-ZNRMR7SL6L3ATMOIK7GKJDKLPY"`, true},
		{"octopus gitleaks", `https://sonarcloud.io/api/project_badges/measure?project=Garden-Coin_API-CalculadoraDeInvestimentos&metric=alert_status`, false},
		{"infracost gitleaks", "  variable {\n    name = \"INFRACOST_API_KEY\"\n    secret_value = \"ico-mlCr1Mn3SRcRiZMObUZOTHLcgtH2Lpgt\"\n    is_secret = true\n  }", true},
		{"infracost gitleaks", `http://assets.r7.com/assets/media_box_tv_tres_colunas/video_box.ico-7a388b69018576d24b59331fd60aab0c.png`, false},
		{"infracost gitleaks", `ico-XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX`, false},
		{"artifactory", `artifactoryApiKey := "AKCp` + r(alnumAll, 69) + `"`, true},
		{"artifactory", `artifactoryRefToken := "cmVmd` + r(alnumAll, 59) + `"`, true},
		{"artifactory gitleaks", `partOfAlongUnrelatedBlob gYnkgAkCp` + r(alnumAll, 69) + `VyZSB2`, false},
		{"easypost", "EZAK" + r(alnumAll, 54), true},
		{"easypost", "example.com?t=EZTK" + r(alnumAll, 54) + "&q=1", true},
		{"easypost gitleaks", `...6wqX6fNUXA/rYqRvfQ+EZTKGqQRiRyqAFRQshGPWOIAwNWGORfKHSBnVNFtVmWYoW6PH23lkqbbDWep95C/3VmWq/edti6...`, false},
		{"digitalocean", "doo_v1_" + r(hexLower, 64), true},
		{"digitalocean", "dor_v1_" + r(hexLower, 63), false},
		{"adobe", `adobeClient := "p8e-` + r(hexLower, 32) + `"`, true},
		{"adobe", "p8e-short", false},
		{"cloudflare gitleaks", `CLOUDFLARE_ORIGIN_CA: v1.0-aaa334dc886f30631ba0a610-0d98ef66290d7e50aac7c27b5986c99e6f3f1084c881d8ac0eae5de1d1aa0644076ff57022069b3237d19afe60ad045f207ef2b16387ee37b749441b2ae2e9ebe5b4606e846475d4a5`, true},
		{"cloudflare", "v1.0-release-notes", false},
		{"huggingface", "api_org_" + r("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", 34), true},
		{"huggingface gitleaks", `const api_org_controller = require('../../controllers/api/index').organizations;`, false},
		{"yandex", "AQVN" + r(wordChars, 36), true},
		{"yandex", "AQVNAME", false},
		{"aws a3t", "A3T" + r("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 17), true},
		{"aws a3t", "A3TEST", false},
		{"1password gitleaks", `A3-ASWWYB-798JRYLJVD4-23DC2-86TVM-H43EB`, true},
		{"1password gitleaks", `A3-ASWWYB-798JRY-LJVD4-23DC2-86TVM-H43EB`, true},
		{"1password gitleaks", `A3-XXXXXX-XXXXXXXXXXX-XXXXX-XXXXX-XXXXX`, false},
		{"langsmith", "LANGCHAIN_API_KEY=lsv2_pt_" + r(hexLower, 32) + "_" + r(hexLower, 10), true},
		{"langsmith gitleaks", `lsv2_xx_0123456789abcdef0123456789abcdef_0123456789`, false},
		{"chieftools", "ctp_" + r(alnumAll, 36), true},
		{"chieftools", "ctp_setting", false},
		{"adyen", "AQEyhmfx." + r(wordChars, 60), true},
		{"adyen", `nonMatchingToken := "AXE` + r(alnumAll, 30) + `"`, false},
		{"twitter bearer", "AAAAAAAAAAAAAAAAAAAAAA" + r(alnumAll, 90), true},
		{"twitter bearer", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", false},
		{"django gitleaks", `SECRET_KEY = "django-insecure-123456789!%_&*^)abcdef"`, true},
		{"django", "pip install django-insecure-checks", false},
		{"gitlab", "GR1348941" + r(alnumAll, 20), true},
		{"gitlab gitleaks", "GR1348941XXXXXXXXXXXXXXXXXXXX", false},
		{"gitlab", "glrt-" + r(alnumAll, 20), true},
		{"gitlab", "glrt-t1_" + r(alnumAll, 27) + "." + r(alnumLow, 9), true},
		{"gitlab gitleaks", "glrt-tx_xxxxxxxxxxxxxxxxxxxxxxxxxxx.xxxxxxxxx", false},
		{"gitlab", "glpat-" + r(alnumAll, 27) + "." + r(alnumLow, 9), true},
		{"gitlab gitleaks", "glpat-xxxxxxxx-xxxxxxxxxxxxxxxxxx.xxxxxxxxx", false},
		{"gitlab", "glcbt-" + r(alnumAll, 5) + "_" + r(alnumAll, 20), true},
		{"gitlab", "gloas-" + r(alnumAll, 64), true},
		{"gitlab", "glagent-" + r(alnumAll, 50), true},
		{"gitlab", "glsoat-short", false},
		{"authress", "sc_" + r(alnumAll, 10) + "." + r(alnumAll, 4) + ".acc_" + r(alnumAll, 10) + "." + r(wordChars, 40), true},
		{"authress", "sc_config.yaml", false},
		{"claude code gitleaks", "sk-ant-oat01-abc123xyz_456def789ghij-klmnopqrstuvwx-3456yza789bcde-1234fghijklmnopby56aaaogaopaaaabc123xyzZQ", true},
		{"claude code gitleaks", "sk-ant-oat01-abc123xyz_456def789ghij-klmnopqrstuvwx-3456yza789bcde-1234fghijklmnopby56aaaogaopaaaabc123xy", false},
		{"clickhouse", "4b1d" + r(alnumAll, 38), true},
		{"clickhouse", "4b1d-street", false},
	}
	d := New(Options{DisableBareTokens: true})
	for _, c := range cases {
		fs := d.Detect(c.text, nil)
		for _, f := range fs {
			if !f.Valid(c.text) {
				t.Fatalf("%s: invalid finding %+v", c.name, f)
			}
		}
		if got := len(fs) > 0; got != c.secret {
			t.Errorf("%s: %q: flagged=%v, want %v (%+v)", c.name, c.text, got, c.secret, fs)
		}
	}
}

// TestProviderKeywords covers values that are credentials only because the identifier
// names a provider (gitleaks' semi-generic rules), the XML key/value form, Kubernetes
// Secret manifests and the layout rules of misc.go. Strings marked gitleaks are gitleaks'
// own test cases (MIT).
func TestProviderKeywords(t *testing.T) {
	cases := []struct {
		name   string
		text   string
		secret bool
	}{
		{"heroku gitleaks", `const HEROKU_KEY = "12345678-ABCD-ABCD-ABCD-1234567890AB"`, true},
		{"hubspot gitleaks", `const hubspotKey = "12345678-ABCD-ABCD-ABCD-1234567890AB"`, true},
		{"messagebird gitleaks", `const MessageBirdClientID = "12345678-ABCD-ABCD-ABCD-1234567890AB"`, true},
		{"snyk gitleaks", `SNYK_API_KEY ?= "12345678-ABCD-ABCD-ABCD-1234567890AB"`, true},
		{"snyk gitleaks", `SNYK_TOKEN ::= "12345678-ABCD-ABCD-ABCD-1234567890AB"`, true},
		{"sumologic gitleaks", `sumologic.accessId = "su9OL59biWiJu7"`, true},
		{"sumologic gitleaks", `SUMO_ACCESS_ID = "suGyI5imvADdvU"`, true},
		{"sumologic gitleaks", `sumologic_access_id         = ""`, false},
		{"sumologic gitleaks", `export SUMOLOGIC_ACCESSID=XXXXXXXXXXXXXX`, false},
		{"sumologic gitleaks", `sumOfExposures = 3Kof2VffNQ0QgYIhXUPJosVlCaQKm2hfpWE6F1fT9YGY74blQBIPsrkCcf1TwKE5;`, false},
		{"sumologic gitleaks", "-e SUMO_ACCESS_KEY=`etcdctl get /sumologic_secret`", false},
		{"okta gitleaks", `rookTable = 0023452Lllk2KqjLBvaxANWEgTd7bqjsxjo8aZj0wd`, false},
		{"cloudflare gitleaks", `cloudflare: "oj9Yoyq0zmOyWmPPob1aoY5YSNNuJ0fbZSOURBlX"`, true},
		{"cloudflare gitleaks", `CLOUDFLARE_GLOBAL_API_KEY: 674538c7ecac77d064958a04a83d9e9db068c`, true},
		{"sidekiq gitleaks", "BUNDLE_ENTERPRISE__CONTRIBSYS__COM: cafebabe:deadbeef", true},
		{"sidekiq gitleaks", `export BUNDLE_GEMS__CONTRIBSYS__COM="cafebabe:deadbeef"`, true},
		{"discord gitleaks", `discord=000000000000000000`, false},
		{"cohere gitleaks", `CO_API_KEY=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx`, false},
		{"provider name only", `twitter_handle: "jack"`, false},
		{"nuget gitleaks", `<add key="ClearTextPassword" value="CleartextPassword1" />`, true},
		{"nuget gitleaks", `<add key="ClearTextPassword" value="%TestSourcePassword%" />`, false},
		{"nuget gitleaks", `<add key="ClearTextPassword" value="33f!!lloppa" />`, false},
		{"csrf", `<input type="hidden" name="authenticity_token" value="7SWa-Fo1_hsC6oovfBsJFLGPUl2EhkSWPbJhWANwgaJWBDl1vxd9VNqXTNAefsJqzIRYaZEfYZLffa31rw8zJA" />`, false},
		// kind: after data: is not looked for (a finding must not depend on later text).
		{"k8s gitleaks", "apiVersion: v1\ndata:\n\textra: YWRtaW46cGFzc3dvcmQ=\nkind: secret\nmetadata:\n\tname: secret-sa-sample", false},
		{"k8s gitleaks", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: secret-dockercfg\ntype: kubernetes.io/dockercfg\ndata:\n  .dockercfg: |\n    eyJhdXRocyI6eyJodHRwczovL2V4YW1wbGUvdjEvIjp7ImF1dGgiOiJvcGVuc2VzYW1lIn19fQo=\n", true},
		{"k8s gitleaks", "apiVersion: v1\nkind: secret\ndata:\n\textra: YmFyCg==\nmetadata:\n\tname: secret-sa-sample", false},
		{"k8s gitleaks", " kind: Secret\n target:\n   name: mysecret\n   creationPolicy: Owner\n\n---\n\nkind: ConfigMap\n data:\n       conversionStrategy: Default\n       decodingStrategy: None\n       key: secret/mysecret\n       property: foo\n     secretKey: foo", false},
		{"k8s gitleaks", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: kubernetes-dashboard-csrf\ntype: Opaque\ndata:\n  csrf: \"\"\n", false},
		{"telegram", `TELEGRAM_BOT = 12345678:AAH` + randOf(wordChars, 33, 9), true},
		{"telegram", `<xsd:element name="AgencyIdentificationCode" type="clm54321:AgencyIdentificationCodeContentType"/>`, false},
		{"terraform gitleaks", `#token = "hE1hlYILrSqpqh.atlasv1.ARjZuyzl33F71WR55s6ln5GQ1HWIwTDDH3MiRjz7OnpCfaCb1RCF5zGaSncCWmJdcYA"`, true},
		{"terraform gitleaks", `token        = "xxxxxxxxxxxxxx.atlasv1.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"`, false},
		{"teams", "https://contoso.webhook.office.com/webhookb2/" + randOf(hexLower, 8, 1) + "-aaaa-bbbb-cccc-" + randOf(hexLower, 12, 2) + "@" + randOf(hexLower, 8, 3) + "-aaaa-bbbb-cccc-" + randOf(hexLower, 12, 4) + "/IncomingWebhook/" + randOf(hexLower, 32, 5) + "/" + randOf(hexLower, 8, 6) + "-aaaa-bbbb-cccc-" + randOf(hexLower, 12, 7), true},
		{"teams", "see https://contoso.webhook.office.com/webhookb2/ for docs", false},
		{"ansible", "$ANSIBLE_VAULT;1.1;AES256\n" + randOf(hexLower, 80, 8) + "\n" + randOf(hexLower, 80, 9), true},
		{"ansible", "ANSIBLE_VAULT;1.1;AES256 is the header", false},
		{"claude gitleaks", "see https://claude.ai/code/session_01DDpXdCk8uhiRdzku123456 for context", true},
		{"claude gitleaks", "https://claude.ai/code/session_short", false},
		{"claude gitleaks", "https://example.com/code/session_01DDpXdCk8uhiRdzku123456", false},
	}
	d := New(Options{})
	for _, c := range cases {
		fs := d.Detect(c.text, nil)
		for _, f := range fs {
			if !f.Valid(c.text) {
				t.Fatalf("%s: invalid finding %+v", c.name, f)
			}
		}
		if got := len(fs) > 0; got != c.secret {
			t.Errorf("%s: %q: flagged=%v, want %v (%+v)", c.name, c.text, got, c.secret, fs)
		}
	}
}
