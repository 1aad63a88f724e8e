package llmauth

import (
	"path/filepath"
	"slices"
	"sync"

	"go.uber.org/zap"

	"github.com/llmguard/caddy-llmguard/llmguard/auth"
	"github.com/llmguard/caddy-llmguard/llmguard/keyadmin"
)

// keyFiles is the process-wide registry of the key files that provisioned api_keys
// sources use, so that admin.api.llm_keys can find them and reload every in-memory store
// right after a change (the poll would take up to poll_interval). Several sources on one
// file share one entry; during a reload the old and new configurations' watchers are both
// listed for a moment.
var keyFiles = struct {
	sync.Mutex
	watchers map[string]map[*auth.KeyFile]*zap.Logger
	// admins holds one keyadmin.File per path, kept for the life of the process: its lock
	// must be the same for every change to that path, also across config reloads.
	admins map[string]*keyadmin.File
}{watchers: map[string]map[*auth.KeyFile]*zap.Logger{}, admins: map[string]*keyadmin.File{}}

// canonicalPath is the registry key of a key file path.
func canonicalPath(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return filepath.Clean(p)
}

// registerKeyFile lists kf for the admin API and returns the function that removes it.
func registerKeyFile(kf *auth.KeyFile, logger *zap.Logger) (unregister func()) {
	path := canonicalPath(kf.Path)
	keyFiles.Lock()
	defer keyFiles.Unlock()
	if keyFiles.watchers[path] == nil {
		keyFiles.watchers[path] = map[*auth.KeyFile]*zap.Logger{}
	}
	keyFiles.watchers[path][kf] = logger
	return func() {
		keyFiles.Lock()
		defer keyFiles.Unlock()
		delete(keyFiles.watchers[path], kf)
		if len(keyFiles.watchers[path]) == 0 {
			delete(keyFiles.watchers, path)
		}
	}
}

// usedKeyFiles returns the registered paths, sorted.
func usedKeyFiles() []string {
	keyFiles.Lock()
	defer keyFiles.Unlock()
	paths := make([]string, 0, len(keyFiles.watchers))
	for p := range keyFiles.watchers {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	return paths
}

// adminFile returns the administrator of a registered path, or nil.
func adminFile(path string) *keyadmin.File {
	keyFiles.Lock()
	defer keyFiles.Unlock()
	if len(keyFiles.watchers[path]) == 0 {
		return nil
	}
	f := keyFiles.admins[path]
	if f == nil {
		f = &keyadmin.File{Path: path, AfterWrite: func() { reloadKeyFile(path) }}
		keyFiles.admins[path] = f
	}
	return f
}

// reloadKeyFile makes every store on path load the file now, so a change is in force
// when the admin API answers.
func reloadKeyFile(path string) {
	keyFiles.Lock()
	ws := make(map[*auth.KeyFile]*zap.Logger, len(keyFiles.watchers[path]))
	for kf, l := range keyFiles.watchers[path] {
		ws[kf] = l
	}
	keyFiles.Unlock()
	for kf, l := range ws {
		if _, err := kf.Load(); err != nil && l != nil {
			l.Error("key file not reloaded after an admin change; keeping the previous keys", zap.String("path", kf.Path), zap.Error(err))
		}
	}
}
