DROP TABLE outbox;
DROP TABLE dead_letters;
DROP TABLE certifications;
DROP TABLE documents;
DROP TABLE signatories;
DROP TABLE contracts;
DROP TABLE events;
