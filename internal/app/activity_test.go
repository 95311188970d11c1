package app_test

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/app"
	"github.com/qyshook/qyshook/internal/natstest"
	"github.com/qyshook/qyshook/internal/stagetest"
)

// TestActivityGathersNothing: the console's activity does not gather the
// metrics registry. The registry's dispatcher collector asks JetStream for
// the dead-letter stream's info at each Collect; across many activity
// ticks no such request is made, while the lag (the consumer's info, one
// request per tick) is read.
func TestActivityGathersNothing(t *testing.T) {
	t.Cleanup(app.SetActivityEvery(20 * time.Millisecond)) // runs after Run stops (cleanups run last first)
	env := natstest.New(t)
	var dlqInfos, lagInfos atomic.Int64
	dlq, lag := env.Names.DLQStream(), env.Names.Durable(events.DurableLedger)
	sub, err := env.NC.Subscribe("$JS.API.>", func(m *nats.Msg) {
		switch {
		case strings.HasPrefix(m.Subject, "$JS.API.STREAM.INFO.") && strings.HasSuffix(m.Subject, "."+dlq):
			dlqInfos.Add(1)
		case strings.HasPrefix(m.Subject, "$JS.API.CONSUMER.INFO.") && strings.HasSuffix(m.Subject, "."+lag):
			lagInfos.Add(1)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	cfg := load(t, env, map[string]string{"QYSHOOK_DB": "sqlite://" + t.TempDir() + "/l.db"})
	start(t, cfg, app.Roles{Receiver: true, Dispatcher: true})
	dlqInfos.Store(0)
	from := lagInfos.Load()
	stagetest.Eventually(t, "ten lag samples", func() bool { return lagInfos.Load()-from >= 10 })
	if n := dlqInfos.Load(); n != 0 {
		t.Errorf("%d dead-letter stream info requests across the activity's ticks: the registry was gathered", n)
	}
}
