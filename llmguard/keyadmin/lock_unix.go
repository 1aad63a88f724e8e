//go:build unix

package keyadmin

import (
	"os"
	"syscall"
)

// lockFile takes an exclusive advisory lock on path (created if missing), so a CLI run and
// a gateway's admin API changing the same key file take turns. The lock file is separate
// from the key file because the key file is replaced by rename, which would orphan a lock
// held on it.
func lockFile(path string) (func(), error) {
	fd, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(fd.Fd()), syscall.LOCK_EX); err != nil {
		fd.Close()
		return nil, err
	}
	return func() {
		_ = syscall.Flock(int(fd.Fd()), syscall.LOCK_UN)
		fd.Close()
	}, nil
}
