package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/qyshook/qyshook/internal/app"
	"github.com/qyshook/qyshook/internal/natstest"
	"github.com/qyshook/qyshook/qys/qystest"
)

// TestStartRefusesWrongAppSecret: with a wrong app secret, start-up stops
// with one line naming the tenant (the default QYSHOOK_API_CHECK=stop);
// before, the dispatcher started and every detail call failed later.
func TestStartRefusesWrongAppSecret(t *testing.T) {
	fake := qystest.NewServer()
	t.Cleanup(fake.Close)
	env := natstest.New(t)
	cfg := load(t, env, map[string]string{"QYSHOOK_QYS_BASE_URL": fake.URL,
		"QYSHOOK_QYS_APP_TOKEN": fake.AppToken, "QYSHOOK_QYS_APP_SECRET": "not-the-secret-" + fake.AppSecret})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a guard: without the check Run never returns
	defer cancel()
	err := app.Run(ctx, cfg, zerolog.Nop(), app.Roles{Receiver: true, Dispatcher: true}, app.RunOptions{})
	if err == nil {
		t.Fatal("started with a wrong app secret")
	}
	if msg := err.Error(); strings.Count(msg, "\n") != 0 || !strings.Contains(msg, `tenant "default": the open API refused the credentials`) ||
		strings.Contains(msg, fake.AppSecret) {
		t.Fatalf("error: %q", msg)
	}
}

// TestStartRightCredentialsPass: the right credentials pass the check (the
// probe's "not found" means the signature was accepted).
func TestStartRightCredentialsPass(t *testing.T) {
	fake := qystest.NewServer()
	t.Cleanup(fake.Close)
	cfg := load(t, natstest.New(t), map[string]string{"QYSHOOK_QYS_BASE_URL": fake.URL,
		"QYSHOOK_QYS_APP_TOKEN": fake.AppToken, "QYSHOOK_QYS_APP_SECRET": fake.AppSecret})
	addr, stop := start(t, cfg, app.Roles{Receiver: true, Dispatcher: true})
	if code := get(t, "http://"+addr+"/readyz"); code != 200 {
		t.Fatalf("readyz %d", code)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// TestStartWarnHoldsDispatcher: QYSHOOK_API_CHECK=warn keeps the receiver
// up and /readyz says why the dispatcher is not ready.
func TestStartWarnHoldsDispatcher(t *testing.T) {
	fake := qystest.NewServer()
	t.Cleanup(fake.Close)
	cfg := load(t, natstest.New(t), map[string]string{"QYSHOOK_QYS_BASE_URL": fake.URL, "QYSHOOK_API_CHECK": "warn",
		"QYSHOOK_QYS_APP_TOKEN": fake.AppToken, "QYSHOOK_QYS_APP_SECRET": "not-the-secret-" + fake.AppSecret})
	addr, stop := start(t, cfg, app.Roles{Receiver: true, Dispatcher: true})
	resp, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	var body struct{ Status, Reason string }
	_ = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != 503 || body.Reason != app.ReasonAPICredentials {
		t.Fatalf("readyz %d %+v", resp.StatusCode, body)
	}
	out := callback(t, "held-1")
	post, err := http.Post("http://"+addr+"/callbacks/default/contract", out.ContentType, strings.NewReader(string(out.Body)))
	if err != nil {
		t.Fatal(err)
	}
	post.Body.Close()
	if post.StatusCode != 200 {
		t.Fatalf("receiver held too: callback %d", post.StatusCode)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}
