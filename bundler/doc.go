// Package bundler is the evidence stage: every interval it takes the
// contracts whose evidence bundle is due (store.EvidenceStore.EvidenceDue:
// COMPLETE or terminal, confirmed, no document still pending archive, a
// contract leaf newer than their last bundle's; read from a queue the
// ledger writes with each contract leaf, so a pass costs what is due, not
// what the ledger holds), gathers what the ledger
// and the archive hold of each (the contract row and its confirming
// detail answer, every leaf of the contract row, every event and fact of
// the contract with its payload, every document row with its archived
// file and verification material), proves each leaf in a signed (and,
// with time-stamping on, anchored) checkpoint of the receipt log, and
// writes the bundle with package evidence to
// <data dir>/evidence/<tenant>/<contract>/v<N>-<sha256 prefix>.zip (linked,
// never over an existing file) before recording it
// (store.EvidenceStore.SaveBundle); a second builder that records the
// same version too late removes its zip (ErrLostRace). A later state
// makes version N+1; old versions are kept.
//
// It calls no platform API: the archiver fetched everything already. A
// row whose content no longer matches its receipt-log leaf (edited
// outside qyshook), or an archived file whose hash is not its row's, stops
// that contract's bundle: it is logged and counted, and retried next
// interval; the stage goes on with the others.
package bundler
