// Package e2e holds the end-to-end tests: the fake 契约锁 sends callbacks
// to a real receiver, JetStream keeps them, a real dispatcher (in-process,
// or a separate process that the test SIGKILLs) confirms them through the
// fake's API into a real ledger (SQLite, and PostgreSQL when
// QYSHOOK_TEST_POSTGRES_DSN is set) and archives the documents. The
// helpers here snapshot a ledger, its files and its facts so two runs can
// be compared.
package e2e
