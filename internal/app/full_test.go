package app_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/app"
	"github.com/qyshook/qyshook/internal/natstest"
)

// TestFullStreamAnswers503 fills a tiny callback stream through the
// receiver: the callback that does not fit is answered 503 (契约锁
// retries), and every callback answered "success" before is still in the
// stream.
func TestFullStreamAnswers503(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	natsAddr := ln.Addr().String()
	ln.Close()
	cfg := load(t, nil, map[string]string{"QYSHOOK_STREAM_MAX_BYTES": "16KiB", "QYSHOOK_EMBEDDED_NATS_ADDR": natsAddr})
	addr, _ := start(t, cfg, app.Roles{Receiver: true})
	var stored int
	status := 0
	for i := 0; i < 500; i++ {
		out := callback(t, fmt.Sprint("full-", i))
		resp, err := http.Post("http://"+addr+"/callbacks/default/contract", out.ContentType, bytes.NewReader(out.Body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if status = resp.StatusCode; status != 200 {
			break
		}
		if string(b) != "success" {
			t.Fatalf("callback %d: %q", i, b)
		}
		stored++
	}
	if status != http.StatusServiceUnavailable || stored == 0 {
		t.Fatalf("after %d stored callbacks the answer is %d, want 503 once the 16 KiB stream is full", stored, status)
	}
	nc, err := nats.Connect("nats://" + natsAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	names, _ := events.NewNames(cfg.NATSNamespace)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	msgs, err := natstest.StreamMessages(ctx, js, names.CallbacksStream())
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != stored || msgs[0].Sequence != 1 {
		t.Fatalf("stream holds %d messages from seq %d, want all %d answered success from seq 1", len(msgs), msgs[0].Sequence, stored)
	}
}
