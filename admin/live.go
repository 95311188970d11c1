package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/qyshook/qyshook/adminapi"
	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/lifecycle"
	"github.com/qyshook/qyshook/receiptlog"
)

// livePing is how often a comment line keeps an idle stream open (and
// finds a client that went away).
const livePing = 15 * time.Second

// streamCtxKey holds the request's context before the API's per-request
// timeout, so a stream outlives that timeout but still ends when the
// client goes away or the server stops (see Console.ServeHTTP).
type streamCtxKey struct{}

// streamContext is the context a long-lived answer runs under: the one
// stored by the console's front handler, else the request's.
func streamContext(r *http.Request) context.Context {
	if ctx, ok := r.Context().Value(streamCtxKey{}).(context.Context); ok {
		return ctx
	}
	return r.Context()
}

// liveEvents: GET /events/live, Server-Sent Events of the callbacks and
// ledger streams from now on, through ordered consumers (no durable state
// on the server; each client has its own).
func (a *API) liveEvents(w http.ResponseWriter, r *http.Request) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	if a.o.JS == nil {
		return errorf(adminapi.CodeUnavailable, "this process has no JetStream connection")
	}
	ctx, cancel := context.WithCancel(streamContext(r))
	defer cancel()
	unmasked := roleOf(r).seesPersonalData()
	out := make(chan sse, 64)
	for _, src := range []struct {
		stream, event string
	}{{a.o.Names.CallbacksStream(), "callback"}, {a.o.Names.LedgerStream(), "fact"}} {
		c, err := a.o.JS.OrderedConsumer(ctx, src.stream, jetstream.OrderedConsumerConfig{
			DeliverPolicy: jetstream.DeliverNewPolicy,
		})
		if err != nil {
			return errorf(adminapi.CodeUnavailable, "stream %s: %v", src.stream, err)
		}
		cc, err := c.Consume(func(m jetstream.Msg) {
			ev := decodeLive(src.event, m.Subject(), m.Data(), unmasked)
			b, _ := json.Marshal(ev)
			if !unmasked {
				b = maskJSONText(b)
			}
			select {
			case out <- sse{src.event, b}:
			default: // a slow client loses events rather than holding the server
			}
		})
		if err != nil {
			return errorf(adminapi.CodeUnavailable, "stream %s: %v", src.stream, err)
		}
		defer cc.Stop()
	}
	rc := http.NewResponseController(w)
	// The listener's timeouts are for ordinary answers.
	_ = rc.SetWriteDeadline(time.Time{})
	_ = rc.SetReadDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if _, err := fmt.Fprint(w, ": live\n\n"); err != nil {
		return nil
	}
	if rc.Flush() != nil {
		return nil
	}
	ping := time.NewTicker(livePing)
	defer ping.Stop()
	for {
		var err error
		select {
		case <-ctx.Done():
			return nil
		case e := <-out:
			_, err = fmt.Fprintf(w, "event: %s\ndata: %s\n\n", e.event, e.data)
		case <-ping.C:
			_, err = fmt.Fprint(w, ": ping\n\n")
		}
		if err == nil {
			err = rc.Flush()
		}
		if err != nil {
			return nil // the client went away
		}
	}
}

type sse struct {
	event string
	data  []byte
}

// decodeLive reads a callback envelope or a fact; what does not decode is
// sent with its subject alone.
func decodeLive(kind, subject string, data []byte, unmasked bool) adminapi.LiveEvent {
	ev := adminapi.LiveEvent{Subject: subject}
	if kind == "callback" {
		if env, err := events.Decode(data); err == nil {
			ev.Tenant, ev.Kind, ev.Type, ev.ContractID = env.Tenant, env.Kind, env.Type, env.ContractID
			ev.Status, ev.At = env.ContractStatus, env.ReceivedAt.UTC()
			if env.Auth != nil {
				// The state word (SUCCESS, FAILED, …), never the raw
				// code whose meaning depends on the source ("1").
				ev.Status = lifecycle.CertState(env.Auth.Status, env.Auth.Success)
			}
			if env.Actor != nil {
				ev.Actor = name(maskName, env.Actor.TenantName, unmasked)
			}
		}
		return ev
	}
	var f events.Fact
	if err := json.Unmarshal(data, &f); err == nil {
		ev.Tenant, ev.Kind, ev.ContractID, ev.Status, ev.At = f.Tenant, f.Kind, f.ContractID, f.Status, f.OccurredAt.UTC()
		ev.Type = f.Status
		if f.Kind != "" && f.Status == "" {
			ev.Type = f.Kind
		}
	}
	return ev
}

// maxFactScan bounds the ledger-stream messages one facts request reads:
// the newest this many of the tenant's facts.
const maxFactScan = 50_000

// contractFacts: GET /contracts/{tenant}/{id}/facts, the facts the
// contract produced as they are on the ledger stream, oldest first (the
// tenant's newest maxFactScan facts are searched; the outbox is pruned
// once published, so the stream is where facts stay).
func (a *API) contractFacts(w http.ResponseWriter, r *http.Request) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	if a.o.JS == nil {
		return errorf(adminapi.CodeUnavailable, "this process has no JetStream connection")
	}
	tenant, id := pathParam(r, "tenant"), pathParam(r, "id")
	if !events.ValidToken(tenant) {
		return errorf(adminapi.CodeNotFound, "no tenant %q", tenant)
	}
	ctx := r.Context()
	subject := a.o.Names.LedgerTenantWildcard(tenant)
	s, err := a.o.JS.Stream(ctx, a.o.Names.LedgerStream())
	if err != nil {
		return errorf(adminapi.CodeUnavailable, "stream %s: %v", a.o.Names.LedgerStream(), err)
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(subject))
	if err != nil {
		return err
	}
	items := []adminapi.Fact{}
	var count uint64
	for _, n := range info.State.Subjects {
		count += n
	}
	if count == 0 {
		writeJSON(w, http.StatusOK, adminapi.Page[adminapi.Fact]{Items: items})
		return nil
	}
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}, DeliverPolicy: jetstream.DeliverAllPolicy}
	if count > maxFactScan {
		// Start at the first of the newest maxFactScan: the stream's last
		// sequences minus the excess is a lower bound good enough here.
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = info.State.LastSeq - min(info.State.LastSeq-1, maxFactScan)
	}
	c, err := s.OrderedConsumer(ctx, cfg)
	if err != nil {
		return err
	}
	for scanned := 0; scanned < maxFactScan; {
		batch, err := c.FetchNoWait(500)
		if err != nil {
			return err
		}
		last := false
		got := 0
		for m := range batch.Messages() {
			got++
			meta, err := m.Metadata()
			if err != nil {
				continue
			}
			last = meta.NumPending == 0
			var f events.Fact
			if json.Unmarshal(m.Data(), &f) != nil || f.ContractID != id {
				continue
			}
			items = append(items, adminapi.Fact{
				StreamSeq: meta.Sequence.Stream, Subject: m.Subject(), ID: f.ID, Kind: f.Kind, Seq: f.Seq,
				Status: f.Status, PreviousStatus: f.PreviousStatus, Confirmed: f.Confirmed, Source: f.Source,
				CauseEventID: f.CauseEventID, Documents: factDocuments(f.Documents), OccurredAt: f.OccurredAt.UTC(),
				Discrepancy: factDiscrepancy(f.Discrepancy),
			})
		}
		if err := batch.Error(); err != nil {
			return err
		}
		scanned += got
		if last || got == 0 {
			break
		}
	}
	for i := range items {
		if items[i].LogIndex, err = a.lastLogIndex(ctx, receiptlog.KindFact, tenant, items[i].ID); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, adminapi.Page[adminapi.Fact]{Items: items})
	return nil
}

// factDocuments copies a fact's documents into the answer's type.
func factDocuments(ds []events.FactDocument) []adminapi.FactDocument {
	var out []adminapi.FactDocument
	for _, d := range ds {
		out = append(out, adminapi.FactDocument{ID: d.ID, Title: d.Title, SHA256: d.SHA256, Size: d.Size, Path: d.Path})
	}
	return out
}
