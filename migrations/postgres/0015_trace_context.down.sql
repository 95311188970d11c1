ALTER TABLE documents DROP COLUMN traceparent;
