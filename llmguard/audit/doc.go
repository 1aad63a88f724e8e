// Package audit is the core of caddy-llmguard's audit trail: the audit event, the privacy
// levels that decide how much prompt and response content an event may carry, the
// tamper-evident record chain (each record MACs the previous one with HMAC-SHA256 under a
// secret key), optional AES-GCM encryption of records at rest with key ids for rotation,
// verification and decryption of chained files, and a span-preserving JSON field delete
// used for data minimisation.
//
// It has no Caddy imports. It must never put a credential, a matched detector value or a
// secret key into an event or an error message: the audit log exists so that regulated
// operators can prove what happened without the log becoming a store of sensitive data.
package audit
