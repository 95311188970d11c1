package app_test

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/app"
	"github.com/qyshook/qyshook/internal/embeddednats"
	"github.com/qyshook/qyshook/internal/natstest"
)

// TestEmbeddedPortKeepsSyncMode: serve with QYSHOOK_EMBEDDED_NATS_ADDR
// runs its store in the same sync mode as without it (grouped where the
// file system allows) and says so in /readyz and the metrics; a
// subscriber reads the callbacks through the port but cannot publish to
// them. Only QYSHOOK_EMBEDDED_NATS_ACCESS=publish, asked for by name,
// lets the port's clients publish, and the mode shown is then each-write.
// Before, the port alone turned grouped into each-write, silently.
func TestEmbeddedPortKeepsSyncMode(t *testing.T) {
	for _, c := range []struct {
		access     string
		wantMode   func(planned string) string
		canPublish bool
	}{
		{"", func(p string) string { return p }, false},
		{"publish", func(string) string { return "each-write" }, true},
	} {
		t.Run("access="+c.access, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			natsAddr := ln.Addr().String()
			ln.Close()
			extra := map[string]string{"QYSHOOK_EMBEDDED_NATS_ADDR": natsAddr}
			if c.access != "" {
				extra["QYSHOOK_EMBEDDED_NATS_ACCESS"] = c.access
			}
			cfg := load(t, nil, extra)
			planned, _ := embeddednats.PlanSync(embeddednats.Options{StoreDir: cfg.EmbeddedStoreDir()})
			want := c.wantMode(planned)
			addr, _ := start(t, cfg, app.Roles{Receiver: true})
			base := "http://" + addr
			access := c.access
			if access == "" {
				access = "subscribe"
			}
			if code, body := getBody(t, base+"/readyz"); code != 200 ||
				!strings.Contains(body, `"nats_sync":"`+want+`"`) || !strings.Contains(body, `"nats_listen_access":"`+access+`"`) {
				t.Fatalf("readyz %d %s, want nats_sync %q and access %q", code, body, want, access)
			}
			if _, body := getBody(t, base+"/metrics"); !strings.Contains(body, `qyshook_nats_sync_mode{mode="`+want+`"} 1`) {
				t.Fatalf("metrics: no qyshook_nats_sync_mode{mode=%q} 1", want)
			}
			out := callback(t, "port-1")
			resp, err := http.Post(base+"/callbacks/default/contract", out.ContentType, bytes.NewReader(out.Body))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("callback answered %d", resp.StatusCode)
			}

			nc, err := nats.Connect("nats://"+natsAddr, nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {}))
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			js, _ := jetstream.New(nc)
			names, _ := events.NewNames(cfg.NATSNamespace)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			msgs, err := natstest.StreamMessages(ctx, js, names.CallbacksStream())
			if err != nil || len(msgs) != 1 {
				t.Fatalf("a subscriber reads %d callbacks through the port (%v), want 1", len(msgs), err)
			}
			pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
			_, err = js.Publish(pctx, names.CallbackSubject("default", events.KindContract, "FORGED"), []byte("{}"))
			pcancel()
			if published := err == nil; published != c.canPublish {
				t.Fatalf("publish through the port: err %v, want allowed=%v", err, c.canPublish)
			}
		})
	}
}

// TestGroupedSyncfsNamed: QYSHOOK_NATS_SYNC=grouped-syncfs (the grouped
// sync by syncfs of the whole file system, as before the store's own
// files were synced) is named as such in /readyz and the metrics, and
// the default is "grouped".
func TestGroupedSyncfsNamed(t *testing.T) {
	for _, c := range []struct{ sync, want string }{{"", app.SyncGrouped}, {"grouped-syncfs", app.SyncGroupedSyncfs}} {
		t.Run("sync="+c.sync, func(t *testing.T) {
			extra := map[string]string{}
			if c.sync != "" {
				extra["QYSHOOK_NATS_SYNC"] = c.sync
			}
			cfg := load(t, nil, extra)
			if planned, reason := embeddednats.PlanSync(embeddednats.Options{StoreDir: cfg.EmbeddedStoreDir()}); planned != app.SyncGrouped {
				t.Skip("not grouped here: " + reason)
			}
			addr, _ := start(t, cfg, app.Roles{Receiver: true})
			if code, body := getBody(t, "http://"+addr+"/readyz"); code != 200 || !strings.Contains(body, `"nats_sync":"`+c.want+`"`) {
				t.Fatalf("readyz %d %s, want nats_sync %q", code, body, c.want)
			}
			_, body := getBody(t, "http://"+addr+"/metrics")
			if !strings.Contains(body, `qyshook_nats_sync_mode{mode="`+c.want+`"} 1`) {
				t.Fatalf("metrics: no qyshook_nats_sync_mode{mode=%q} 1", c.want)
			}
			// The own-files sync counts what it wrote: at least the first
			// (full) pass over the store's files.
			if c.want == app.SyncGrouped && (!strings.Contains(body, "qyshook_nats_store_sync_files_total ") ||
				strings.Contains(body, "qyshook_nats_store_sync_files_total 0\n")) {
				t.Fatal("metrics: no qyshook_nats_store_sync_files_total above 0")
			}
		})
	}
}
