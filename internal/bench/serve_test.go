package bench_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qyshook/qyshook/internal/bench"
)

// TestServeReceiver: the three targets answer an outside client's
// callbacks success, and the bodies and target lists are written.
func TestServeReceiver(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	var out bytes.Buffer
	errc := make(chan error, 1)
	ready := make(chan bench.Endpoints, 1)
	go func() {
		errc <- bench.ServeReceiver(ctx, bench.ServeOptions{BenchOptions: bench.BenchOptions{Count: 3}, Bodies: dir, Out: &out},
			func(e bench.Endpoints) { ready <- e })
	}()
	var urls bench.Endpoints
	select {
	case urls = <-ready:
	case err := <-errc:
		t.Fatal(err)
	}
	for i, url := range []string{urls.Bare, urls.Noop, urls.Receiver} {
		body, err := os.ReadFile(filepath.Join(dir, "body-00000"+string(rune('0'+i))))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Post(url, urls.ContentType, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(got) != "success" {
			t.Fatalf("%s: %d %q", url, resp.StatusCode, got)
		}
	}
	targets, err := os.ReadFile(filepath.Join(dir, "targets-receiver.txt"))
	if err != nil || strings.Count(string(targets), "POST "+urls.Receiver+"\n") != 3 || !strings.Contains(string(targets), "@"+dir) {
		t.Fatalf("targets %q: %v", targets, err)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "bare net/http no-op") || !strings.Contains(out.String(), "receiver (sync always)") {
		t.Fatalf("output:\n%s", out.String())
	}
}
