// Package sentinel is adaptive threat detection for LLM API callers: it keeps a small,
// decaying behaviour baseline per identity and scores each request against it, so that a
// stolen key, a scraper, a model-extraction client, a jailbreak prober or a cost abuser is
// flagged (and quarantined at level high) without a static rule having to name it.
//
// The model is deliberately simple and explainable: each signal is a number in [0, 1]
// computed from O(1) per-identity state, weighted, and combined as independent evidence
// (score = 1 − Π(1 − wᵢ·sᵢ)). The signals with the largest contribution are the reasons.
// Time is always passed in, so tests are deterministic. The package knows nothing of Caddy.
package sentinel
