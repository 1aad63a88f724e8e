// Package caddyfile holds what the llm_* directives share in the Caddyfile: the golden
// adapt tests (testdata/*.caddyfiletest) that pin every directive's syntax, JSON and order,
// and sub-directive parsers used by more than one module.
//
// It parses only; it must never do I/O or provision anything.
package caddyfile
