package embeddednats

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestPortClientCannotAnswerPulls: a subscribe-only port client that sees
// qyshook's pull requests (it may subscribe to anything) cannot answer
// them: publishing to an inbox is refused, so no forged message reaches
// the in-process consumer's fetch (before, `_INBOX.>` was allowed and a
// forgery was delivered as a callback, bypassing its signature check).
func TestPortClientCannotAnswerPulls(t *testing.T) {
	s, err := Start(Options{StoreDir: t.TempDir(), ListenAddr: "127.0.0.1:-1", LedgerStreams: []string{"L"}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	inProc, err := s.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer inProc.Close()
	ijs, err := jetstream.New(inProc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ijs.CreateStream(ctx, jetstream.StreamConfig{Name: "QYS_CALLBACKS", Subjects: []string{"qys.callback.>"},
		Storage: jetstream.FileStorage}); err != nil {
		t.Fatal(err)
	}
	cons, err := ijs.CreateOrUpdateConsumer(ctx, "QYS_CALLBACKS", jetstream.ConsumerConfig{Durable: "disp",
		AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(s.ClientURL(), nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {}))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	seen := make(chan struct{}, 16)
	if _, err := nc.Subscribe("$JS.API.CONSUMER.MSG.NEXT.QYS_CALLBACKS.disp", func(m *nats.Msg) {
		f := nats.NewMsg(m.Reply)
		f.Data = []byte(`{"forged":true}`)
		_ = nc.PublishMsg(f)
		seen <- struct{}{}
	}); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	batch, err := cons.Fetch(4, jetstream.FetchMaxWait(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for m := range batch.Messages() {
		t.Fatalf("the in-process consumer got a message from nowhere: subject %q data %s", m.Subject(), m.Data())
	}
	select {
	case <-seen:
	default:
		t.Fatal("the port client never saw the pull request: the test proves nothing")
	}
}
