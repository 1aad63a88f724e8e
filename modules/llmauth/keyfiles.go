package llmauth

import (
	"path/filepath"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/llmguard/caddy-llmguard/llmguard/auth"
	"github.com/llmguard/caddy-llmguard/llmguard/keyadmin"
	"github.com/llmguard/caddy-llmguard/llmguard/sharedkeys"
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
	// shared are the shared key stores in use, by name, with how many sources use each.
	shared map[string]*sharedUse
}{watchers: map[string]map[*auth.KeyFile]*zap.Logger{}, admins: map[string]*keyadmin.File{}, shared: map[string]*sharedUse{}}

type sharedUse struct {
	keys  *keyadmin.Keys
	users int
}

// keySet is what the admin API changes: a key file or a shared key store.
type keySet interface {
	List() ([]keyadmin.View, error)
	Get(id string) (keyadmin.View, error)
	Create(s *keyadmin.Spec) (keyadmin.Issued, error)
	Update(id string, p *keyadmin.Patch) (keyadmin.View, error)
	Revoke(id string) (keyadmin.View, error)
	Rotate(id string, grace time.Duration) (keyadmin.Issued, error)
}

// registerSharedStore lists a shared key store for the admin API under name and returns
// the function that removes this use of it.
func registerSharedStore(name string, st *sharedkeys.Store) (unregister func()) {
	keyFiles.Lock()
	defer keyFiles.Unlock()
	u := keyFiles.shared[name]
	if u == nil {
		u = &sharedUse{keys: &keyadmin.Keys{Store: st}}
		keyFiles.shared[name] = u
	}
	u.users++
	return func() {
		keyFiles.Lock()
		defer keyFiles.Unlock()
		if u.users--; u.users == 0 && keyFiles.shared[name] == u {
			delete(keyFiles.shared, name)
		}
	}
}

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

// usedKeySets returns the registered key file paths and shared store names, sorted.
func usedKeySets() []string {
	keyFiles.Lock()
	defer keyFiles.Unlock()
	paths := make([]string, 0, len(keyFiles.watchers)+len(keyFiles.shared))
	for p := range keyFiles.watchers {
		paths = append(paths, p)
	}
	for n := range keyFiles.shared {
		paths = append(paths, n)
	}
	slices.Sort(paths)
	return paths
}

// adminSet returns the administrator of a registered key file path or shared store
// name, or nil.
func adminSet(name string) keySet {
	keyFiles.Lock()
	defer keyFiles.Unlock()
	if u := keyFiles.shared[name]; u != nil {
		return u.keys
	}
	path := name
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
