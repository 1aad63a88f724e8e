// Command loadgen drives an HTTP endpoint with a fixed number of keep-alive connections for
// a fixed time and prints what it measured as one JSON line: requests per second, latency
// percentiles, and the count of answers that were not the wanted status. scripts/load.sh
// uses it to compare gateway configurations side by side; it is not part of the tests.
//
//	loadgen -url http://localhost:8080/v1/chat/completions -body req.json -c 32 -d 5s \
//	    -H 'Authorization: Bearer sk-…'
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

type headers []string

func (h *headers) String() string     { return strings.Join(*h, ", ") }
func (h *headers) Set(v string) error { *h = append(*h, v); return nil }

// result is what one run measured.
type result struct {
	Requests int     `json:"requests"`
	RPS      float64 `json:"rps"`
	P50MS    float64 `json:"p50_ms"`
	P99MS    float64 `json:"p99_ms"`
	Errors   int     `json:"errors"` // transport errors and unwanted statuses
}

func main() {
	url := flag.String("url", "", "endpoint to POST to (required)")
	bodyFile := flag.String("body", "", "file with the request body (required)")
	conns := flag.Int("c", 32, "concurrent connections")
	dur := flag.Duration("d", 5*time.Second, "duration of the run")
	status := flag.Int("status", 200, "the status a successful answer has")
	var hdrs headers
	flag.Var(&hdrs, "H", "request header 'Name: value' (repeatable)")
	flag.Parse()
	if *url == "" || *bodyFile == "" || *conns < 1 {
		flag.Usage()
		os.Exit(2)
	}
	body, err := os.ReadFile(*bodyFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	res, err := run(*url, body, hdrs, *conns, *dur, *status)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	_ = json.NewEncoder(os.Stdout).Encode(res)
}

func run(url string, body []byte, hdrs []string, conns int, dur time.Duration, want int) (result, error) {
	tr := &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, DisableCompression: true}
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	defer tr.CloseIdleConnections()
	newReq := func() (*http.Request, error) {
		req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		for _, h := range hdrs {
			k, v, ok := strings.Cut(h, ":")
			if !ok {
				return nil, fmt.Errorf("header %q: want 'Name: value'", h)
			}
			req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
		}
		return req, nil
	}
	if _, err := newReq(); err != nil {
		return result{}, err
	}
	var mu sync.Mutex
	var lat []time.Duration
	errs := 0
	deadline := time.Now().Add(dur)
	var wg sync.WaitGroup
	for range conns {
		wg.Go(func() {
			var mine []time.Duration
			bad := 0
			for time.Now().Before(deadline) {
				req, _ := newReq()
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					bad++
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != want {
					bad++
					continue
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			errs += bad
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.Sort(lat)
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	return result{Requests: len(lat), RPS: float64(len(lat)) / dur.Seconds(), P50MS: pct(0.5), P99MS: pct(0.99), Errors: errs}, nil
}
