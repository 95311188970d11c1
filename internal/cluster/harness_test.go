package cluster

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// binaries builds nats-server (the module go.mod pins) and the commands of
// this module once per test binary, and returns the directory.
func binaries(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go toolchain not on PATH")
	}
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "qyshook-drill-bin")
		if buildErr != nil {
			return
		}
		args := []string{"build", "-o", binDir + string(os.PathSeparator),
			"github.com/nats-io/nats-server/v2",
			"github.com/qyshook/qyshook/cmd/receiver",
			"github.com/qyshook/qyshook/cmd/dispatcher",
			"github.com/qyshook/qyshook/cmd/qyshook"}
		cmd := exec.Command("go", args...)
		if nice, err := exec.LookPath("nice"); err == nil {
			cmd = exec.Command(nice, append([]string{"-n", "5", "go"}, args...)...)
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binDir
}

// freePort returns a loopback port nobody listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// proc is one child process, restartable with the same command line.
type proc struct {
	name    string
	bin     string
	args    []string
	env     []string
	logPath string
	ready   func(ctx context.Context) error // nil: started is ready

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

func (p *proc) start(t *testing.T) {
	t.Helper()
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(p.bin, p.args...)
	cmd.Env = append(os.Environ(), p.env...)
	// Through a pipe, not the file itself: a file-size limit put on the
	// process (the disk-full drill) must not cut its log.
	w := struct{ io.Writer }{logf}
	cmd.Stdout, cmd.Stderr = w, w
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("start %s: %v", p.name, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(exited)
	}()
	p.mu.Lock()
	p.cmd, p.exited = cmd, exited
	p.mu.Unlock()
	if p.ready != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		go func() {
			select {
			case <-exited:
				cancel() // no point waiting for a process that is gone
			case <-ctx.Done():
			}
		}()
		if err := p.ready(ctx); err != nil {
			t.Fatalf("%s not ready: %v\n%s", p.name, err, p.logTail())
		}
	}
}

func (p *proc) pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

func (p *proc) running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.exited == nil {
		return false
	}
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// signal sends sig and, for SIGKILL, waits until the process is gone.
func (p *proc) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	select {
	case <-exited:
		return
	default:
	}
	_ = cmd.Process.Signal(sig)
	timeout := 30 * time.Second
	select {
	case <-exited:
	case <-time.After(timeout):
		_ = cmd.Process.Kill()
		<-exited
		if sig != syscall.SIGKILL {
			t.Errorf("%s did not stop on %v within %v", p.name, sig, timeout)
		}
	}
}

func (p *proc) logTail() string {
	b, _ := os.ReadFile(p.logPath)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return fmt.Sprintf("--- %s log (%s) ---\n%s", p.name, p.logPath, b)
}

// httpReady waits until GET addr/readyz answers 200.
func httpReady(addr string) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		var last error
		for {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/readyz", nil)
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return nil
				}
				err = fmt.Errorf("readyz: %s", resp.Status)
			}
			last = err
			select {
			case <-ctx.Done():
				return fmt.Errorf("%w (last: %v)", ctx.Err(), last)
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
}

// natsCluster is a JetStream cluster of nats-server processes.
type natsCluster struct {
	nodes []*proc
	names []string
	urls  []string
}

func startNATSCluster(t *testing.T, bin, dir string, n int) *natsCluster {
	t.Helper()
	c := &natsCluster{}
	clientPorts, routePorts := make([]int, n), make([]int, n)
	for i := range n {
		clientPorts[i], routePorts[i] = freePort(t), freePort(t)
	}
	for i := range n {
		name := fmt.Sprintf("n%d", i+1)
		var routes []string
		for j := range n {
			if j != i {
				routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", routePorts[j]))
			}
		}
		conf := fmt.Sprintf(`server_name: %s
listen: 127.0.0.1:%d
jetstream {
  store_dir: %q
  max_memory_store: 64MB
  max_file_store: 2GB
}
cluster {
  name: qyshook-drill
  listen: 127.0.0.1:%d
  routes: [%s]
}
`, name, clientPorts[i], filepath.Join(dir, name), routePorts[i], strings.Join(routes, ", "))
		path := filepath.Join(dir, name+".conf")
		if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		u := fmt.Sprintf("nats://127.0.0.1:%d", clientPorts[i])
		c.names = append(c.names, name)
		c.urls = append(c.urls, u)
		c.nodes = append(c.nodes, &proc{name: "nats " + name, bin: bin, args: []string{"-c", path},
			logPath: filepath.Join(dir, name+".log"), ready: tcpReady(fmt.Sprintf("127.0.0.1:%d", clientPorts[i]))})
	}
	for _, p := range c.nodes {
		p.start(t)
		t.Cleanup(func() { p.signal(t, syscall.SIGKILL) })
	}
	return c
}

func (c *natsCluster) url() string { return strings.Join(c.urls, ",") }

func (c *natsCluster) node(name string) *proc {
	for i, n := range c.names {
		if n == name {
			return c.nodes[i]
		}
	}
	return nil
}

func tcpReady(addr string) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		for {
			conn, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				conn.Close()
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("%w (last: %v)", ctx.Err(), err)
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
}

// connectJS connects the test to the NATS servers at url and waits until
// JetStream answers (a cluster has elected its meta leader).
func connectJS(t *testing.T, url string, replicas int) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		actx, acancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := js.AccountInfo(actx)
		acancel()
		if err == nil && replicas > 1 {
			// Every peer is there once a stream of that many replicas
			// can be placed.
			actx, acancel := context.WithTimeout(ctx, 5*time.Second)
			_, err = js.CreateStream(actx, jetstream.StreamConfig{Name: "DRILL_PROBE", Subjects: []string{"drill.probe"},
				Replicas: replicas, Storage: jetstream.MemoryStorage})
			if err == nil {
				err = js.DeleteStream(actx, "DRILL_PROBE")
			}
			acancel()
		}
		if err == nil {
			return nc, js
		}
		select {
		case <-ctx.Done():
			t.Fatalf("JetStream not available at %s: %v", url, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// tcpProxy forwards loopback connections to target; cut drops every
// connection and refuses new ones until restored.
type tcpProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	down   bool
	wg     sync.WaitGroup

	cut, refused int // connections dropped by setDown, refused while down
}

func (p *tcpProxy) counts() (cut, refused int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cut, p.refused
}

func startTCPProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() {
		ln.Close()
		p.setDown(true)
		p.wg.Wait()
	})
	return p
}

func (p *tcpProxy) addr() string { return p.ln.Addr().String() }

func (p *tcpProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.down {
			p.refused++
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns[c] = struct{}{}
		p.mu.Unlock()
		p.wg.Add(1)
		go p.pipe(c)
	}
}

func (p *tcpProxy) pipe(c net.Conn) {
	defer p.wg.Done()
	defer func() {
		p.mu.Lock()
		delete(p.conns, c)
		p.mu.Unlock()
		c.Close()
	}()
	u, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		return
	}
	p.mu.Lock()
	if p.down {
		p.mu.Unlock()
		u.Close()
		return
	}
	p.conns[u] = struct{}{}
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.conns, u)
		p.mu.Unlock()
		u.Close()
	}()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(u, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, u); done <- struct{}{} }()
	<-done
}

// setDown cuts (true) or restores (false) the path to the target.
func (p *tcpProxy) setDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	if down {
		for c := range p.conns {
			c.Close()
			p.cut++
		}
	}
}

// roundRobin is the gateway in front of the receivers: each request goes to
// the next backend; a dead backend answers 502 (契约锁 then retries).
type roundRobin struct {
	srv      *httptest.Server
	backends []*url.URL
	next     atomic.Uint64
}

func startRoundRobin(t *testing.T, backends ...string) *roundRobin {
	t.Helper()
	rr := &roundRobin{}
	for _, b := range backends {
		u, err := url.Parse("http://" + b)
		if err != nil {
			t.Fatal(err)
		}
		rr.backends = append(rr.backends, u)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			n := rr.next.Add(1)
			r.SetURL(rr.backends[int(n)%len(rr.backends)])
		},
		Transport: tr,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			w.WriteHeader(http.StatusBadGateway)
		},
		ErrorLog: nil,
	}
	rr.srv = httptest.NewServer(proxy)
	rr.srv.Config.ErrorLog = nil
	t.Cleanup(rr.srv.Close)
	return rr
}

// prlimitFsize sets RLIMIT_FSIZE of a running process (the disk-full
// drill); limit < 0 lifts it.
func prlimitFsize(pid int, limit int64) error {
	lim := syscall.Rlimit{Cur: ^uint64(0), Max: ^uint64(0)}
	if limit >= 0 {
		lim.Cur = uint64(limit)
	}
	_, _, errno := syscall.RawSyscall6(syscall.SYS_PRLIMIT64, uintptr(pid), uintptr(syscall.RLIMIT_FSIZE),
		uintptr(unsafe.Pointer(&lim)), 0, 0, 0)
	if errno != 0 {
		return fmt.Errorf("prlimit(%d, RLIMIT_FSIZE): %w", pid, errno)
	}
	return nil
}

// TestMain removes the built binaries after the run.
func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}
