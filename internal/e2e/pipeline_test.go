package e2e_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/qyshook/qyshook/dispatcher"
	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/app"
	"github.com/qyshook/qyshook/internal/e2e"
	"github.com/qyshook/qyshook/internal/natstest"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/lifecycle"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/qys/qystest"
	"github.com/qyshook/qyshook/store"
)

// TestPipeline drives lifecycles with duplicated, reordered and retried
// callbacks from the fake 契约锁 through the receiver, JetStream and the
// dispatcher into the ledger, and plants two poisoned events.
func TestPipeline(t *testing.T) {
	for _, kind := range testdb.Kinds() {
		t.Run(string(kind), func(t *testing.T) { testPipeline(t, kind) })
	}
}

func testPipeline(t *testing.T, kind testdb.Kind) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s := newStack(t, testdb.URL(t, kind))
	addr := s.run(t, app.Roles{Receiver: true, Dispatcher: true})
	base := "http://" + addr + "/callbacks/default"
	// 契约锁 reaches qyshook through a gateway that fails every third
	// request with 502, so some callbacks are retried on 契约锁's schedule.
	flaky := flakyProxy(t, "http://"+addr, 3)
	s.fake.SetCallbackTarget(qystest.CallbackTarget{
		ContractURL: flaky + "/callbacks/default/contract", PersonalAuthURL: flaky + "/callbacks/default/auth/personal",
		CompanyAuthURL: flaky + "/callbacks/default/auth/company",
		Sender:         qys.SenderConfig{Format: qys.FormatA, Secret: s.secret, Encrypt: true},
	})
	s.fake.DuplicateCallbacks(1)

	add := func(subject string) string {
		return s.fake.AddContract(qystest.ContractSpec{
			Subject: subject,
			Signatories: []qystest.SignatorySpec{
				{TenantType: qystest.TenantCompany, TenantName: "甲方科技有限公司", Contact: "13800000000"},
				{TenantType: qystest.TenantPersonal, TenantName: "张三", Contact: "13900000000"},
			},
			Documents: []qystest.DocumentSpec{{Title: "正文"}, {Title: "附件", Size: 200 << 10}},
		})
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	completed, rejected, recalled, voided, shuffled := add("完成"), add("退回"), add("撤回"), add("作废"), add("乱序")
	must(s.fake.Send(completed))
	must(s.fake.Sign(completed, 0))
	must(s.fake.Sign(completed, 1))
	must(s.fake.Send(rejected))
	must(s.fake.Reject(rejected, 1))
	must(s.fake.Send(recalled))
	must(s.fake.Recall(recalled))
	must(s.fake.Send(voided))
	must(s.fake.Sign(voided, 0))
	must(s.fake.Sign(voided, 1))
	must(s.fake.Invalidate(voided))
	// Reordered: COMPLETE may arrive before SEND_SIGNING and the signatures.
	s.fake.Reorder(qystest.ReorderShuffle)
	must(s.fake.Send(shuffled))
	must(s.fake.Sign(shuffled, 0))
	must(s.fake.Sign(shuffled, 1))
	s.fake.Reorder(qystest.ReorderOff)
	s.fake.Flush()
	s.fake.CompleteCompanyAuth("company-req-1", "甲方科技有限公司", true)
	s.fake.CompletePersonalAuth("personal-auth-1", "FACE", "1")

	// Poison 1: a verified callback for a contract the API does not know.
	postCallback(t, base+"/contract", s.secret, `{"contractId":"1000000000000000001","callbackType":"SEAL","contractStatus":"SIGNING"}`)
	// Poison 2: bytes that are no envelope, straight onto the stream.
	if _, err := s.nats.JS.Publish(ctx, s.nats.Names.CallbackSubject("default", events.KindContract, "SEAL"),
		[]byte("not an envelope"), jetstream.WithMsgID("poison-2")); err != nil {
		t.Fatal(err)
	}
	if err := s.fake.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	delivered, retried := map[[2]int]bool{}, 0
	for _, d := range s.fake.Deliveries() {
		key := [2]int{d.Callback, d.Copy}
		delivered[key] = delivered[key] || d.OK
		if d.Attempt > 1 {
			retried++
		}
	}
	for key, ok := range delivered {
		if !ok {
			t.Fatalf("callback %d copy %d never accepted", key[0], key[1])
		}
	}
	if retried == 0 {
		t.Fatal("no callback was retried: the test did not exercise 契约锁's retries")
	}

	l := testdb.OpenURL(t, s.dbURL)
	ids := []string{completed, rejected, recalled, voided, shuffled}
	err := e2e.Eventually(ctx, 90*time.Second, func() string {
		for _, id := range ids {
			want, _ := s.fake.Contract(id)
			c, err := l.Contract(ctx, "default", id)
			if err != nil {
				return fmt.Sprintf("contract %s: %v", id, err)
			}
			if c.Status != want.Status || !c.Confirmed {
				return fmt.Sprintf("contract %s: %s (confirmed %v), API says %s", id, c.Status, c.Confirmed, want.Status)
			}
			if c.Status == lifecycle.Complete || c.Status == lifecycle.Invalided {
				for _, d := range c.Documents {
					if d.SHA256 == "" {
						return fmt.Sprintf("contract %s document %s not archived", id, d.ID)
					}
				}
			}
		}
		if dl, _ := l.DeadLetters(ctx, 10); len(dl) != 2 {
			return fmt.Sprintf("%d dead letters, want 2", len(dl))
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	snap := checkSnapshot(t, ctx, l, s)
	// Every archived document has the fake's bytes.
	for _, id := range []string{completed, voided, shuffled} {
		c, _ := l.Contract(ctx, "default", id)
		for _, d := range c.Documents {
			// The operation log and the download items (attachments,
			// 存证报告, or the platform's refusal): the file holds the
			// ledger's hash.
			if strings.HasSuffix(d.ID, ".oplog") || strings.Contains(d.ID, store.ItemInfix) {
				if d.SHA256 == "" || snap.Files[d.Path] != d.SHA256 {
					t.Fatalf("operation log or item %s: ledger %s, file %s", d.ID, d.SHA256, snap.Files[d.Path])
				}
				continue
			}
			if want := s.fake.DocumentSHA256(d.ID); d.SHA256 != want || snap.Files[d.Path] != want {
				t.Fatalf("document %s: ledger %s, file %s, fake %s", d.ID, d.SHA256, snap.Files[d.Path], want)
			}
		}
	}
	for _, id := range []string{"company-req-1", "personal-auth-1"} {
		if c, err := l.Certification(ctx, "default", id); err != nil || !c.Success {
			t.Fatalf("certification %s: %+v, %v", id, c, err)
		}
	}
	checkDeadLetters(t, ctx, l, s)
	checkCallbacksCollapsed(t, ctx, s)
}

// checkSnapshot asserts each fact was published once and every final
// status has its fact.
func checkSnapshot(t *testing.T, ctx context.Context, l store.Ledger, s *stack) *e2e.Snapshot {
	t.Helper()
	var snap *e2e.Snapshot
	err := e2e.Eventually(ctx, 30*time.Second, func() string {
		var err error
		snap, err = e2e.TakeSnapshot(ctx, l, "default", s.dataDir, s.nats.JS, s.nats.Names)
		if err != nil {
			return err.Error()
		}
		facts, _ := e2e.StreamFacts(ctx, s.nats.JS, s.nats.Names)
		final := map[string]bool{}
		archived := 0
		for _, f := range facts {
			if f.Kind == events.FactContractStatus {
				final[f.ContractID+"="+f.Status] = true
			} else {
				archived += len(f.Documents)
			}
		}
		for id, row := range snap.Contracts {
			if st := strings.SplitN(row, "|", 2)[0]; !final[id+"="+st] {
				return fmt.Sprintf("no fact for contract %s reaching %s", id, st)
			}
		}
		if want := archivedCount(snap); archived != want {
			return fmt.Sprintf("%d documents.archived entries, want %d", archived, want)
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	for id, n := range snap.Facts {
		if n != 1 {
			t.Fatalf("fact %s published %d times", id, n)
		}
	}
	return snap
}

func archivedCount(s *e2e.Snapshot) int {
	n := 0
	for _, d := range s.Documents {
		if !strings.HasPrefix(d, "|") {
			n++
		}
	}
	return n
}

func checkDeadLetters(t *testing.T, ctx context.Context, l store.Ledger, s *stack) {
	t.Helper()
	dls, err := l.DeadLetters(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]int{}
	for _, d := range dls {
		reasons[strings.SplitN(d.Reason, ":", 2)[0]]++
	}
	if reasons["contract_not_found"] != 1 || reasons["undecodable_event"] != 1 {
		t.Fatalf("dead letters %v, want exactly the two planted", reasons)
	}
	msgs, err := natstest.StreamMessages(ctx, s.nats.JS, s.nats.Names.DLQStream())
	if err != nil || len(msgs) != 2 {
		t.Fatalf("QYS_DLQ: %d messages, %v", len(msgs), err)
	}
	for _, m := range msgs {
		if m.Header.Get(dispatcher.HeaderReason) == "" {
			t.Fatalf("dead letter without reason header: %v", m.Header)
		}
	}
}

// checkCallbacksCollapsed asserts no event id is stored twice.
func checkCallbacksCollapsed(t *testing.T, ctx context.Context, s *stack) {
	t.Helper()
	msgs, err := natstest.StreamMessages(ctx, s.nats.JS, s.nats.Names.CallbacksStream())
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, m := range msgs {
		env, err := events.Decode(m.Data)
		if err != nil {
			continue // the planted garbage
		}
		if seen[env.ID] {
			t.Fatalf("event %s stored twice", env.ID)
		}
		seen[env.ID] = true
	}
	dups := 0
	for _, d := range s.fake.Deliveries() {
		if d.Copy > 0 {
			dups++
		}
	}
	if dups == 0 {
		t.Fatal("no duplicate deliveries: the test did not exercise deduplication")
	}
}

func postCallback(t *testing.T, url, secret, payload string) {
	t.Helper()
	out, err := qys.BuildCallback(qys.SenderConfig{Format: qys.FormatA, Secret: secret, Encrypt: true}, []byte(payload), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(url, out.ContentType, bytes.NewReader(out.Body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	_, _ = body.ReadFrom(resp.Body)
	if resp.StatusCode != 200 || body.String() != "success" {
		t.Fatalf("callback answered %d %q", resp.StatusCode, body.String())
	}
}

// flakyProxy forwards to target but answers every nth request with 502,
// like a gateway in front of qyshook having a bad moment.
func flakyProxy(t *testing.T, target string, n int64) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	var count atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if count.Add(1)%n == 0 {
			http.Error(w, "bad gateway", http.StatusBadGateway)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}
