-- A stream message is dead-lettered once per consumer: a dispatcher that
-- crashed between recording a dead letter and terminating the message
-- records it again on redelivery, and that must not add a second row.
CREATE UNIQUE INDEX dead_letters_once ON dead_letters (consumer, stream_seq) WHERE stream_seq > 0;
