ALTER TABLE documents DROP COLUMN traceparent;
ALTER TABLE outbox DROP COLUMN traceparent;
ALTER TABLE events DROP COLUMN trace_id;
