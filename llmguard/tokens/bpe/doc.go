// Package bpe counts tokens for OpenAI's cl100k_base and o200k_base
// encodings, exactly as tiktoken counts them, without producing token ids.
//
// It exists because request admission needs a token count for every prompt,
// and tiktoken-go, the reference, runs a backtracking regex over []rune
// copies and merges byte pairs in quadratic time, so an attacker-sized input
// costs seconds. This package replaces both parts: a hand-written
// pre-tokenizer that follows the backtracking semantics of the split regexes
// in a single linear pass, and a byte pair merge that uses a heap for long
// pieces. The vocabulary still comes from tiktoken-go-loader's embedded
// files, and tiktoken-go stays the reference in the tests.
//
// The package must never disagree with tiktoken-go's EncodeOrdinary on any
// input (a wrong count is a limit bypass or a false refusal), must never use
// a regex engine or any other super-linear step on the request path, must
// never touch the network (vocabularies are embedded), and must never treat
// special-token strings such as "<|endoftext|>" specially.
package bpe
