package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/qyshook/qyshook/internal/app"
	"github.com/qyshook/qyshook/receiver"
)

// ServeOptions configures ServeReceiver.
type ServeOptions struct {
	BenchOptions
	// Bodies, when set, is a directory the Count callbacks are written to
	// (one file each) with a target list per endpoint for a load
	// generator.
	Bodies string
	// Out receives the endpoints' URLs and the files written.
	Out io.Writer
}

// Endpoints are the URLs ServeReceiver serves.
type Endpoints struct {
	// Bare is BareNoop on a plain http.Server; Noop the receiver's router
	// no-op on qyshook's HTTP server; Receiver the receiver's contract
	// route on its embedded JetStream (SyncInterval's fsync setting).
	Bare, Noop, Receiver string
	// ContentType is the callbacks' Content-Type.
	ContentType string
}

// ServeReceiver serves the three targets of bench receiver on
// 127.0.0.1 for an outside load generator until ctx ends: the bare
// net/http no-op, the router no-op and the receiver (signed, encrypted
// format-A callbacks of tenant o.Tenant with secret o.Secret). ready, when
// set, is called with the URLs once they all listen.
func ServeReceiver(ctx context.Context, o ServeOptions, ready func(Endpoints)) error {
	if o.Duration > 0 {
		return fmt.Errorf("bench: serve: bodies are built before, give a count")
	}
	if err := o.defaults(); err != nil {
		return err
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	st, err := newReceiverStack(ctx, o.BenchOptions, o.SyncInterval)
	if err != nil {
		return err
	}
	defer st.close()
	src, err := newSource(o.BenchOptions)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("bench: listen: %w", err)
	}
	bare := &http.Server{Handler: BareNoop()}
	go func() { _ = bare.Serve(ln) }()
	defer bare.Close()
	var urls Endpoints
	urls.Bare, urls.ContentType = "http://"+ln.Addr().String()+"/", src.contentType
	for _, s := range []struct {
		h    http.Handler
		path string
		url  *string
	}{
		{receiver.NewNoopHandler(o.Logger, receiver.DefaultMaxBody), "/noop", &urls.Noop},
		{st.handler, "/callbacks/" + o.Tenant + "/contract", &urls.Receiver},
	} {
		srv := app.NewServer("127.0.0.1:0", s.h, zerolog.Nop())
		if err := srv.Open(); err != nil {
			return err
		}
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
		}()
		*s.url = srv.URL() + s.path
	}
	fmt.Fprintf(o.Out, "bare net/http no-op  POST %s\nrouter no-op         POST %s\nreceiver (sync %s)  POST %s\ncontent type         %s\n",
		urls.Bare, urls.Noop, syncName(o.SyncInterval), urls.Receiver, urls.ContentType)
	if o.Bodies != "" {
		if err := writeBodies(o.Bodies, src, urls); err != nil {
			return err
		}
		fmt.Fprintf(o.Out, "%d bodies in %s (body-NNNNNN); one target per body in targets-bare.txt, targets-noop.txt, targets-receiver.txt\n",
			len(src.bodies), o.Bodies)
	}
	fmt.Fprintln(o.Out, "serving until interrupted")
	if ready != nil {
		ready(urls)
	}
	<-ctx.Done()
	return nil
}

// writeBodies writes each body to dir/body-NNNNNN and, per endpoint, a
// target list naming them (method and URL, the Content-Type header, @file,
// a blank line: vegeta's http format).
func writeBodies(dir string, src *source, urls Endpoints) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	targets := map[string]*strings.Builder{"bare": {}, "noop": {}, "receiver": {}}
	for i, body := range src.bodies {
		path := filepath.Join(dir, fmt.Sprintf("body-%06d", i))
		if err := os.WriteFile(path, body, 0o644); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		for name, url := range map[string]string{"bare": urls.Bare, "noop": urls.Noop, "receiver": urls.Receiver} {
			fmt.Fprintf(targets[name], "POST %s\nContent-Type: %s\n@%s\n\n", url, urls.ContentType, path)
		}
	}
	for name, b := range targets {
		if err := os.WriteFile(filepath.Join(dir, "targets-"+name+".txt"), []byte(b.String()), 0o644); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
	}
	return nil
}
