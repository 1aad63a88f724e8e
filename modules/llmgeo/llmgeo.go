// Package llmgeo is the `llm_geo` Caddy handler and request matcher: the client's country
// and continent from a MaxMind-format database (llmguard/geo), published as placeholders
// for llm_auth's per-key allowed_countries, llm_audit's record and routing, and matched
// against allow and deny lists.
//
// Policy for addresses the database cannot place (private ranges, gaps): they are
// "unknown". An allow list refuses them unless it names "unknown"; a deny list lets them
// through unless it names "unknown". It never logs client addresses.
package llmgeo

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/llmguard/caddy-llmguard/llmguard/geo"
	"github.com/llmguard/caddy-llmguard/llmguard/netrule"
	"github.com/llmguard/caddy-llmguard/modules/llmhttp"
)

func init() {
	caddy.RegisterModule(Handler{})
	caddy.RegisterModule(Matcher{})
}

// Database names the geo database and how often its file is checked for a new version.
// One reader and one watcher are shared by every handler and matcher that names the same
// file and interval, also across reloads.
type Database struct {
	// DB is the path of a GeoLite2/GeoIP2 Country or City .mmdb file. Required. It must
	// exist and be valid when the configuration loads; a later update (geoipupdate
	// renames a new file into place) is picked up within PollInterval without a reload,
	// and a broken update keeps the previous database.
	DB string `json:"db,omitempty"`
	// PollInterval is how often the file's modification time and size are checked.
	// Default 1m (GeoIP databases change weekly).
	PollInterval caddy.Duration `json:"poll_interval,omitempty"`

	db  *geo.DB
	key string
}

var pool = caddy.NewUsagePool()

type pooled struct {
	db     *geo.DB
	cancel context.CancelFunc
}

func (p *pooled) Destruct() error { p.cancel(); return nil }

func (d *Database) open(ctx caddy.Context) error {
	if d.DB == "" {
		return fmt.Errorf("llm_geo: db (the path of a .mmdb file) is required")
	}
	if d.PollInterval <= 0 {
		d.PollInterval = caddy.Duration(time.Minute)
	}
	path := caddy.NewReplacer().ReplaceKnown(d.DB, "")
	d.key = path + "|" + strconv.FormatInt(int64(d.PollInterval), 10)
	logger := ctx.Logger()
	v, _, err := pool.LoadOrNew(d.key, func() (caddy.Destructor, error) {
		db, err := geo.Open(path)
		if err != nil {
			return nil, err
		}
		wctx, cancel := context.WithCancel(context.Background())
		go db.Watch(wctx, time.Duration(d.PollInterval), logger)
		return &pooled{db: db, cancel: cancel}, nil
	})
	if err != nil {
		return fmt.Errorf("llm_geo: loading geo database: %v", err)
	}
	d.db = v.(*pooled).db
	return nil
}

func (d *Database) close() error {
	if d.key == "" {
		return nil
	}
	_, err := pool.Delete(d.key)
	return err
}

// locate looks the client up (Caddy's client IP, which honours trusted_proxies) and
// publishes {http.llm.geo.country} and {http.llm.geo.continent}.
func (d *Database) locate(r *http.Request) geo.Location {
	ip, _ := caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey).(string)
	if ip == "" {
		ip = r.RemoteAddr
	}
	loc := d.db.Lookup(netrule.ParseAddr(ip))
	if repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
		repl.Set(llmhttp.PlaceholderGeoCountry, loc.Country)
		repl.Set(llmhttp.PlaceholderGeoContinent, loc.Continent)
	}
	return loc
}

// Handler publishes the client's location and calls next; it refuses nothing itself.
//
// Placeholders set: {http.llm.geo.country} (ISO 3166-1 alpha-2, or "unknown") and
// {http.llm.geo.continent} (AF AN AS EU NA OC SA, or "unknown").
type Handler struct {
	Database
	logger *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.llm_geo", New: func() caddy.Module { return new(Handler) }}
}

// Provision opens (or shares) the database; a missing or corrupt file fails here.
func (h *Handler) Provision(ctx caddy.Context) error {
	h.logger = ctx.Logger()
	return h.open(ctx)
}

// Cleanup releases this instance's use of the shared database.
func (h *Handler) Cleanup() error { return h.close() }

// ServeHTTP implements caddyhttp.MiddlewareHandler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) (err error) {
	g, w := llmhttp.Protect(w, r, h.logger)
	defer g.Recover(&err)
	h.locate(r)
	return next.ServeHTTP(w, r)
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.CleanerUpper          = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
