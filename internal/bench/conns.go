package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ConnsOptions configures RunConns.
type ConnsOptions struct {
	// URL is a running qyshook's HTTP root, e.g. http://127.0.0.1:8080.
	URL string
	// Conns is how many clients each make one request and then keep their
	// connection open, idle (default 5000).
	Conns int
	// Hold, when positive, waits that long with the connections idle,
	// then counts those the server has closed and measures again (set it
	// past the server's QYSHOOK_IDLE_TIMEOUT).
	Hold time.Duration
}

// ConnsResult is what RunConns measured: the server's resident memory
// and connection metrics, read from its /metrics.
type ConnsResult struct {
	Conns                 int
	Served, Refused, Lost int     // answers: 200, 503 (over the cap), none
	RSSBefore, RSSHeld    float64 // bytes: before the clients, with them idle
	HeapBefore, HeapHeld  float64 // go_memstats_heap_inuse_bytes, same moments
	OpenHeld              float64 // qyshook_http_connections_open{listener="callback"} with them idle
	RefusedMetric         float64 // qyshook_http_connections_refused_total{listener="callback"} after
	Hold                  time.Duration
	ClosedByServer        int     // after Hold: idle connections the server closed
	RSSAfter, OpenAfter   float64 // after Hold
	HeapAfter             float64 // after Hold
}

func (r *ConnsResult) String() string {
	const mib = 1 << 20
	s := fmt.Sprintf("conns: %d idle keep-alive clients after one request each: %d served and held, %d refused (503), %d without answer\n"+
		"  server RSS %.1f MiB before, %.1f MiB with them idle (+%.1f MiB); heap in use %.1f → %.1f MiB; open connections %.0f, refused total %.0f",
		r.Conns, r.Served, r.Refused, r.Lost, r.RSSBefore/mib, r.RSSHeld/mib, (r.RSSHeld-r.RSSBefore)/mib,
		r.HeapBefore/mib, r.HeapHeld/mib, r.OpenHeld, r.RefusedMetric)
	if r.Hold > 0 {
		s += fmt.Sprintf("\n  after %s idle: %d closed by the server, open connections %.0f, server RSS %.1f MiB, heap in use %.1f MiB",
			r.Hold, r.ClosedByServer, r.OpenAfter, r.RSSAfter/mib, r.HeapAfter/mib)
	}
	return s
}

// RunConns opens o.Conns keep-alive connections to a running qyshook,
// one GET /healthz each, keeps them idle, and reads the server's resident
// memory and connection metrics before, while they are held, and (with
// Hold) after they have been idle for Hold. The metrics are read over
// one keep-alive connection opened first, so a full server still answers.
func RunConns(ctx context.Context, o ConnsOptions) (*ConnsResult, error) {
	if o.Conns <= 0 {
		o.Conns = 5000
	}
	u, err := url.Parse(o.URL)
	if err != nil || u.Host == "" || u.Scheme != "http" {
		return nil, fmt.Errorf("bench conns: -url %q: want http://host:port", o.URL)
	}
	if err := raiseNoFile(uint64(o.Conns) + 256); err != nil {
		return nil, err
	}
	scraper := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1, MaxConnsPerHost: 1}}
	defer scraper.CloseIdleConnections()
	scrape := func() (map[string]float64, error) { return scrapeMetrics(ctx, scraper, o.URL+"/metrics") }
	r := &ConnsResult{Conns: o.Conns, Hold: o.Hold}
	m, err := scrape()
	if err != nil {
		return nil, err
	}
	r.RSSBefore, r.HeapBefore = m["process_resident_memory_bytes"], m["go_memstats_heap_inuse_bytes"]

	conns := make([]net.Conn, o.Conns)
	status := make([]int, o.Conns)
	defer func() {
		for _, c := range conns {
			if c != nil {
				_ = c.Close()
			}
		}
	}()
	var wg sync.WaitGroup
	next := make(chan int)
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				conns[i], status[i] = oneRequest(u.Host)
			}
		}()
	}
	for i := range o.Conns {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, st := range status {
		switch st {
		case http.StatusOK:
			r.Served++
		case http.StatusServiceUnavailable:
			r.Refused++
		default:
			r.Lost++
		}
	}
	time.Sleep(time.Second) // let the server settle before reading its RSS
	if m, err = scrape(); err != nil {
		return nil, fmt.Errorf("with the connections held: %w", err)
	}
	r.RSSHeld, r.HeapHeld = m["process_resident_memory_bytes"], m["go_memstats_heap_inuse_bytes"]
	r.OpenHeld = m[`qyshook_http_connections_open{listener="callback"}`]
	r.RefusedMetric = m[`qyshook_http_connections_refused_total{listener="callback"}`]
	if o.Hold <= 0 {
		return r, nil
	}
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(o.Hold):
	}
	for i, c := range conns {
		if c == nil || status[i] != http.StatusOK {
			continue
		}
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
		if _, err := c.Read(make([]byte, 1)); errors.Is(err, io.EOF) {
			r.ClosedByServer++
		}
	}
	if m, err = scrape(); err != nil {
		return nil, fmt.Errorf("after the hold: %w", err)
	}
	r.RSSAfter, r.HeapAfter = m["process_resident_memory_bytes"], m["go_memstats_heap_inuse_bytes"]
	r.OpenAfter = m[`qyshook_http_connections_open{listener="callback"}`]
	return r, nil
}

// oneRequest dials host, sends one keep-alive GET /healthz and returns
// the open connection and the answer's status (0: none).
func oneRequest(host string) (net.Conn, int) {
	c, err := net.DialTimeout("tcp", host, 10*time.Second)
	if err != nil {
		return nil, 0
	}
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: "+host+"\r\n\r\n"); err != nil {
		return c, 0
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return c, 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	_ = c.SetDeadline(time.Time{})
	return c, resp.StatusCode
}

// scrapeMetrics reads a Prometheus text page into series → value (the
// series as written, labels included).
func scrapeMetrics(ctx context.Context, c *http.Client, u string) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("bench conns: metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("bench conns: metrics: status %d", resp.StatusCode)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			out[line[:i]] = v
		}
	}
	return out, sc.Err()
}

// raiseNoFile raises this process's soft limit of open files to n.
func raiseNoFile(n uint64) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	if lim.Cur >= n {
		return nil
	}
	if lim.Max < n {
		return fmt.Errorf("bench conns: open files hard limit %d < %d (ulimit -Hn)", lim.Max, n)
	}
	lim.Cur = n
	return syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
}
