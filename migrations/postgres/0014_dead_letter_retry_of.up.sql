-- A retried dead letter that fails again is recorded under a new id and
-- replaces the one retried: retry_of names that predecessor (0: none),
-- retries counts the retries of the event that failed again, and
-- first_failed_at is when the event was first dead-lettered.
ALTER TABLE dead_letters ADD COLUMN retry_of bigint NOT NULL DEFAULT 0;
ALTER TABLE dead_letters ADD COLUMN retries integer NOT NULL DEFAULT 0;
ALTER TABLE dead_letters ADD COLUMN first_failed_at timestamptz;
