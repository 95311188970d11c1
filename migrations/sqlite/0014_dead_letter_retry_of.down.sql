ALTER TABLE dead_letters DROP COLUMN first_failed_at;
ALTER TABLE dead_letters DROP COLUMN retries;
ALTER TABLE dead_letters DROP COLUMN retry_of;
