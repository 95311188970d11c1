// Package sqlstore holds all of the ledger's SQL and row scanning, shared
// by store/sqlite and store/postgres. It uses only SQL both databases
// accept (INSERT … ON CONFLICT … DO NOTHING/DO UPDATE, RETURNING); the
// differences fit in a Dialect: placeholders, how a time is stored, row
// locks and which driver errors are transient.
package sqlstore
