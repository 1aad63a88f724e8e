// Package keyadmin changes gateway API key files: list, show, create, update, rotate and
// revoke keys. Each change is a read-modify-write of the whole file under a per-file lock
// (in-process mutex plus an advisory file lock, so the admin API and the CLI never lose
// each other's updates), checked by the same rules the gateway loads the file with, and
// written atomically (auth.WriteKeyFile).
//
// It is free of Caddy: the llm_auth module and the `caddy llmguard key` commands use it.
// It must never return or log a key's hash; the only secret it hands out is a newly
// generated key, once, to whoever created or rotated it.
package keyadmin
