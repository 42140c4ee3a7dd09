package ui

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"amtstresen/app"
	"amtstresen/storage"
)

// roleStore is a real database with an administrator, a clerk of VG Ulmen
// and the lead of VG Zell.
func roleStore(t *testing.T) *storage.DB {
	t.Helper()
	db, err := storage.Open(context.Background(), filepath.Join(t.TempDir(), "amtstresen.db"), testReg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	by := app.Actor{Clerk: "it", Role: app.RoleAdmin}
	for _, ra := range []app.RoleAssignment{{Clerk: "it", Role: app.RoleAdmin}, {Clerk: "uklerk", Role: app.RoleClerk, Office: app.OfficeUlmen},
		{Clerk: "zleitung", Role: app.RoleLead, Office: app.OfficeZell}} {
		if err := db.SetRole(context.Background(), ra, by); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// signedIn opens the window as the account, through the scoped store, as ui/cli does.
func signedIn(t *testing.T, db *storage.DB, account string) *harness {
	t.Helper()
	a, setup, err := app.ResolveActor(context.Background(), db, account)
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, app.NewScoped(db, a), func(o *Options) { o.Actor, o.Setup = a, setup })
	h.store = db // test helpers create cases as the portal would
	return h
}

// A clerk of VG Ulmen in the window: the office comes with the role (the
// preference says Cochem), the queue shows Ulmen's cases only, a Zell case
// does not open, and the data-protection tools are not offered.
func TestWindowClerkOfUlmen(t *testing.T) {
	db := roleStore(t)
	h := signedIn(t, db, "uklerk")
	zell := h.create(dogCase("Zora", "Zeller", "56856", "Zell (Mosel)"), "z1")
	ulmen := h.create(dogCase("Ulla", "Ulmer", "56766", "Ulmen"), "u1")
	if zell.Office != app.OfficeZell || ulmen.Office != app.OfficeUlmen {
		t.Fatalf("test cases routed to %s and %s", zell.Office, ulmen.Office)
	}
	m := h.m
	if m.office() != app.OfficeUlmen || m.clerkSign() != "uklerk" {
		t.Fatalf("office %s, sign %s", m.office(), m.clerkSign())
	}
	m.queue.resetFilter()
	h.wait()
	if m.queue.count != 1 {
		t.Errorf("queue shows %d cases, want Ulmen's one", m.queue.count)
	}
	m.queue.setFilter(app.CaseFilter{Offices: []app.OfficeKey{app.OfficeZell}})
	h.wait()
	if m.queue.count != 0 {
		t.Errorf("queue filtered to Zell shows %d", m.queue.count)
	}
	m.openCase(zell.Ref)
	h.wait()
	if !strings.Contains(m.lastMessage, "gehört nicht zu Ihrer Dienststelle") {
		t.Errorf("opening a Zell case: message %q", m.lastMessage)
	}
	m.back()
	m.openCase(ulmen.Ref)
	h.wait()
	if m.caseView == nil || m.caseView.c == nil || m.caseView.c.Ref != ulmen.Ref {
		t.Fatalf("own case did not open (message %q)", m.lastMessage)
	}
	if !m.settings.office.Disabled() || !m.settings.sign.Disabled() {
		t.Error("a clerk can change office or sign in the settings")
	}
	if m.can(app.RoleLead) {
		t.Error("a clerk has the lead's tools")
	}
	es, _ := db.AuditEntries(context.Background(), app.AuditFilter{Ref: zell.Ref, Action: "case.read.denied"})
	if len(es) == 0 || es[0].Clerk != "uklerk" {
		t.Errorf("refused read not audited: %+v", es)
	}
}

// The administrator's audit view lists entries newest first and saves
// them as CSV; the export is itself logged.
func TestWindowAuditViewAndCSV(t *testing.T) {
	db := roleStore(t)
	h := signedIn(t, db, "it")
	c := h.create(dogCase("Anna", "Muster", "56856", "Zell (Mosel)"), "a1")
	h.m.openCase(c.Ref)
	h.wait()
	h.m.back()
	h.m.showAudit()
	h.wait()
	v := h.m.auditView
	if len(v.entries) < 3 {
		t.Fatalf("audit view shows %d entries", len(v.entries))
	}
	if got := v.cell(0, 3); got != "Vorgang geöffnet" || v.cell(0, 4) != c.Ref || v.cell(0, 1) != "it" {
		t.Errorf("newest row: %q %q %q", v.cell(0, 1), got, v.cell(0, 4))
	}
	test.Type(v.ref, c.Ref)
	v.load()
	h.wait()
	for i := range v.entries {
		if v.entries[i].Ref != c.Ref {
			t.Errorf("filtered by %s shows %+v", c.Ref, v.entries[i])
		}
	}
	var buf bytes.Buffer
	if err := v.writeCSV(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), "zeit,sachbearbeitung,dienststelle,aktion,bezug,detail\n") || !strings.Contains(buf.String(), c.Ref) {
		t.Errorf("CSV:\n%s", buf.String())
	}
	if strings.Contains(buf.String(), "Muster") {
		t.Error("CSV holds the applicant's name")
	}
	if es, _ := db.AuditEntries(context.Background(), app.AuditFilter{Action: "audit.export"}); len(es) != 1 || es[0].Clerk != "it" {
		t.Errorf("CSV export not logged: %+v", es)
	}
}

// The Art. 15 export from the window writes PDF, JSON and files into a
// new folder; the lead of Zell gets Zell's case only.
func TestWindowPersonExport(t *testing.T) {
	db := roleStore(t)
	h := signedIn(t, db, "zleitung")
	in := dogCase("Jördis", "Weißmüller", "56856", "Zell (Mosel)")
	in.Email = "jw@example.org"
	zell := h.create(in, "p1")
	in2 := dogCase("Jördis", "Weißmüller", "56766", "Ulmen")
	in2.Email = "jw@example.org"
	h.create(in2, "p2")
	h.m.showPersonExport()
	p := h.m.personExport
	test.Type(p.email, "jw@example.org")
	dir := t.TempDir()
	p.export(dir)
	h.wait()
	if !strings.Contains(p.status.Text, "1 Vorgang,") {
		t.Fatalf("status %q", p.status.Text)
	}
	found, _ := filepath.Glob(filepath.Join(dir, "Auskunft-*", "Auskunft.json"))
	if len(found) != 1 {
		t.Fatalf("no JSON written: %v", found)
	}
	b, _ := os.ReadFile(found[0])
	var j app.PersonJSON
	if err := json.Unmarshal(b, &j); err != nil {
		t.Fatal(err)
	}
	if len(j.Cases) != 1 || j.Cases[0].Ref != zell.Ref {
		t.Errorf("export holds %+v", j.Cases)
	}
	if pdfB, err := os.ReadFile(filepath.Join(filepath.Dir(found[0]), "Auskunft.pdf")); err != nil || !bytes.HasPrefix(pdfB, []byte("%PDF")) {
		t.Errorf("PDF: %v", err)
	}
}

// A damaged database at start: the message window says what happened and
// how to restore, and the text stays as it is when typed into.
func TestStartupMessage(t *testing.T) {
	test.NewTempApp(t)
	msg := app.RestoreHint("/daten/amtstresen.db", "/sicherung/amtstresen-20261127-023000.db")
	closed := false
	c := startupMessage("Datenbank beschädigt", msg, func() { closed = true })
	w := test.NewWindow(c)
	defer w.Close()
	var entry *widget.Entry
	var button *widget.Button
	for _, o := range test.LaidOutObjects(c) {
		switch x := o.(type) {
		case *widget.Entry:
			entry = x
		case *widget.Button:
			button = x
		}
	}
	if entry == nil || button == nil {
		t.Fatal("message or button missing")
	}
	if !strings.Contains(entry.Text, `amtstresen restore "/sicherung/amtstresen-20261127-023000.db"`) || !strings.Contains(entry.Text, "beschädigt") {
		t.Errorf("text:\n%s", entry.Text)
	}
	test.Type(entry, "x")
	if entry.Text != msg {
		t.Error("the message can be edited")
	}
	test.Tap(button)
	if !closed {
		t.Error("Beenden does nothing")
	}
}

// The database check runs while the window opens; when it finds damage,
// the window shows only the message with the way to restore, no work.
func TestStartupCheckFailsInWindow(t *testing.T) {
	hint := app.RestoreHint("/daten/amtstresen.db", "/sicherung/amtstresen-20261127-023000.db")
	h := newHarness(t, newTestStore(t), func(o *Options) {
		o.Check = func(context.Context) error { return &app.Error{Code: app.ECORRUPT, Message: hint} }
	})
	h.wait()
	var texts []string
	for _, o := range test.LaidOutObjects(h.w.Content()) {
		switch x := o.(type) {
		case *widget.Entry:
			texts = append(texts, x.Text)
		case *widget.Label:
			texts = append(texts, x.Text)
		case *widget.Table, *keyTable:
			t.Error("the queue is still shown after a failed check")
		}
	}
	all := strings.Join(texts, "\n")
	if !strings.Contains(all, "Datenbank beschädigt") || !strings.Contains(all, `amtstresen restore "/sicherung/amtstresen-20261127-023000.db"`) {
		t.Errorf("window after a failed check:\n%s", all)
	}

	// A sound database: the window stays as it is.
	ok := newHarness(t, newTestStore(t), func(o *Options) { o.Check = func(context.Context) error { return nil } })
	ok.wait()
	found := false
	for _, o := range test.LaidOutObjects(ok.w.Content()) {
		if _, isTable := o.(*keyTable); isTable {
			found = true
		}
	}
	if !found {
		t.Error("queue missing after a passed check")
	}
}

// Under access control the window opens a case through the scoped store,
// which logs the read: once per opening, not again when the view reloads
// after a change. The administration, working for an office it chose in
// the window, makes its changes as itself (the store refuses any other
// actor), and they land.
func TestWindowReadAuditedOncePerOpening(t *testing.T) {
	db := roleStore(t)
	for _, account := range []string{"uklerk", "it"} {
		h := signedIn(t, db, account)
		if account == "it" {
			h.m.setClerk(app.OfficeZell, "Ingo Tech", "")
			if h.m.office() != app.OfficeZell {
				t.Fatalf("admin's office in the window: %s", h.m.office())
			}
		}
		c := h.create(dogCase("Ulla", "Ulmer", "56766", "Ulmen"), "r-"+account)
		reads := func() int {
			es, _ := db.AuditEntries(context.Background(), app.AuditFilter{Ref: c.Ref, Action: app.ActionCaseRead})
			for _, e := range es {
				if e.Clerk != account || e.Office != app.OfficeUlmen {
					t.Errorf("read logged as %+v", e)
				}
			}
			return len(es)
		}
		h.m.openCase(c.Ref)
		h.wait()
		if n := reads(); n != 1 {
			t.Fatalf("%s: %d reads after opening, want 1", account, n)
		}
		h.m.caseView.onClaim()
		h.wait()
		if got := h.caseByRef(c.Ref); got.Assignee != account {
			t.Fatalf("%s: claim did not land (assignee %q, message %q)", account, got.Assignee, h.m.lastMessage)
		}
		if n := reads(); n != 1 {
			t.Errorf("%s: %d reads after the reload of a claim, want 1", account, n)
		}
		h.m.back()
		h.m.openCase(c.Ref)
		h.wait()
		if n := reads(); n != 2 {
			t.Errorf("%s: %d reads after opening again, want 2", account, n)
		}
	}
}
