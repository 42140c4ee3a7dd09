package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"amtstresen/app"
)

// purge: the retention purge (app.Purger).
var purge = []test{
	{"PurgeCase", testPurgeCase},
	{"PurgeNeverOpenCases", testPurgeNeverOpenCases},
	{"PurgeQueuesServerMails", testPurgeQueuesServerMails},
	{"AppointmentRetention", testAppointmentRetention},
	{"AuditRetention", testAuditRetention},
	{"MaintenanceRuns", testMaintenanceRuns},
}

// testMaintenanceRuns: the last run of each job, at the store's clock; a
// later run replaces it, errors included; a job that never ran has none.
func testMaintenanceRuns(e *env) {
	if r, err := e.st.LastRun(e.ctx, "purge"); err != nil || r != nil {
		e.Fatalf("before any run: %+v, %v", r, err)
	}
	at := Start.Add(3 * time.Hour)
	e.clock.set(at)
	e.ok(e.st.RecordRun(e.ctx, "purge", "2 Vorgänge gelöscht", ""))
	e.ok(e.st.RecordRun(e.ctx, "backup", "", "Platte voll"))
	r, err := e.st.LastRun(e.ctx, "purge")
	e.ok(err)
	if r == nil || r.Job != "purge" || !r.LastRun.Equal(at) || r.Result != "2 Vorgänge gelöscht" || r.Error != "" {
		e.Fatalf("purge run = %+v, want at %s", r, at)
	}
	e.clock.set(at.Add(24 * time.Hour))
	e.ok(e.st.RecordRun(e.ctx, "purge", "", "Server nicht erreichbar"))
	r, err = e.st.LastRun(e.ctx, "purge")
	e.ok(err)
	if r == nil || !r.LastRun.Equal(at.Add(24*time.Hour)) || r.Result != "" || r.Error != "Server nicht erreichbar" {
		e.Fatalf("second purge run = %+v", r)
	}
	if r, err := e.st.LastRun(e.ctx, "backup"); err != nil || r == nil || r.Error != "Platte voll" {
		e.Fatalf("backup run = %+v, %v", r, err)
	}
}

func testPurgeCase(e *env) { purgeCase(e, e.st, "Zqxmarkerpurgecase", nil) }

// PurgeCase writes marker into every place a case keeps personal data
// (applicant, fields, raw portal data, an attachment, a citizen's message
// with a file, a clerk's note, a review mail, a booking), closes the case,
// lets its retention period pass and purges; it checks through st that
// the case and everything that belonged to it are gone, to the minute of
// the period's end, and that a second, open case sharing a file with it
// is whole. check, when not nil, runs before the purge (before=true) and
// after it: where an adapter checks what the interface cannot show
// (SQLite: that no byte of the marker is left in its files). st's clock
// must advance (the case is closed at its "now").
func PurgeCase(t *testing.T, st Store, marker string, check func(before bool)) {
	purgeCase(&env{T: t, ctx: context.Background(), st: st}, st, marker, check)
}

func purgeCase(e *env, st Store, marker string, check func(before bool)) {
	common := []byte("%PDF-1.4 Personalausweis-Kopie, gemeinsam genutzt")
	sum := func(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
	att := func(name string, data []byte) app.NewAttachment {
		return app.NewAttachment{Attachment: app.Attachment{Name: name, Type: "application/pdf", Size: int64(len(data)), SHA256: sum(data), Received: true}, Data: data}
	}
	secret := []byte("Anlage mit " + marker + " darin")

	nc := e.dogCase("portal-gone", "Anna", marker, app.OfficeZell, Start.Add(-time.Hour))
	nc.Applicant.Email = strings.ToLower(marker) + "@example.org"
	fields, _ := json.Marshal(map[string]any{"hund": map[string]any{"name": marker, "rasse": "Dackel", "chipnummer": "276098106543210"}, "haltungsbeginn": "2026-11-01"})
	nc.Fields = fields
	nc.Raw = json.RawMessage(`{"vorgang":"portal-gone","notiz":"` + marker + `"}`)
	nc.Attachments = []app.NewAttachment{att("ausweis.pdf", common), att("geheim.pdf", secret)}
	gone := e.createIn(st, nc)

	kept := e.dogCase("portal-kept", "Berta", "Bleibt", app.OfficeZell, Start)
	kept.Attachments = []app.NewAttachment{att("ausweis.pdf", common)}
	keptCase := e.createIn(st, kept)

	msgFile := []byte("Nachtrag " + marker)
	e.ok(st.AddMessage(e.ctx, "portal-gone", "msg-1", &app.Note{Text: "Nachricht von " + marker}, []app.NewAttachment{att("nachtrag.pdf", msgFile)}, nil))
	by := app.Actor{Clerk: "zsachb", Office: app.OfficeZell}
	e.ok(st.AddNote(e.ctx, gone.Ref, "Rückruf bei "+marker, by))
	e.ok(st.AddReview(e.ctx, &app.ReviewItem{MessageID: "<r1@portal>", Subject: "Frage von " + marker, From: "anna@example.org",
		Reason: app.ReviewCaseUnknown, Raw: []byte("Subject: x\r\n\r\n" + marker), PortalCase: "portal-gone"}, nil))
	if _, err := st.ApplyAppointment(e.ctx, &app.Appointment{UID: "appt-gone@portal", Sequence: 1, Status: app.AppointmentConfirmed,
		Service: "buergerbuero", Office: app.OfficeZell, PortalCase: "portal-gone", CitizenName: "Anna " + marker,
		Start: Start.Add(48 * time.Hour), End: Start.Add(49 * time.Hour)}, nil); err != nil {
		e.Fatal(err)
	}
	e.ok(st.SetStatus(e.ctx, gone.Ref, app.StatusInProgress, "", by))
	e.ok(st.SetStatus(e.ctx, gone.Ref, app.StatusDone, "Bescheid erteilt", by))
	if n, _ := st.CountCases(e.ctx, app.CaseFilter{Query: marker}); n != 1 {
		e.Fatalf("before the purge the search finds %d cases", n)
	}
	if check != nil {
		check(true)
	}

	// Hundesteuer: 120 months after closing.
	g, err := st.CaseByRef(e.ctx, gone.Ref)
	e.ok(err)
	early := g.ClosedAt.In(app.Berlin).AddDate(0, 120, 0).Add(-time.Minute)
	rep, err := st.Purge(e.ctx, app.PurgeOptions{Now: early, DryRun: true})
	e.ok(err)
	if len(rep.Cases) != 0 {
		e.Fatalf("a minute before the end of the period: %v would go", rep.Cases)
	}
	late := early.Add(2 * time.Minute)
	rep, err = st.Purge(e.ctx, app.PurgeOptions{Now: late, DryRun: true})
	e.ok(err)
	if len(rep.Cases) != 1 || rep.Cases[0].Ref != gone.Ref || !rep.DryRun {
		e.Fatalf("dry run: cases %v, want only %s", rep.Cases, gone.Ref)
	}
	if it := rep.Cases[0]; it.Service != "hund-anmelden" || it.Office != app.OfficeZell || !it.Since.Equal(g.ClosedAt) ||
		!it.Expired.Equal(g.ClosedAt.In(app.Berlin).AddDate(0, 120, 0)) {
		e.Errorf("dry run item %+v (closed %v)", it, g.ClosedAt)
	}
	if _, err := st.CaseByRef(e.ctx, gone.Ref); err != nil {
		e.Fatalf("the dry run deleted: %v", err)
	}

	rep, err = st.Purge(e.ctx, app.PurgeOptions{Now: late})
	e.ok(err)
	if len(rep.Cases) != 1 || rep.Cases[0].Ref != gone.Ref || rep.DryRun {
		e.Fatalf("purge: cases %v", rep.Cases)
	}

	// The case and everything that belonged to it are gone.
	if _, err := st.CaseByRef(e.ctx, gone.Ref); app.ErrorCode(err) != app.ENOTFOUND {
		e.Fatalf("case after purge: %v", err)
	}
	if _, err := st.CaseByPortalID(e.ctx, "portal-gone"); app.ErrorCode(err) != app.ENOTFOUND {
		e.Fatalf("case by portal id after purge: %v", err)
	}
	if _, err := st.Notes(e.ctx, gone.Ref); app.ErrorCode(err) != app.ENOTFOUND {
		e.Fatalf("notes after purge: %v", err)
	}
	if _, err := st.AttachmentData(e.ctx, sum(secret)); app.ErrorCode(err) != app.ENOTFOUND {
		e.Fatalf("attachment after purge: %v", err)
	}
	if _, err := st.AttachmentData(e.ctx, sum(msgFile)); app.ErrorCode(err) != app.ENOTFOUND {
		e.Fatalf("message file after purge: %v", err)
	}
	if _, err := st.Appointment(e.ctx, "appt-gone@portal"); app.ErrorCode(err) != app.ENOTFOUND {
		e.Fatalf("appointment after purge: %v", err)
	}
	items, _ := st.ReviewItems(e.ctx, true)
	if len(items) != 0 {
		e.Fatalf("review mails after purge: %d", len(items))
	}
	if n, _ := st.CountCases(e.ctx, app.CaseFilter{Query: strings.ToLower(marker)}); n != 0 {
		e.Fatalf("search still finds the marker: %d", n)
	}
	if d, err := st.FindPerson(e.ctx, app.PersonQuery{Email: strings.ToLower(marker) + "@example.org"}); err != nil || len(d.Cases)+len(d.Appointments)+len(d.Mails) != 0 {
		e.Fatalf("the Art. 15 search still finds %+v, %v", d, err)
	}
	// The other case keeps its shared file and stays searchable.
	if b, err := st.AttachmentData(e.ctx, sum(common)); err != nil || !bytes.Equal(b, common) {
		e.Fatalf("shared file of the kept case: %v", err)
	}
	if n, _ := st.CountCases(e.ctx, app.CaseFilter{Query: "Bleibt"}); n != 1 {
		e.Fatalf("kept case not found by search: %d", n)
	}
	if c, err := st.CaseByRef(e.ctx, keptCase.Ref); err != nil || len(c.Attachments) != 1 {
		e.Fatalf("kept case: %+v %v", c, err)
	}

	// The deletion is logged by reference only; the audit log keeps what
	// it had (it has its own period).
	es, err := st.AuditEntries(e.ctx, app.AuditFilter{Ref: gone.Ref})
	e.ok(err)
	if last := es[len(es)-1]; last.Clerk != "system" || last.Action != "case.purge" ||
		!strings.HasPrefix(last.Detail, "service=hund-anmelden office=vg-zell closed=") || len(es) < 4 {
		e.Fatalf("audit of the case %+v", es)
	}
	// A second purge finds nothing more.
	rep, err = st.Purge(e.ctx, app.PurgeOptions{Now: late})
	if err != nil || len(rep.Cases)+len(rep.Appointments) != 0 {
		e.Errorf("second purge: %+v %v", rep, err)
	}
	if check != nil {
		check(false)
	}
}

// testPurgeNeverOpenCases: an open case is never purged however old; a
// closed case whose service has no period in the catalog is kept and
// reported; the report says the same in a dry run and for real.
func testPurgeNeverOpenCases(e *env) {
	long := Start.AddDate(-30, 0, 0)
	mm := app.Actor{Clerk: "mm", Office: app.OfficeZell}
	var open []string
	for i, path := range [][]app.Status{nil, {app.StatusInProgress}, {app.StatusInProgress, app.StatusWaiting}} {
		c := e.create(e.dogCase(fmt.Sprintf("open-%d", i), "Olga", "Offen", app.OfficeZell, long))
		for _, s := range path {
			e.ok(e.st.SetStatus(e.ctx, c.Ref, s, "weiter", mm))
		}
		open = append(open, c.Ref)
	}
	unknown := e.dogCase("no-period", "Nora", "Frist", app.OfficeZell, long)
	unknown.Service = "gibt-es-nicht"
	nc := e.create(unknown)
	e.ok(e.st.SetStatus(e.ctx, nc.Ref, app.StatusWithdrawn, "zurückgezogen", mm))
	closed := e.create(e.dogCase("closed", "Carl", "Zu", app.OfficeZell, long))
	e.ok(e.st.SetStatus(e.ctx, closed.Ref, app.StatusWithdrawn, "zurückgezogen", mm))

	far := Start.AddDate(50, 0, 0)
	for _, dry := range []bool{true, false} {
		rep, err := e.st.Purge(e.ctx, app.PurgeOptions{Now: far, DryRun: dry})
		e.ok(err)
		if len(rep.Cases) != 1 || rep.Cases[0].Ref != closed.Ref {
			e.Errorf("dry run %v: purged %+v", dry, rep.Cases)
		}
		if len(rep.NoRetention) != 1 || rep.NoRetention[0] != nc.Ref {
			e.Errorf("dry run %v: no retention %v", dry, rep.NoRetention)
		}
	}
	for _, ref := range append(open, nc.Ref) {
		e.mustCase(ref)
	}
	if n, _ := e.st.CountCases(e.ctx, app.CaseFilter{}); n != 4 {
		e.Errorf("%d cases left, want 4", n)
	}
}

// testPurgeQueuesServerMails (issue 12, point 12): the purge of a case
// queues its mails on the server (the recorded places and a search by its
// case id) and forgets the places; the receipts stay, without the case;
// handled review mail past its period goes too, open review mail stays.
func testPurgeQueuesServerMails(e *env) {
	c := e.create(e.dogCase("p-1", "Anna", "Muster", app.OfficeZell, Start))
	keep := e.create(e.dogCase("p-2", "Bernd", "Beispiel", app.OfficeZell, Start))
	// The application's mail (taken in again by a re-delivery receipt),
	// a message, a review mail of the case; and one of the other case.
	for _, r := range []app.Receipt{{SHA256: "a1", Kind: "antrag", PortalCase: "p-1"}, {SHA256: "a2", Kind: "nachricht", PortalCase: "p-1"},
		{SHA256: "b1", Kind: "antrag", PortalCase: "p-2"}} {
		nc := e.dogCase(r.PortalCase, "x", "y", app.OfficeZell, Start)
		if _, _, err := e.st.CreateCase(e.ctx, nc, &r); err != nil {
			e.Fatal(err)
		}
	}
	e.ok(e.st.AddReview(e.ctx, &app.ReviewItem{MessageID: "<r@x>", Reason: app.ReviewCaseUnknown, PortalCase: "p-1", Raw: []byte("r1"), SHA256: "r1"}, nil))
	old := &app.ReviewItem{MessageID: "<old@x>", Reason: app.ReviewNotPortal, Raw: []byte("alt"), SHA256: "old"}
	e.ok(e.st.AddReview(e.ctx, old, nil))
	e.ok(e.st.ResolveReview(e.ctx, old.ID, "handled", "Werbung", app.Actor{Clerk: "mm"}))
	open := &app.ReviewItem{MessageID: "<open@x>", Reason: app.ReviewNotPortal, Raw: []byte("offen"), SHA256: "open"}
	e.ok(e.st.AddReview(e.ctx, open, nil))
	e.ok(e.st.MailFiled(e.ctx, []app.MailLocation{{SHA256: "a1", Mailbox: "Übernommen", UIDValidity: 5, UID: 1},
		{SHA256: "a2", Mailbox: "Übernommen", UIDValidity: 5, UID: 2}, {SHA256: "b1", Mailbox: "Übernommen", UIDValidity: 5, UID: 3},
		{SHA256: "r1", Mailbox: "Zur Sichtung", UIDValidity: 6, UID: 1}, {SHA256: "old", Mailbox: "Zur Sichtung", UIDValidity: 6, UID: 2},
		{SHA256: "open", Mailbox: "Zur Sichtung", UIDValidity: 6, UID: 3}}))
	// Filed twice (a retried batch): one place.
	e.ok(e.st.MailFiled(e.ctx, []app.MailLocation{{SHA256: "a1", Mailbox: "Übernommen", UIDValidity: 5, UID: 1}}))
	if jobs, err := e.st.MailPurges(e.ctx); err != nil || len(jobs) != 0 {
		e.Fatalf("queue before any purge: %+v %v", jobs, err)
	}
	e.ok(e.st.SetStatus(e.ctx, c.Ref, app.StatusInProgress, "", app.Actor{Clerk: "mm"}))
	e.ok(e.st.SetStatus(e.ctx, c.Ref, app.StatusDone, "erledigt", app.Actor{Clerk: "mm"}))
	rep, err := e.st.Purge(e.ctx, app.PurgeOptions{Now: Start.AddDate(20, 0, 0), ReviewMonths: 12})
	e.ok(err)
	if len(rep.Cases) != 1 || rep.ReviewMails != 1 {
		e.Fatalf("report %+v", rep)
	}
	jobs := e.mailPurges()
	for _, want := range []string{"Übernommen/5/1 ", "Übernommen/5/2 ", "Zur Sichtung/6/1 ", "Zur Sichtung/6/2 ", "/0/0 p-1"} {
		if !jobs[want] {
			e.Errorf("not queued: %q (queue %v)", want, jobs)
		}
	}
	if len(jobs) != 5 {
		e.Errorf("%d jobs, want 5: %v", len(jobs), jobs)
	}
	if r, _ := e.st.Receipts(e.ctx, []string{"a1", "b1"}); r["a1"].PortalCase != "" || !r["a1"].TakenIn() || r["b1"].PortalCase != "p-2" {
		e.Errorf("receipts %+v", r)
	}
	e.mustCase(keep.Ref)
	if items, _ := e.st.ReviewItems(e.ctx, true); len(items) != 1 || items[0].SHA256 != "open" {
		e.Errorf("review mails after the purge: %+v", items)
	}
	all, err := e.st.MailPurges(e.ctx)
	e.ok(err)
	var ids []int64
	for _, j := range all {
		ids = append(ids, j.ID)
	}
	e.ok(e.st.MailPurged(e.ctx, ids[:1]))
	if left, _ := e.st.MailPurges(e.ctx); len(left) != len(all)-1 || left[0].ID != all[1].ID {
		e.Errorf("after the first done: %+v", left)
	}
	e.ok(e.st.MailPurged(e.ctx, ids))
	if jobs, _ := e.st.MailPurges(e.ctx); len(jobs) != 0 {
		e.Errorf("%d jobs after done", len(jobs))
	}
	// The places were forgotten: purging the other case later queues
	// its own place only.
	e.ok(e.st.SetStatus(e.ctx, keep.Ref, app.StatusWithdrawn, "zurückgezogen", app.Actor{Clerk: "mm"}))
	if _, err := e.st.Purge(e.ctx, app.PurgeOptions{Now: Start.AddDate(20, 0, 0)}); err != nil {
		e.Fatal(err)
	}
	if jobs := e.mailPurges(); len(jobs) != 2 || !jobs["Übernommen/5/3 "] || !jobs["/0/0 p-2"] {
		e.Errorf("second purge queued %v", jobs)
	}
}

// mailPurges returns the purge queue as "mailbox/uidvalidity/uid case".
func (e *env) mailPurges() map[string]bool {
	e.Helper()
	jobs, err := e.st.MailPurges(e.ctx)
	e.ok(err)
	got := map[string]bool{}
	for _, j := range jobs {
		got[fmt.Sprintf("%s/%d/%d %s", j.Mailbox, j.UIDValidity, j.UID, j.PortalCase)] = true
	}
	return got
}

// testAppointmentRetention: bookings go the catalog's days after they
// took place; a service without a period is kept and reported.
func testAppointmentRetention(e *env) {
	add := func(uid, service string, start time.Time) {
		if _, err := e.st.ApplyAppointment(e.ctx, &app.Appointment{UID: uid, Sequence: 1, Status: app.AppointmentConfirmed, Service: service,
			Office: app.OfficeKreis, CitizenName: "Karl Kfz", Start: start, End: start.Add(15 * time.Minute)}, nil); err != nil {
			e.Fatal(err)
		}
	}
	add("alt@p", "kfz-zulassung", Start.AddDate(0, 0, -31))
	add("jung@p", "kfz-zulassung", Start.AddDate(0, 0, -29))
	add("unbekannt@p", "gibt-es-nicht", Start.AddDate(-3, 0, 0))
	add("morgen@p", "kfz-zulassung", Start.AddDate(0, 0, 1))
	rep, err := e.st.Purge(e.ctx, app.PurgeOptions{Now: Start})
	e.ok(err)
	if len(rep.Appointments) != 1 || rep.Appointments[0].Ref != "alt@p" || rep.Appointments[0].Service != "kfz-zulassung" {
		e.Fatalf("purged %+v", rep.Appointments)
	}
	if len(rep.NoRetention) != 1 || !strings.Contains(rep.NoRetention[0], "unbekannt@p") {
		e.Fatalf("no retention: %v", rep.NoRetention)
	}
	for _, uid := range []string{"jung@p", "unbekannt@p", "morgen@p"} {
		if _, err := e.st.Appointment(e.ctx, uid); err != nil {
			e.Errorf("%s: %v", uid, err)
		}
	}
	if _, err := e.st.Appointment(e.ctx, "alt@p"); app.ErrorCode(err) != app.ENOTFOUND {
		e.Errorf("alt@p after the purge: %v", err)
	}
	if acts := e.auditActions("alt@p"); acts[len(acts)-1] != "system appointment.purge service=kfz-zulassung office=kreis" {
		e.Fatalf("audit %v", acts)
	}
}

// testAuditRetention: the purge deletes audit entries older than their
// own period and nothing newer, and logs that it did; by whom it says.
func testAuditRetention(e *env) {
	old := Start.AddDate(-2, 0, 0).UTC()
	recent := Start.AddDate(0, -11, 0).UTC()
	for _, at := range []time.Time{old, old.Add(time.Hour), recent} {
		e.ok(e.st.Audit(e.ctx, app.AuditEntry{At: at, Clerk: "mm", Action: "case.read", Ref: "ZEL-2024-00001"}))
	}
	rep, err := e.st.Purge(e.ctx, app.PurgeOptions{Now: Start, AuditMonths: 12, DryRun: true})
	if err != nil || rep.AuditEntries != 2 || !rep.AuditBefore.Equal(Start.AddDate(-1, 0, 0)) {
		e.Fatalf("dry run: %+v %v", rep, err)
	}
	if es, _ := e.st.AuditEntries(e.ctx, app.AuditFilter{}); len(es) != 3 {
		e.Fatalf("the dry run deleted: %+v", es)
	}
	admin := app.Actor{Clerk: "it-admin", Role: app.RoleAdmin}
	if rep, err = e.st.Purge(e.ctx, app.PurgeOptions{Now: Start, AuditMonths: 12, By: admin}); err != nil || rep.AuditEntries != 2 {
		e.Fatalf("purge: %+v %v", rep, err)
	}
	es, _ := e.st.AuditEntries(e.ctx, app.AuditFilter{})
	if len(es) != 2 || !es[0].At.Equal(recent) || es[1].Action != "audit.purge" || !strings.Contains(es[1].Detail, "count=2") || es[1].Clerk != "it-admin" {
		e.Fatalf("after purge: %+v", es)
	}
}
