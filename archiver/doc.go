// Package archiver is the archive stage: it fetches the signed documents
// of committed contracts from the 契约锁 open API into the document store,
// apart from the callback path.
//
// The dispatcher only queues: when it commits a contract in a signed
// status it marks the contract's documents not yet archived as pending,
// in the same transaction (store.ContractChange.ArchiveDocuments), and
// acks the callbacks. The archiver claims due pending rows under a lease
// (store.Ledger.ClaimDocuments), downloads each with its own timeout,
// stores the file content-addressed (store/docstore) and records the hash
// with its documents.archived fact in one transaction. A failure is a
// document-level state, never a dead letter: a transient one (server
// error, cut download, timeout) is retried with backoff; a permanent one
// (the platform says the document does not exist) or running out of
// attempts ends the row failed with its reason, for operators and the
// reconciler's daily requeue.
//
// Several archivers (one per dispatcher process) share the queue: a
// lease, renewed while the download runs, keeps a row with one archiver
// at a time, and the row of an archiver that died is claimed again once
// its lease lapses (a minute by default); an archiver that finds its
// lease lost cancels its download, and a late success of one that did
// not is ignored (store.Ledger.ArchiveDocument). Shutdown stops claiming, gives in-flight
// downloads a grace period, then cancels them; their rows' leases expire
// and another instance retries them.
package archiver
