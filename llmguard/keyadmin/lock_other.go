//go:build !unix

package keyadmin

// lockFile is a no-op where flock does not exist: changes within one process are still
// serialised by File's mutex, but a CLI run and a running gateway must not change the same
// key file at the same moment.
func lockFile(string) (func(), error) { return func() {}, nil }
