// Command llmload is the gateway's load generator (run by scripts/load.sh). It drives
// several Caddy sites in turn under the same closed-loop load — a fixed number of
// connections, each sending its next chat request as soon as the previous one is
// answered — and prints req/s, p50/p99 latency and each site's ratio to the first
// (baseline) site. Sites are alternated round by round (the order rotates each round),
// because on a shared machine only ratios measured side by side mean anything.
//
// With -ttft it compares the time to the first generated token of paced streams, and with
// -hold the gateway's heap per held stream (read from Caddy's admin heap profile).
//
// It is a measuring tool, not a test: it never fails on a number.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type site struct{ name, url string }

func main() {
	var (
		sites    = flag.String("sites", "", "name=url,… ; the first is the baseline")
		sizes    = flag.String("sizes", "1024,32768", "request body sizes in bytes")
		conns    = flag.Int("c", 32, "concurrent connections")
		dur      = flag.Duration("d", 3*time.Second, "duration of one site's turn in a round")
		rounds   = flag.Int("rounds", 5, "rounds (each runs every site once per size)")
		key      = flag.String("key", "", "API key sent as Authorization: Bearer to every site")
		ttft     = flag.String("ttft", "", "name=url,… of streamed sites to compare time to first token")
		ttftN    = flag.Int("ttft-n", 200, "streams per site for -ttft (one at a time, alternated)")
		hold     = flag.String("hold", "", "name=url=admin,… : hold -hold-n streams through each site and read the heap from its admin")
		holdN    = flag.Int("hold-n", 1000, "streams held at once for -hold")
		holdProf = flag.String("hold-profile", "", "directory to write each -hold site's heap profile (taken while the streams are held) to")
		warmup   = flag.Duration("warmup", time.Second, "unmeasured load on every site before the first round")
		maxToken = flag.Int("max-tokens", 256, "max_tokens of each request")
		gwPID    = flag.Int("gateway-pid", 0, "the gateway's process id: also report its CPU time per request (Linux /proc)")
		clkTck   = flag.Int("clk-tck", 100, "clock ticks per second of /proc/PID/stat (getconf CLK_TCK)")
	)
	flag.Parse()
	gateway = procCPU{pid: *gwPID, tck: *clkTck}
	if *sites != "" {
		ss := parseSites(*sites)
		for _, size := range parseInts(*sizes) {
			body := chatBody(size, *maxToken, false)
			load(ss, body, *key, *conns, *dur, *rounds, *warmup)
		}
	}
	if *ttft != "" {
		compareTTFT(parseSites(*ttft), *key, *ttftN, *maxToken)
	}
	if *hold != "" {
		for _, s := range strings.Split(*hold, ",") {
			p := strings.SplitN(s, "=", 3)
			if len(p) != 3 {
				fail("-hold wants name=url=admin, got %q", s)
			}
			heapPerStream(p[0], p[1], p[2], *key, *holdN, *maxToken, *holdProf)
		}
	}
}

func fail(f string, a ...any) {
	fmt.Fprintf(os.Stderr, "llmload: "+f+"\n", a...)
	os.Exit(2)
}

func parseSites(s string) []site {
	var out []site
	for _, kv := range strings.Split(s, ",") {
		n, u, ok := strings.Cut(kv, "=")
		if !ok {
			fail("site %q is not name=url", kv)
		}
		out = append(out, site{n, u})
	}
	return out
}

func parseInts(s string) []int {
	var out []int
	for _, f := range strings.Split(s, ",") {
		var n int
		if _, err := fmt.Sscan(f, &n); err != nil {
			fail("size %q: %v", f, err)
		}
		out = append(out, n)
	}
	return out
}

// words make ordinary prose: no detector finds anything in it, and the tokenizer sees
// the usual word pieces (a run of one letter would be its worst case, not a chat).
var words = strings.Fields(`the report on quarterly sales shows growth in every region while
costs stayed flat and the team plans to hire two engineers next month please summarise the
main points in a short paragraph for the board meeting on friday and suggest three questions
they might ask about the forecast for next year including risks from supply delays`)

// chatBody returns an OpenAI chat request of about size bytes.
func chatBody(size, maxTokens int, stream bool) []byte {
	r := rand.New(rand.NewPCG(uint64(size), 1))
	var text strings.Builder
	for text.Len() < size-120 {
		text.WriteString(words[r.IntN(len(words))])
		text.WriteByte(' ')
	}
	b, _ := json.Marshal(map[string]any{"model": "gpt-4o-mini", "max_tokens": maxTokens, "stream": stream,
		"messages": []any{map[string]any{"role": "user", "content": text.String()}}})
	return b
}

func newClient(conns int) *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns,
		MaxConnsPerHost: conns, IdleConnTimeout: time.Minute}, Timeout: time.Minute}
}

func post(ctx context.Context, c *http.Client, url, key string, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	return c.Do(req)
}

type result struct {
	n, errs int
	secs    float64
	cpu     float64 // the gateway's CPU seconds during the turn (with -gateway-pid)
	lat     []time.Duration
	status  map[int]int
}

func (r result) rps() float64 { return float64(r.n) / r.secs }

// run sends requests on conns connections for d.
func run(c *http.Client, url, key string, body []byte, conns int, d time.Duration) result {
	var mu sync.Mutex
	res := result{status: map[int]int{}}
	var stop atomic.Bool
	var wg sync.WaitGroup
	cpu0 := gateway.seconds()
	start := time.Now()
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			st := map[int]int{}
			errs := 0
			for !stop.Load() {
				t0 := time.Now()
				resp, err := post(context.Background(), c, url, key, body)
				if err != nil {
					errs++
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat = append(lat, time.Since(t0))
				st[resp.StatusCode]++
			}
			mu.Lock()
			res.lat = append(res.lat, lat...)
			res.errs += errs
			for k, v := range st {
				res.status[k] += v
			}
			mu.Unlock()
		}()
	}
	time.Sleep(d)
	stop.Store(true)
	wg.Wait()
	res.secs = time.Since(start).Seconds()
	res.cpu = gateway.seconds() - cpu0
	res.n = len(res.lat)
	return res
}

// procCPU reads a process's CPU time (user + system) from /proc/PID/stat. On a shared
// machine req/s swing with whatever else runs (other builds take the cores for seconds
// at a time), while the gateway's CPU time per request is what a handler adds and hardly
// depends on the neighbours: it is reported next to the ratios.
type procCPU struct{ pid, tck int }

var gateway procCPU

func (p procCPU) seconds() float64 {
	if p.pid == 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.pid))
	if err != nil {
		return 0
	}
	// The command name (field 2) is in parentheses and may hold spaces: count after it.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	var ut, st float64
	if len(f) > 12 {
		fmt.Sscan(f[11], &ut) // utime, field 14
		fmt.Sscan(f[12], &st) // stime, field 15
	}
	return (ut + st) / float64(p.tck)
}

func pct(l []time.Duration, p float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	slices.Sort(l)
	return l[min(len(l)-1, int(p*float64(len(l))))]
}

func median(x []float64) float64 {
	s := slices.Clone(x)
	slices.Sort(s)
	return s[len(s)/2]
}

func load(ss []site, body []byte, key string, conns int, d time.Duration, rounds int, warmup time.Duration) {
	clients := make([]*http.Client, len(ss))
	for i := range ss {
		clients[i] = newClient(conns)
		if res := run(clients[i], ss[i].url, key, body, conns, warmup); res.status[http.StatusOK] == 0 {
			fail("site %s (%s) answered no request with 200 during the warm-up (statuses %v, errors %d)", ss[i].name, ss[i].url, res.status, res.errs)
		}
	}
	rps := make([][]float64, len(ss))
	ratio := make([][]float64, len(ss))
	lat := make([][]time.Duration, len(ss))
	status := make([]map[int]int, len(ss))
	cpu, reqs := make([]float64, len(ss)), make([]int, len(ss))
	for i := range status {
		status[i] = map[int]int{}
	}
	for r := range rounds {
		got := make([]float64, len(ss))
		for k := range ss {
			i := (k + r) % len(ss) // rotate so that no site always runs first or last
			res := run(clients[i], ss[i].url, key, body, conns, d)
			got[i] = res.rps()
			cpu[i] += res.cpu
			reqs[i] += res.n
			rps[i] = append(rps[i], got[i])
			lat[i] = append(lat[i], res.lat...)
			for s, n := range res.status {
				status[i][s] += n
			}
			status[i][-1] += res.errs
		}
		for i := range ss {
			ratio[i] = append(ratio[i], got[i]/got[0])
		}
	}
	fmt.Printf("\n%d-byte chat requests, %d connections, %d rounds of %v per site\n", len(body), conns, rounds, d)
	fmt.Printf("%-12s %10s %10s %10s %8s %22s %12s %10s  %s\n", "site", "req/s", "p50", "p99", "ratio", "ratio min–max", "gw CPU/req", "CPU ratio", "statuses")
	perReq := func(i int) float64 { return cpu[i] / float64(max(reqs[i], 1)) }
	for i, s := range ss {
		cpuCol, cpuRatio := "-", "-"
		if gateway.pid != 0 && cpu[i] > 0 {
			// CPU ratio: plain's gateway CPU per request over this site's, the
			// throughput ratio if the gateway had the cores to itself.
			cpuCol = fmt.Sprintf("%.0f µs", perReq(i)*1e6)
			cpuRatio = fmt.Sprintf("%.2f×", perReq(0)/perReq(i))
		}
		fmt.Printf("%-12s %10.0f %10v %10v %7.2f× %10.2f–%.2f %12s %10s  %v\n", s.name, median(rps[i]),
			pct(lat[i], 0.5).Round(10*time.Microsecond), pct(lat[i], 0.99).Round(10*time.Microsecond),
			median(ratio[i]), slices.Min(ratio[i]), slices.Max(ratio[i]), cpuCol, cpuRatio, statusString(status[i]))
	}
}

func statusString(m map[int]int) string {
	var parts []string
	for _, k := range slices.Sorted(func(yield func(int) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}) {
		if m[k] == 0 {
			continue
		}
		name := fmt.Sprint(k)
		if k == -1 {
			name = "err"
		}
		parts = append(parts, fmt.Sprintf("%s:%d", name, m[k]))
	}
	return strings.Join(parts, " ")
}

// firstToken reads a stream up to its first event with generated text and returns how
// long that took from sending the request.
func firstToken(c *http.Client, url, key string, body []byte) (time.Duration, error) {
	t0 := time.Now()
	resp, err := post(context.Background(), c, url, key, body)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		l := sc.Text()
		if i := strings.Index(l, `"content":"`); strings.HasPrefix(l, "data:") && i >= 0 && i+11 < len(l) && l[i+11] != '"' {
			return time.Since(t0), nil // closing the rest drops the connection: each stream dials anew
		}
	}
	return 0, fmt.Errorf("status %d: no generated text in the stream", resp.StatusCode)
}

func compareTTFT(ss []site, key string, n, maxTokens int) {
	body := chatBody(1024, maxTokens, true)
	c := newClient(1)
	t := make([][]time.Duration, len(ss))
	errs := 0
	for r := range n {
		for k := range ss {
			i := (k + r) % len(ss)
			d, err := firstToken(c, ss[i].url, key, body)
			if err != nil {
				errs++
				continue
			}
			t[i] = append(t[i], d)
		}
	}
	fmt.Printf("\ntime to first token, paced stream, %d streams per site one at a time (errors %d)\n", n, errs)
	fmt.Printf("%-12s %10s %10s %12s %12s\n", "site", "p50", "p99", "p50 - base", "p99 - base")
	for i, s := range ss {
		p50, p99 := pct(t[i], 0.5), pct(t[i], 0.99)
		fmt.Printf("%-12s %10v %10v %12v %12v\n", s.name, p50.Round(time.Microsecond), p99.Round(time.Microsecond),
			(p50 - pct(t[0], 0.5)).Round(time.Microsecond), (p99 - pct(t[0], 0.99)).Round(time.Microsecond))
	}
}

// heapAlloc returns the gateway's live heap: the HeapAlloc that the heap profile handler
// prints (debug=1) right after the collection it runs first (gc=1). Reading /debug/vars
// in a second request instead counted what the held streams allocated in between (a
// stream event's garbage times thousands of events per second), which inflated and
// scattered the figure. The binary profile is written to save unless that is empty.
func heapAlloc(admin string, save ...string) (uint64, error) {
	get := func(u string) ([]byte, error) {
		resp, err := http.Get(u)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		return io.ReadAll(resp.Body)
	}
	if len(save) > 0 && save[0] != "" {
		b, err := get(admin + "/debug/pprof/heap?gc=1")
		if err != nil {
			return 0, err
		}
		if err := os.WriteFile(save[0], b, 0o644); err != nil {
			return 0, err
		}
	}
	b, err := get(admin + "/debug/pprof/heap?gc=1&debug=1")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "# HeapAlloc = "); ok {
			var n uint64
			if _, err := fmt.Sscan(v, &n); err != nil {
				return 0, err
			}
			return n, nil
		}
	}
	return 0, fmt.Errorf("no HeapAlloc in %s's heap profile", admin)
}

// heapMin is the smallest of a few heapAlloc readings: events being processed at the
// moment of a collection are live then, but are not what the streams hold.
func heapMin(admin string, save string) (uint64, error) {
	best := uint64(0)
	for i := range 3 {
		if i > 0 {
			time.Sleep(200 * time.Millisecond)
			save = ""
		}
		h, err := heapAlloc(admin, save)
		if err != nil {
			return 0, err
		}
		if i == 0 || h < best {
			best = h
		}
	}
	return best, nil
}

// heapPerStream opens n streams through url, waits until each has received its first
// token, reads the gateway's heap, and closes them.
func heapPerStream(name, url, admin, key string, n, maxTokens int, profDir string) {
	body := chatBody(1024, maxTokens, true)
	// One stream first, so that what the first request initialises (tokenizer tables,
	// pools) is not counted per stream.
	if _, err := firstToken(newClient(1), url, key, body); err != nil {
		fail("warm-up stream through %s: %v", name, err)
	}
	// Streams of an earlier measurement may still be winding down in the gateway (it
	// notices a closed client at its next write): wait until its heap stops shrinking.
	before, err := heapAlloc(admin)
	for range 20 {
		time.Sleep(500 * time.Millisecond)
		h, err2 := heapAlloc(admin)
		if err2 != nil || h >= before-before/50 {
			break
		}
		before = h
	}
	if err != nil {
		fail("reading heap from %s: %v", admin, err)
	}
	c := newClient(n)
	ctx, cancel := context.WithCancel(context.Background())
	var ready, failed sync.WaitGroup
	var errs atomic.Int64
	ready.Add(n)
	failed.Add(n)
	for range n {
		go func() {
			defer failed.Done()
			resp, err := post(ctx, c, url, key, body)
			if err != nil {
				errs.Add(1)
				ready.Done()
				return
			}
			defer resp.Body.Close()
			br := bufio.NewReader(resp.Body)
			_, err = br.ReadString('\n')
			if err != nil {
				errs.Add(1)
			}
			ready.Done()
			_, _ = io.Copy(io.Discard, br) // held until cancel
		}()
	}
	ready.Wait()
	time.Sleep(500 * time.Millisecond) // let every stream reach its steady state
	save := ""
	if profDir != "" {
		save = profDir + "/" + name + ".heap.pprof"
	}
	during, err := heapMin(admin, save)
	cancel()
	failed.Wait()
	if err != nil {
		fail("reading heap from %s: %v", admin, err)
	}
	per := (float64(during) - float64(before)) / float64(n)
	fmt.Printf("\n%s: %d streams held (errors %d): gateway heap %.1f MiB → %.1f MiB, %.1f KiB per stream\n",
		name, n, errs.Load(), float64(before)/(1<<20), float64(during)/(1<<20), per/1024)
}
