package cluster

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/embeddednats"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/qys/qystest"
)

// The power-loss drill: `qyshook serve` on embedded defaults with its whole
// data dir (NATS store, SQLite ledger, documents) on an ext4 image in a
// loop device, under callback load. A power cut is a copy of the image
// taken while serve is stopped (SIGSTOP): the copy holds what the file
// system has submitted to the device; what it still held dirty in its page
// cache is lost, as on power loss. serve is then killed, the copy checked
// (e2fsck), mounted and booted on, and after the drain the drill checks
// that every callback answered `success` before the cut is in the ledger
// exactly once, that every archived document is whole, and (at the end of
// the run) that each fact is at most once on QYS_LEDGER.
//
// One cut in four is taken at a random instant, the others at the first
// answer 200 after a random instant (serve is stopped before the answer
// reaches 契约锁): the moment an acknowledgement must already be durable.
// During the load the platform's API answers slowly, so the dispatcher
// lags and some acknowledged callbacks are only in the stream at the cut.
//
// The control runs the same drill with QYSHOOK_NATS_SYNC=10m (nats-server's
// periodic flush): it must lose acknowledged callbacks, else the method
// is blind and the drill fails.
//
//	QYSHOOK_FAULT_DRILLS=1 go test -count=1 -v -run '^TestPowerLoss$' ./internal/cluster/
//
// QYSHOOK_POWER_CUTS (default 20) is the number of cuts with the default
// sync; the control takes 3.

const (
	powerImageSize   = 192 << 20 // at least; 4 MiB more per cut (a cut's load keeps about 2.2 MiB)
	powerControlCuts = 3
	powerRate        = 40                     // contracts per second during a cut's load
	powerAPILatency  = 150 * time.Millisecond // the platform's API during the load
	powerSenders     = 4                      // concurrent senders beside 契约锁's one at a time
	powerSenderGap   = 50 * time.Millisecond  // between one sender's callbacks
)

// loopUnavailable says why this machine cannot loop-mount an image, "" if it can.
func loopUnavailable() string {
	if os.Geteuid() != 0 {
		return "not root (loop devices and mount need it)"
	}
	for _, c := range []string{"mkfs.ext4", "e2fsck", "losetup", "mount", "umount", "cp"} {
		if _, err := exec.LookPath(c); err != nil {
			return c + " not found"
		}
	}
	if _, err := os.Stat("/dev/loop-control"); err != nil {
		return "no /dev/loop-control"
	}
	if out, err := exec.Command("losetup", "-f").CombinedOutput(); err != nil {
		return "no free loop device: " + strings.TrimSpace(string(out))
	}
	return ""
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// disk is an ext4 image attached to a loop device and mounted.
type disk struct {
	img, mnt string
	dev      string // "" while detached
}

func newDisk(t *testing.T, dir string, size int64) *disk {
	t.Helper()
	d := &disk{img: filepath.Join(dir, "disk.img"), mnt: filepath.Join(dir, "mnt")}
	if err := os.MkdirAll(d.mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(d.img, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(d.img, size); err != nil {
		t.Fatal(err)
	}
	run(t, "mkfs.ext4", "-q", "-F", d.img)
	d.attach(t)
	// Registered before any process using it, so it runs after they are killed.
	t.Cleanup(func() {
		if d.dev != "" {
			if out, err := exec.Command("umount", d.mnt).CombinedOutput(); err != nil {
				t.Logf("umount %s: %v %s (lazy unmount)", d.mnt, err, out)
				_ = exec.Command("umount", "-l", d.mnt).Run()
			}
			_ = exec.Command("losetup", "-d", d.dev).Run()
			d.dev = ""
		}
	})
	return d
}

// attach puts the image on a loop device and mounts it with ext4's
// defaults (auto_da_alloc: the grouped sync is used on it).
func (d *disk) attach(t *testing.T) {
	t.Helper()
	d.dev = run(t, "losetup", "-f", "--show", d.img)
	if out, err := exec.Command("mount", "-t", "ext4", d.dev, d.mnt).CombinedOutput(); err != nil {
		_ = exec.Command("losetup", "-d", d.dev).Run()
		d.dev = ""
		t.Fatalf("mount %s: %v\n%s", d.img, err, out)
	}
}

func (d *disk) detach(t *testing.T) {
	t.Helper()
	run(t, "umount", d.mnt)
	run(t, "losetup", "-d", d.dev)
	d.dev = ""
}

// waitStopped waits until every thread of pid is stopped (a thread inside
// a system call, a sync among them, stops when the call returns).
func waitStopped(pid int) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
		if err != nil {
			return err
		}
		all := true
		for _, task := range tasks {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/stat", pid, task.Name()))
			if err != nil {
				continue // the thread ended
			}
			// pid (comm) state ...: comm may hold spaces, the state follows the last ')'.
			s := string(b)
			i := strings.LastIndexByte(s, ')')
			if i < 0 || i+2 >= len(s) || (s[i+2] != 'T' && s[i+2] != 't') {
				all = false
				break
			}
		}
		if all {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pid %d: threads not all stopped after 10 s", pid)
		}
		time.Sleep(time.Millisecond)
	}
}

// cutProxy stands between 契约锁 and serve; armed, it stops serve as soon
// as serve has answered 200, before the answer goes on to 契约锁.
type cutProxy struct {
	srv   *httptest.Server
	armed atomic.Pointer[func()]
}

func startCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	u, err := url.Parse("http://" + target)
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{}
	rp := &httputil.ReverseProxy{
		Rewrite:   func(r *httputil.ProxyRequest) { r.SetURL(u) },
		Transport: http.DefaultTransport.(*http.Transport).Clone(),
		ModifyResponse: func(resp *http.Response) error {
			if resp.StatusCode == http.StatusOK {
				if f := p.armed.Swap(nil); f != nil {
					(*f)()
				}
			}
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) { w.WriteHeader(http.StatusBadGateway) },
	}
	p.srv = httptest.NewServer(rp)
	p.srv.Config.ErrorLog = nil
	t.Cleanup(p.srv.Close)
	return p
}

// powerRun is one mode of the drill: one serve, one disk, a series of cuts.
type powerRun struct {
	name     string
	sync     string // QYSHOOK_NATS_SYNC ("" for the default)
	dir      string
	disk     *disk
	fake     *qystest.Server
	serve    *proc
	addr     string
	proxy    *cutProxy
	ledgerDB string

	contracts int
	sender    qys.SenderConfig
	ownMu     sync.Mutex
	own       map[string]bool // callbacks of the concurrent senders answered success (contract/type)
	cuts      []cutResult
	lostSeen  map[string]bool // callbacks found lost (contract/type), counted once
	factsDup  int             // fact ids on QYS_LEDGER more than once
	factsGone int             // facts the outbox marks published, missing from QYS_LEDGER
	factsN    int
	syncs     float64 // grouped syncs seen on serve's /metrics before the first cut
}

type cutResult struct {
	atAnswer  bool
	at        time.Duration // into the load
	backlog   float64       // callbacks not yet applied, sampled just before the cut
	accepted  int           // callbacks answered success before the cut (all so far)
	lost      int           // newly lost at this cut
	doubled   int
	docs      int
	docsBad   int
	fsck      int // e2fsck's exit status on the copy
	problems  []string
	recovered time.Duration // from the cut to the drained, checked ledger
}

func TestPowerLoss(t *testing.T) {
	if os.Getenv("QYSHOOK_FAULT_DRILLS") == "" {
		t.Skip("set QYSHOOK_FAULT_DRILLS=1 to run the power-loss drill (loop-mounted ext4, real processes)")
	}
	if why := loopUnavailable(); why != "" {
		t.Skip("power-loss drill skipped: " + why)
	}
	cuts := 20
	if v := os.Getenv("QYSHOOK_POWER_CUTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("QYSHOOK_POWER_CUTS=%q: want a positive number", v)
		}
		cuts = n
	}
	bin := binaries(t)
	var runs []*powerRun
	// The control first: a blind method makes the rest meaningless.
	control := &powerRun{name: "control: QYSHOOK_NATS_SYNC=10m (interval)", sync: "10m"}
	t.Run("control", func(t *testing.T) { control.drill(t, bin, powerControlCuts) })
	runs = append(runs, control)
	def := &powerRun{name: "default (grouped sync)"}
	t.Run("default", func(t *testing.T) { def.drill(t, bin, cuts) })
	runs = append(runs, def)

	var b strings.Builder
	fmt.Fprintf(&b, "\nPower-loss drill: `qyshook serve`, data dir on a loop-mounted ext4 image, %d contracts/s, API latency %v during the load:\n\n", powerRate, powerAPILatency)
	b.WriteString("| sync | cuts (at an answer) | callbacks answered `success` before the last cut | lost | doubled | facts on QYS_LEDGER (more than once / published but missing) | archived documents checked (bad) | e2fsck on the copy (worst exit) | backlog at cut (mean) | boot + drain (max) |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range runs {
		b.WriteString(r.line() + "\n")
	}
	fmt.Print(b.String())

	if len(control.cuts) == powerControlCuts && len(control.lostSeen) == 0 {
		t.Errorf("the control (%s) lost nothing over %d cuts: the drill cannot see loss, so its 0 for the default proves nothing", control.sync, powerControlCuts)
	}
	if len(def.cuts) == cuts {
		// A fact is marked published once QYS_LEDGER acknowledged it (and,
		// grouped, synced): one the stream lacks is an acknowledged write lost.
		if len(def.lostSeen) > 0 || def.factsDup > 0 || def.factsGone > 0 {
			t.Errorf("default sync: %d acknowledged callbacks lost, %d facts more than once on QYS_LEDGER, %d facts marked published missing from it",
				len(def.lostSeen), def.factsDup, def.factsGone)
		}
		for i, c := range def.cuts {
			if len(c.problems) > 0 {
				t.Errorf("default sync, cut %d: %s", i+1, strings.Join(c.problems[:min(8, len(c.problems))], "; "))
			}
		}
		// Its zeros mean something only if there was something to lose.
		if why := def.empty(); why != "" {
			t.Errorf("default sync: %s: the drill checked nothing, so its 0 lost proves nothing", why)
		}
	}
}

// empty says what a run did not exercise (nothing when it accepted
// callbacks, checked archived documents and found facts on QYS_LEDGER).
func (r *powerRun) empty() string {
	var accepted, docs int
	for _, c := range r.cuts {
		accepted, docs = max(accepted, c.accepted), max(docs, c.docs)
	}
	var missing []string
	if accepted == 0 {
		missing = append(missing, "no callback answered success")
	}
	if docs == 0 {
		missing = append(missing, "no archived document checked")
	}
	if r.factsN == 0 {
		missing = append(missing, "no fact found on QYS_LEDGER")
	}
	return strings.Join(missing, ", ")
}

func (r *powerRun) line() string {
	var answer, lost, doubled, docs, docsBad, fsck int
	var backlog float64
	var worst time.Duration
	accepted := 0
	for _, c := range r.cuts {
		if c.atAnswer {
			answer++
		}
		lost += c.lost
		doubled += c.doubled
		docs, docsBad = c.docs, c.docsBad
		fsck = max(fsck, c.fsck)
		backlog += c.backlog
		worst = max(worst, c.recovered)
		accepted = c.accepted
	}
	if len(r.cuts) > 0 {
		backlog /= float64(len(r.cuts))
	}
	return fmt.Sprintf("| %s | %d (%d) | %d | %d | %d | %d (%d / %d) | %d (%d) | %d | %.0f | %.1f s |", r.name, len(r.cuts), answer, accepted,
		lost, doubled, r.factsN, r.factsDup, r.factsGone, docs, docsBad, fsck, backlog, worst.Seconds())
}

func (r *powerRun) drill(t *testing.T, bin string, cuts int) {
	r.dir = t.TempDir()
	// Sized for the run: a full disk would stop the drill (the store
	// refuses writes: "insufficient resources"), not test it.
	r.disk = newDisk(t, r.dir, max(powerImageSize, int64(cuts)*4<<20+64<<20))
	r.lostSeen = map[string]bool{}
	r.fake = qystest.NewServer(qystest.WithTimeScale(1e-3))
	t.Cleanup(r.fake.Close)
	sec := secret()
	r.addr = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	data := filepath.Join(r.disk.mnt, "data")
	r.ledgerDB = filepath.Join(data, "ledger.db")
	// No admin API: its default port (127.0.0.1:8082) would collide with
	// any other serve on the machine.
	env := []string{"QYSHOOK_HTTP_ADDR=" + r.addr, "QYSHOOK_DATA_DIR=" + data, "QYSHOOK_ADMIN_ADDR=off",
		"QYSHOOK_CALLBACK_SECRET=" + sec,
		"QYSHOOK_QYS_BASE_URL=" + r.fake.URL, "QYSHOOK_QYS_APP_TOKEN=" + r.fake.AppToken,
		"QYSHOOK_QYS_APP_SECRET=" + r.fake.AppSecret,
		"QYSHOOK_RECONCILE_INTERVAL=0", "QYSHOOK_ACK_WAIT=3s",
		"QYSHOOK_DUPLICATE_WINDOW=10m", "QYSHOOK_STREAM_MAX_AGE=1h", "QYSHOOK_PUBLISH_TIMEOUT=2s",
		"QYSHOOK_LOG_LEVEL=warn"}
	if r.sync != "" {
		env = append(env, "QYSHOOK_NATS_SYNC="+r.sync)
	}
	r.serve = &proc{name: "serve", bin: filepath.Join(bin, "qyshook"), args: []string{"serve"}, env: env,
		logPath: filepath.Join(r.dir, "serve.log"), ready: httpReady(r.addr)}
	r.serve.start(t)
	t.Cleanup(func() { r.serve.signal(t, syscall.SIGKILL) })
	r.proxy = startCutProxy(t, r.addr)
	r.sender = qys.SenderConfig{Format: qys.FormatA, Secret: sec, Encrypt: true}
	r.own = map[string]bool{}
	r.fake.SetCallbackTarget(qystest.CallbackTarget{ContractURL: r.proxy.srv.URL + "/callbacks/default/contract",
		Sender: r.sender})

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 23))
	for i := range cuts {
		c := r.cut(t, i, rng)
		r.cuts = append(r.cuts, c)
		t.Logf("%s: cut %d (%s at %.2f s, backlog %.0f): %d answered success so far, %d lost, %d doubled, documents %d (%d bad), e2fsck %d, boot+drain %.1f s %s",
			cmp.Or(r.sync, "default"), i+1, map[bool]string{true: "at an answer", false: "random"}[c.atAnswer], c.at.Seconds(), c.backlog,
			c.accepted, c.lost, c.doubled, c.docs, c.docsBad, c.fsck, c.recovered.Seconds(), strings.Join(c.problems, "; "))
		if t.Failed() {
			return
		}
	}
	r.checkFacts(t, data)
}

// cut sends load, cuts the power at a random instant, boots on the copy,
// waits for the drain and checks.
func (r *powerRun) cut(t *testing.T, i int, rng *rand.Rand) cutResult {
	var c cutResult
	c.atAnswer = i%4 != 3
	load := 1500*time.Millisecond + time.Duration(rng.Int64N(int64(1500*time.Millisecond)))
	c.at = 300*time.Millisecond + time.Duration(rng.Int64N(int64(load-300*time.Millisecond)))
	r.fake.SetLatency(powerAPILatency)
	ctx, stopLoad := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(time.Second / powerRate)
		defer tick.Stop()
		for n := 0; ; n++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			id := r.fake.AddContract(qystest.ContractSpec{
				Subject:     fmt.Sprintf("断电 %d-%d", i, n),
				Signatories: []qystest.SignatorySpec{{TenantType: qystest.TenantCompany, TenantName: "甲方"}},
				Documents:   []qystest.DocumentSpec{{Title: "正文", Size: 16 << 10}},
			})
			r.contracts++
			_ = r.fake.Send(id)
			if n%5 != 4 {
				_ = r.fake.Sign(id, 0)
			}
		}
	}()
	for w := range powerSenders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.send(ctx, fmt.Sprintf("%d-%d", i, w))
		}()
	}
	time.Sleep(c.at)
	c.backlog = metricSum(r.addr, "qyshook_dispatcher_pending_events") + metricSum(r.addr, "qyshook_dispatcher_unacked_events")
	if i == 0 {
		r.syncs = metricSum(r.addr, "qyshook_nats_store_syncs_total")
	}
	pid := r.serve.pid()
	stopped := make(chan error, 1)
	stop := func() {
		if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
			stopped <- err
			return
		}
		stopped <- waitStopped(pid)
	}
	if c.atAnswer {
		r.proxy.armed.Store(&stop)
	} else {
		go stop()
	}
	var err error
	select {
	case err = <-stopped:
	case <-time.After(10 * time.Second):
		err = errors.New("no answer 200 within 10 s to cut at")
	}
	r.proxy.armed.Store(nil)
	if err != nil {
		stopLoad()
		wg.Wait()
		t.Fatalf("cut %d: %v\n%s", i+1, err, r.serve.logTail())
	}
	cutAt := time.Now()
	// What the device holds now; then the process dies with the power.
	cp := r.disk.img + ".cut"
	run(t, "cp", "--sparse=always", r.disk.img, cp)
	r.serve.signal(t, syscall.SIGKILL)
	stopLoad()
	wg.Wait()
	r.disk.detach(t)
	if err := os.Rename(cp, r.disk.img); err != nil {
		t.Fatal(err)
	}
	fsck := exec.Command("e2fsck", "-f", "-y", r.disk.img)
	out, err := fsck.CombinedOutput()
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("e2fsck: %v", err)
		}
		c.fsck = ee.ExitCode()
		// 1: errors corrected (a journal replay counts); 4 and up: left uncorrected.
		if c.fsck >= 4 {
			c.problems = append(c.problems, fmt.Sprintf("e2fsck exit %d: %s", c.fsck, strings.TrimSpace(string(out))))
		}
	}
	r.disk.attach(t)
	r.fake.SetLatency(0)
	r.serve.start(t)

	// Every callback answered success so far, then the drain.
	accepted := map[string]bool{}
	for _, dl := range r.fake.Deliveries() {
		if dl.OK {
			accepted[dl.ContractID+"/"+dl.CallbackType] = true
		}
	}
	r.ownMu.Lock()
	for k := range r.own {
		accepted[k] = true
	}
	r.ownMu.Unlock()
	c.accepted = len(accepted)
	if err := r.drained(); err != nil {
		c.problems = append(c.problems, err.Error())
	}
	c.recovered = time.Since(cutAt)
	if i == 0 && r.sync == "" && r.syncs == 0 {
		t.Fatalf("serve did not use the grouped sync on the ext4 image (qyshook_nats_store_syncs_total = 0): the drill would not test the default\n%s", r.serve.logTail())
	}
	r.check(t, accepted, &c)
	return c
}

// send is one of the concurrent senders: 契约锁 (the fake) delivers one
// callback at a time, so without them the grouped sync would rarely see
// two callers at once, and a sync that wrongly covers a caller that came
// during a flush (one started before its write) would go unseen. Each
// sends SEND_SIGNING for contracts of its own (in the fake, so the
// dispatcher can fetch them, but never sent there: the fake sends them no
// callback), through the proxy (an answer to it can be the cut's), and
// records the ones answered success.
func (r *powerRun) send(ctx context.Context, name string) {
	client := &http.Client{Timeout: 5 * time.Second}
	for n := 0; ctx.Err() == nil; n++ {
		id := r.fake.AddContract(qystest.ContractSpec{
			Subject:     fmt.Sprintf("并发 %s-%d", name, n),
			Signatories: []qystest.SignatorySpec{{TenantType: qystest.TenantCompany, TenantName: "乙方"}},
		})
		payload, _ := json.Marshal(map[string]string{"contractId": id, "callbackType": "SEND_SIGNING",
			"contractStatus": "SIGNING", "tenantType": "COMPANY", "tenantName": "乙方"})
		out, err := qys.BuildCallback(r.sender, payload, time.Now())
		if err != nil {
			return
		}
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost,
			r.proxy.srv.URL+"/callbacks/default/contract", strings.NewReader(string(out.Body)))
		req.Header.Set("Content-Type", out.ContentType)
		if resp, err := client.Do(req); err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && strings.TrimSpace(string(body)) == "success" {
				r.ownMu.Lock()
				r.own[id+"/SEND_SIGNING"] = true
				r.ownMu.Unlock()
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(powerSenderGap):
		}
	}
}

// drained waits until the dispatcher has applied everything in the stream
// and the relay has published every fact: nothing pending, nothing
// delivered and unacknowledged, nothing in the outbox, on two polls in a
// row. The control may keep messages delivered and unacknowledged for
// good (its consumer's state can outlive the messages it points at): for
// it, the same state unchanged for 3 s also counts as drained.
func (r *powerRun) drained() error {
	db, err := sql.Open("sqlite", "file:"+r.ledgerDB+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer db.Close()
	deadline := time.Now().Add(90 * time.Second)
	var last string
	var since time.Time
	clean := 0
	for {
		pending, ok1 := metricValue(r.addr, "qyshook_dispatcher_pending_events")
		unacked, ok2 := metricValue(r.addr, "qyshook_dispatcher_unacked_events")
		var outbox, evs int
		qerr := db.QueryRow(`SELECT (SELECT count(*) FROM outbox WHERE published_at IS NULL), (SELECT count(*) FROM events)`).Scan(&outbox, &evs)
		state := fmt.Sprintf("pending %.0f, unacked %.0f, outbox %d, events %d (metrics read: %v, ledger: %v)", pending, unacked, outbox, evs, ok1 && ok2, qerr)
		if state != last {
			last, since = state, time.Now()
		}
		settled := ok1 && ok2 && qerr == nil && pending == 0 && outbox == 0
		if settled && unacked == 0 {
			clean++
		} else {
			clean = 0
		}
		if clean >= 2 || (settled && r.sync != "" && time.Since(since) >= 3*time.Second) {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("not drained after 90 s: " + last)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// metricValue reads a gauge from a process's /metrics; ok is false when
// the page or the series cannot be read.
func metricValue(addr, name string) (v float64, ok bool) {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, found := strings.CutPrefix(line, name); found && (strings.HasPrefix(rest, "{") || strings.HasPrefix(rest, " ")) {
			fields := strings.Fields(line)
			if x, err := strconv.ParseFloat(fields[len(fields)-1], 64); err == nil {
				v, ok = v+x, true
			}
		}
	}
	return v, ok
}

// check: every accepted callback in the ledger exactly once, none twice,
// every archived document whole.
func (r *powerRun) check(t *testing.T, accepted map[string]bool, c *cutResult) {
	db, err := sql.Open("sqlite", "file:"+r.ledgerDB+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	problem := func(format string, args ...any) { c.problems = append(c.problems, fmt.Sprintf(format, args...)) }
	evs := map[string]int{}
	rows, err := db.Query(`SELECT contract_id, type, count(*) FROM events WHERE tenant = 'default' GROUP BY contract_id, type`)
	if err != nil {
		problem("events: %v", err)
		return
	}
	for rows.Next() {
		var id, typ string
		var n int
		if err := rows.Scan(&id, &typ, &n); err != nil {
			problem("events: %v", err)
			break
		}
		evs[id+"/"+typ] = n
	}
	rows.Close()
	for k := range accepted {
		if evs[k] == 0 && !r.lostSeen[k] {
			r.lostSeen[k] = true
			c.lost++
		}
	}
	for k, n := range evs {
		if n > 1 {
			c.doubled++
			problem("%s in the ledger %d times", k, n)
		}
	}
	if c.lost > 0 {
		problem("%d callbacks answered success are not in the ledger", c.lost)
	}
	rows, err = db.Query(`SELECT id, sha256, size, path FROM documents WHERE tenant = 'default' AND fetched_at IS NOT NULL`)
	if err != nil {
		problem("documents: %v", err)
		return
	}
	defer rows.Close()
	for rows.Next() {
		var id, sha, path string
		var size int64
		if err := rows.Scan(&id, &sha, &size, &path); err != nil {
			problem("documents: %v", err)
			return
		}
		c.docs++
		// 契约锁's sha256 where the fake has it (not for the signing logs
		// archived beside the documents).
		want := r.fake.DocumentSHA256(id)
		file := filepath.Join(r.disk.mnt, "data", filepath.FromSlash(path))
		got, err := fileSHA256(file)
		var onDisk int64 = -1
		if fi, serr := os.Stat(file); serr == nil {
			onDisk = fi.Size()
		}
		if path == "" || got != sha || onDisk != size || (want != "" && sha != want) {
			c.docsBad++
			problem("document %s: ledger sha256 %q size %d, file %s sha256 %q size %d (%v), 契约锁 %q", id, sha, size, path, got, onDisk, err, want)
		}
	}
}

// checkFacts stops serve and reads QYS_LEDGER from its store: each fact
// id at most once; facts the outbox marks published and the stream lacks
// are counted.
func (r *powerRun) checkFacts(t *testing.T, data string) {
	r.serve.signal(t, syscall.SIGTERM)
	published := map[string]bool{}
	db, err := sql.Open("sqlite", "file:"+r.ledgerDB+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query(`SELECT id FROM outbox WHERE published_at IS NOT NULL`)
	if err != nil {
		t.Fatalf("outbox: %v", err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		published[id] = true
	}
	rows.Close()
	db.Close()
	srv, err := embeddednats.Start(embeddednats.Options{StoreDir: filepath.Join(data, "nats"), SyncInterval: time.Minute})
	if err != nil {
		t.Fatalf("open the store after the drill: %v", err)
	}
	defer srv.Shutdown()
	nc, err := srv.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var names events.Names
	facts, err := readStream(ctx, js, names.LedgerStream())
	if err != nil {
		t.Fatalf("QYS_LEDGER: %v", err)
	}
	seen := map[string]int{}
	for _, raw := range facts {
		var f events.Fact
		if err := json.Unmarshal(raw, &f); err != nil {
			t.Errorf("a fact is not JSON: %v", err)
			continue
		}
		seen[f.ID]++
	}
	r.factsN = len(seen)
	for id, n := range seen {
		if n > 1 {
			r.factsDup++
			t.Logf("%s: fact %s on QYS_LEDGER %d times", r.sync, id, n)
		}
	}
	for id := range published {
		if seen[id] == 0 {
			r.factsGone++
		}
	}
}
