-- W3C trace context (docs/ledger.md, docs/configuration.md):
--   events.trace_id     the trace id (32 lowercase hex digits) of the
--                       callback the event came from: the traceparent
--                       契约锁 or a proxy sent, else a new trace; NULL for
--                       events written before this migration or without one
--   outbox.traceparent  the trace context of the commit that wrote the
--                       fact; the relay publishes the fact as a span of
--                       that trace, with a traceparent header
--   documents.traceparent  the trace context of the commit that last
--                       queued the document; the archiver downloads it as
--                       a span of that trace
ALTER TABLE events ADD COLUMN trace_id TEXT;
ALTER TABLE outbox ADD COLUMN traceparent TEXT;
ALTER TABLE documents ADD COLUMN traceparent TEXT;
