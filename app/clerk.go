package app

import "context"

// CaseExporter gives every case at once, with its attachments, oldest
// first (`amtstresen cases --json`).
type CaseExporter interface {
	AllCases(ctx context.Context) ([]*Case, error)
}

// ClerkStore is the store as the clerk's programs use it, the window and
// the headless commands a clerk runs: Store, the Art. 15 search, the
// lead's attendance override and the export of all cases. A storage
// adapter implements it (var _ app.ClerkStore = (*storage.DB)(nil)), and
// so does Scoped, which wraps one for a signed-in clerk and writes out
// every method with its access check: a method added here does not
// compile until Scoped has decided what each role may do with it.
type ClerkStore interface {
	Store
	PersonFinder
	AttendanceOverrider
	CaseExporter
}

// CaseReader opens a case to show it to a person. Unlike
// CaseStore.CaseByRef (a lookup: does the case exist, who holds it) it
// writes the read to the audit log (ActionCaseRead): the case view holds
// personal data. Scoped implements it.
type CaseReader interface {
	ReadCase(ctx context.Context, ref string, by Actor) (*Case, error)
}
