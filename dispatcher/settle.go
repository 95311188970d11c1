package dispatcher

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/qyshook/qyshook/activity"
	"github.com/qyshook/qyshook/deadletter"
	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/store"
)

// Headers on dead-lettered messages (the constants live in events).
const (
	HeaderReason     = events.HeaderDLQReason
	HeaderError      = events.HeaderDLQError
	HeaderEventID    = events.HeaderDLQEventID
	HeaderStreamSeq  = events.HeaderDLQStreamSeq
	HeaderSubject    = events.HeaderDLQSubject
	HeaderDeliveries = events.HeaderDLQDeliveries
)

// settle is the one place an outcome becomes an acknowledgement: nil →
// Ack (after resolving the dead letter a retry names); transient →
// NakWithDelay (exponential, jittered) until MaxDeliver, and without end
// when 契约锁 is pacing us (rate_limited) or a disk is full (disk_full),
// those renewed in the stream before they use up the event's retries;
// permanent or exhausted → dead letter, then Term.
func (d *Dispatcher) settle(ctx context.Context, dl delivery, err error) {
	var delivered uint64 = 1
	if dl.meta != nil {
		delivered = dl.meta.NumDelivered
	}
	log := d.log.With().Str("subject", dl.msg.Subject()).Uint64("attempt", delivered).Logger()
	if dl.env != nil {
		log = log.With().Str("event_id", dl.env.ID).Logger()
	}
	switch {
	case err == nil:
		d.settleApplied(ctx, dl, delivered, log)
	case ctx.Err() != nil:
		// runBatch cancelled the work at the shutdown timeout, after
		// NAKing the batch for immediate redelivery: nothing to add but
		// the count of its one line (the NAK is refused unless the
		// message arrived after it).
		if nerr := dl.msg.Nak(); nerr != nil && !d.settledAlready(nerr) {
			log.Warn().Err(nerr).Msg("nak failed; AckWait will redeliver")
		}
	default:
		d.settleFailed(ctx, dl, delivered, err, log)
	}
}

// settleApplied acks an applied event, after resolving the dead letter a
// retry names.
func (d *Dispatcher) settleApplied(ctx context.Context, dl delivery, delivered uint64, log zerolog.Logger) {
	if dl.env != nil {
		d.cfg.Failures.Succeeded(dl.env.Tenant)
	}
	if rerr := d.resolveRetried(ctx, dl, 0); rerr != nil {
		if delivered < uint64(d.cfg.MaxDeliver) {
			log.Warn().Err(rerr).Msg("retry applied, dead letter not resolved yet; will retry")
			_ = dl.msg.NakWithDelay(d.cfg.Backoff.Delay(delivered))
			return
		}
		log.Error().Err(rerr).Msg("retry applied, dead letter not resolved: purge it with qyshook dlq purge")
	}
	if aerr := dl.msg.Ack(); aerr != nil && !d.settledAlready(aerr) {
		log.Warn().Err(aerr).Msg("ack failed; the event will be redelivered and deduplicated")
	}
}

// settleFailed retries a failed event (renewing it when an exempt failure
// would use up its retries), or dead-letters it.
func (d *Dispatcher) settleFailed(ctx context.Context, dl delivery, delivered uint64, err error, log zerolog.Logger) {
	isPermanent, reason := classify(err)
	d.metrics.failed.WithLabelValues(reason).Inc()
	if !isPermanent && dl.env != nil {
		d.cfg.Failures.Failed(dl.env.Tenant, reason, platformCode(err), err.Error())
	}
	// A full disk is retried for as long as it lasts (dead-lettering would
	// drop completed contracts for want of space the operator can free);
	// so is 契约锁 pacing us (rate limited, or the budget's wait ran out).
	exempt := reason == reasonDiskFull || reason == reasonRateLimited
	if !isPermanent && exempt && delivered+1 >= uint64(d.cfg.MaxDeliver) {
		// The delivery count is the stream's and counts these failures
		// too: left as is, the next ordinary failure after the disk is
		// freed (or the burst is over) would find the retries used up and
		// dead-letter the event. Renew it instead: the same message, under
		// a new stream message id, with a fresh count.
		rerr := d.renew(ctx, dl)
		if rerr == nil {
			d.activity(activity.Retried)
			log.Warn().Err(err).Str("reason", reason).Msg("event failed; renewed in the stream with a fresh delivery count")
			return
		}
		log.Warn().Err(rerr).Msg("renewing the event failed; it stays and is retried")
	}
	if !isPermanent && (delivered < uint64(d.cfg.MaxDeliver) || exempt) {
		delay := d.cfg.Backoff.Delay(delivered)
		if reason == reasonRateLimited {
			// The tenant's budget paces the calls (one probe per window
			// while the platform refuses); the event must be at hand the
			// moment it answers again, not minutes later.
			delay = d.cfg.Backoff.Delay(1)
		}
		d.activity(activity.Retried)
		log.Warn().Err(err).Str("reason", reason).Dur("retry_in", delay).Msg("event failed; will retry")
		if nerr := dl.msg.NakWithDelay(delay); nerr != nil && !d.settledAlready(nerr) {
			log.Warn().Err(nerr).Msg("nak failed; AckWait will redeliver")
		}
		return
	}
	if !isPermanent {
		reason = reasonExhausted + ":" + reason
	}
	d.settleDead(ctx, dl, delivered, reason, err, log)
}

// settleDead dead-letters an event and terminates its message.
func (d *Dispatcher) settleDead(ctx context.Context, dl delivery, delivered uint64, reason string, err error, log zerolog.Logger) {
	newID, derr := d.deadLetter(ctx, dl, reason, err)
	if derr != nil {
		// Not recorded anywhere yet: leave the message to be redelivered.
		log.Error().Err(derr).Msg("dead-lettering failed; the event stays in the stream")
		_ = dl.msg.NakWithDelay(d.cfg.Backoff.Delay(delivered))
		return
	}
	log.Error().Err(err).Str("reason", reason).Msg("event dead-lettered")
	if rerr := d.resolveRetried(ctx, dl, newID); rerr != nil { // the new dead letter replaces the one retried
		log.Warn().Err(rerr).Msg("the dead letter this retry came from stays; purge it with qyshook dlq purge")
	}
	if terr := dl.msg.Term(); terr != nil && !d.settledAlready(terr) {
		log.Warn().Err(terr).Msg("term failed")
	}
}

// settledAlready reports whether err says the message was settled before
// (jetstream.ErrMsgAlreadyAckd: runBatch NAKed it when the shutdown
// timeout ran out, and the cancelled work came back after), counting it
// for runBatch's one line instead of a line per message.
func (d *Dispatcher) settledAlready(err error) bool {
	if !errors.Is(err, jetstream.ErrMsgAlreadyAckd) {
		return false
	}
	d.settledBefore.Add(1)
	return true
}

// renew republishes the delivered message (same subject, data and
// headers) under a new Nats-Msg-Id derived from the original and its
// stream sequence, then acknowledges the original. A crash between the
// two republishes under the same id (the stream drops the duplicate) or
// leaves both: the event id inside is the same, so the ledger applies it
// once.
func (d *Dispatcher) renew(ctx context.Context, dl delivery) error {
	if dl.meta == nil {
		return errors.New("dispatcher: renew: no metadata")
	}
	msg := nats.NewMsg(dl.msg.Subject())
	msg.Data = dl.msg.Data()
	base := ""
	for k, v := range dl.msg.Headers() {
		if k == nats.MsgIdHdr {
			base = strings.Join(v, "")
			continue
		}
		msg.Header[k] = v
	}
	if base == "" && dl.env != nil {
		base = dl.env.ID
	}
	if i := strings.Index(base, renewMark); i >= 0 {
		base = base[:i]
	}
	id := base + renewMark + strconv.FormatUint(dl.meta.Sequence.Stream, 10)
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := d.cfg.JS.PublishMsg(pctx, msg, jetstream.WithMsgID(id)); err != nil {
		return wrapf(err, "renew")
	}
	d.metrics.renewed.Inc()
	if err := dl.msg.Ack(); err != nil {
		// Redelivered: renewed again under the same id, deduplicated.
		d.log.Warn().Err(err).Str("subject", dl.msg.Subject()).Msg("ack of a renewed event failed")
	}
	return nil
}

// renewMark separates a renewed message's id from the original's.
const renewMark = "~renewed-"

// deadLetter copies the message to QYS_DLQ (with the reason in headers)
// and into the dead_letters table, and returns the row id.
func (d *Dispatcher) deadLetter(ctx context.Context, dl delivery, reason string, cause error) (int64, error) {
	var seq uint64
	delivered := 1
	if dl.meta != nil {
		seq = dl.meta.Sequence.Stream
		delivered = int(dl.meta.NumDelivered)
	}
	eventID, tenant := "", ""
	if dl.env != nil {
		eventID, tenant = dl.env.ID, dl.env.Tenant
	}
	msg := nats.NewMsg(d.cfg.Names.DLQSubject(d.cfg.Durable))
	msg.Data = dl.msg.Data()
	// The row's text and the headers must themselves be storable: an
	// event id, a subject or an error quoting a callback's value may hold
	// a NUL or invalid UTF-8 (escaped); the payload stays verbatim.
	eventID, tenant, subject := storableText(eventID), storableText(tenant), storableText(dl.msg.Subject())
	errText := storableText(truncateString(cause.Error(), 512))
	msg.Header.Set(HeaderReason, storableText(reason))
	msg.Header.Set(HeaderError, errText)
	msg.Header.Set(HeaderEventID, eventID)
	msg.Header.Set(HeaderStreamSeq, strconv.FormatUint(seq, 10))
	msg.Header.Set(HeaderSubject, subject)
	msg.Header.Set(HeaderDeliveries, strconv.Itoa(delivered))
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := d.cfg.JS.PublishMsg(pctx, msg, jetstream.WithMsgID(fmt.Sprintf("dlq-%s-%d", d.cfg.Durable, seq))); err != nil {
		return 0, wrapf(err, "publish dead letter")
	}
	row := store.DeadLetter{
		EventID: eventID, Tenant: tenant, Consumer: d.cfg.Durable, Subject: subject, StreamSeq: seq,
		Reason: storableText(reason) + ": " + errText, Deliveries: delivered, Payload: dl.msg.Data(),
		CreatedAt: time.Now().UTC(),
	}
	d.linkPredecessor(pctx, dl, &row)
	id, err := d.cfg.Ledger.AddDeadLetter(pctx, row)
	if err != nil {
		return 0, wrapf(err, "record dead letter")
	}
	d.metrics.deadLetters.Inc()
	d.activity(activity.DeadLettered)
	return id, nil
}

// linkPredecessor links a retry that failed again to the dead letter it
// retried (named in its headers, events.HeaderDeadLetterID): RetryOf, the
// retries so far and when the event first failed (the predecessor is
// about to be replaced, so its figures are carried over).
func (d *Dispatcher) linkPredecessor(ctx context.Context, dl delivery, row *store.DeadLetter) {
	h := dl.msg.Headers()
	if h == nil {
		return
	}
	id, err := strconv.ParseInt(h.Get(events.HeaderDeadLetterID), 10, 64)
	if err != nil || id <= 0 {
		return
	}
	row.RetryOf, row.Retries = id, 1
	prev, err := d.cfg.Ledger.DeadLetter(ctx, id)
	if err != nil {
		return // gone already: the link stays, without its figures
	}
	row.Retries = prev.Retries + 1
	first := prev.CreatedAt.UTC()
	if prev.FirstFailedAt != nil {
		first = prev.FirstFailedAt.UTC()
	}
	row.FirstFailedAt = &first
}

// resolveRetried resolves the dead letter a dead-letter retry names in
// its headers (events.HeaderDeadLetterID): on success the retry settled
// it; when the retry was dead-lettered again, the new dead letter replaces
// it. A message without the header, or whose dead letter is already gone
// (or is the dead letter just recorded, keep), resolves nothing.
func (d *Dispatcher) resolveRetried(ctx context.Context, dl delivery, keep int64) error {
	h := dl.msg.Headers()
	if h == nil || h.Get(events.HeaderDeadLetterID) == "" {
		return nil
	}
	id, err := strconv.ParseInt(h.Get(events.HeaderDeadLetterID), 10, 64)
	if id == keep {
		return nil
	}
	if err != nil || id <= 0 {
		d.log.Warn().Str("subject", dl.msg.Subject()).Msg("ignoring a malformed " + events.HeaderDeadLetterID + " header")
		return nil
	}
	dlqSeq, _ := strconv.ParseUint(h.Get(events.HeaderDeadLetterSeq), 10, 64)
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err = deadletter.Resolve(rctx, d.cfg.JS, d.cfg.Names, d.cfg.Ledger, id, dlqSeq)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	d.log.Info().Int64("dead_letter_id", id).Msg("dead letter resolved")
	return nil
}

// truncateString cuts s to at most n bytes, on a rune boundary (a cut
// inside a character would leave invalid UTF-8, which PostgreSQL refuses).
func truncateString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
