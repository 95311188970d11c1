// Command subscriber is what a downstream team copies to follow qyshook's
// ledger facts: a durable pull consumer on QYS_LEDGER that processes each
// fact idempotently (by its id) and acknowledges it only after processing.
//
//	go run ./examples/subscriber -nats nats://127.0.0.1:4222 -tenant default -durable billing
//
// Against `qyshook serve` on its embedded NATS, the server has no TCP port
// until QYSHOOK_EMBEDDED_NATS_ADDR is set (e.g. 127.0.0.1:4223); pass
// exactly that address as -nats, or the default reaches nothing (or
// another NATS on 4222).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/qyshook/qyshook/events"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var o Options
	flag.StringVar(&o.URL, "nats", nats.DefaultURL, "NATS URL")
	flag.StringVar(&o.Namespace, "namespace", "", "qyshook's QYSHOOK_NATS_NAMESPACE, if any")
	flag.StringVar(&o.Tenant, "tenant", "*", "tenant to follow (* for all)")
	flag.StringVar(&o.Durable, "durable", "example_subscriber", "your own durable consumer name")
	flag.IntVar(&o.Max, "max", 0, "stop after this many facts (0: run until interrupted)")
	flag.Parse()
	if err := Run(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "subscriber:", err)
		os.Exit(1)
	}
}

// Options configures Run.
type Options struct {
	URL, Namespace, Tenant, Durable string
	Max                             int
}

// Run follows facts until ctx ends or Max facts were handled, printing one
// line per fact.
func Run(ctx context.Context, o Options, out io.Writer) error {
	names, err := events.NewNames(o.Namespace)
	if err != nil {
		return err
	}
	nc, err := nats.Connect(o.URL, nats.Name("qyshook-example-subscriber"))
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	filter := names.LedgerWildcard()
	if o.Tenant != "*" && o.Tenant != "" {
		filter = names.LedgerTenantWildcard(o.Tenant)
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, names.LedgerStream(), jetstream.ConsumerConfig{
		Durable:       o.Durable,
		FilterSubject: filter,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       30 * time.Second,
		MaxDeliver:    10,
	})
	if err != nil {
		return fmt.Errorf("consumer: %w", err)
	}
	seen := map[string]bool{} // use your database in production
	handled := 0
	for ctx.Err() == nil && (o.Max == 0 || handled < o.Max) {
		// Never fetch more than is left to handle: every fetched fact is
		// handled and acknowledged, so -max N stops at exactly N and the
		// rest stays for the next run (nothing waits out its AckWait).
		size := 16
		if o.Max > 0 && o.Max-handled < size {
			size = o.Max - handled
		}
		batch, err := cons.Fetch(size, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			return err
		}
		for msg := range batch.Messages() {
			var f events.Fact
			if err := json.Unmarshal(msg.Data(), &f); err != nil {
				_ = msg.Term() // not a fact: never redeliver
				continue
			}
			if !seen[f.ID] {
				seen[f.ID] = true
				handle(out, f)
			}
			// Ack after handling, and wait for the server's confirmation:
			// a fact acknowledged before it was handled would be lost.
			if err := msg.DoubleAck(ctx); err != nil {
				return fmt.Errorf("ack: %w", err)
			}
			handled++
		}
		if err := batch.Error(); err != nil && ctx.Err() == nil && !errors.Is(err, nats.ErrTimeout) {
			return fmt.Errorf("fetch: %w", err)
		}
	}
	return nil
}

// handle is where your system reacts to a fact.
func handle(out io.Writer, f events.Fact) {
	switch f.Kind {
	case events.FactContractStatus:
		fmt.Fprintf(out, "contract %s is %s (was %q, confirmed=%v)\n", f.ContractID, f.Status, f.PreviousStatus, f.Confirmed)
	case events.FactDocumentsArchived:
		for _, d := range f.Documents {
			fmt.Fprintf(out, "contract %s: document %s archived at %s sha256=%s\n", f.ContractID, d.ID, d.Path, d.SHA256)
		}
	}
}
