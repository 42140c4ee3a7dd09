// Package integration holds the sync's integration tests against a real
// Dovecot (started privately by the tests, see sync/dovecottest)
// and the real SQLite storage. It has no non-test code.
package integration
