package storetest

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"amtstresen/app"
)

// OutboxStore is the outbox of an adapter without access control: the
// clerk's side (app.OutboxStore) and the sender's (app.OutboxSender).
type OutboxStore interface {
	app.OutboxStore
	app.OutboxSender
}

// OutboxAdapter is an Adapter whose database has the outbox (issue 16).
type OutboxAdapter interface {
	Adapter
	// Outbox is the store's outbox, as the sync and the maintenance jobs
	// use it.
	Outbox() OutboxStore
	// OutboxAs is the outbox as the clerk with this account uses it
	// (app.Scoped.Outbox over the clerk's store), after SetRole.
	OutboxAs(t *testing.T, account string) app.OutboxStore
}

// OpenOutbox returns a fresh database with its outbox, like Open.
type OpenOutbox func(t *testing.T, now func() time.Time) OutboxAdapter

// outbox: messages to the citizen, the sender's states, quittungen and the
// print queue.
var outbox = []otest{
	{"AutoReceived", testAutoReceived},
	{"StatusWithMessage", testStatusWithMessage},
	{"FailingChangeQueuesNothing", testFailingChangeQueuesNothing},
	{"ForwardTells", testForwardTells},
	{"WithdrawalTells", testWithdrawalTells},
	{"FreeMessage", testFreeMessage},
	{"WalkInLetter", testWalkInLetter},
	{"SenderStates", testSenderStates},
	{"QuittungOnce", testQuittungOnce},
	{"QuittungUnreachableAndRefused", testQuittungUnreachableAndRefused},
	{"QuittungUnknownOrWrong", testQuittungUnknownOrWrong},
	{"OutboxScoped", testOutboxScoped},
}

type otest struct {
	name string
	fn   func(e *oenv)
}

type oenv struct {
	*env
	oa OutboxAdapter
	ob OutboxStore
}

// RunOutbox runs the outbox contract against the adapter: every test in
// a subtest of its own, each on a fresh database from open.
func RunOutbox(t *testing.T, open OpenOutbox) {
	for _, tc := range outbox {
		t.Run(tc.name, func(t *testing.T) {
			var oa OutboxAdapter
			e := newEnv(t, func(t *testing.T, now func() time.Time) Adapter {
				oa = open(t, now)
				return oa
			})
			tc.fn(&oenv{env: e, oa: oa, ob: oa.Outbox()})
		})
	}
}

var zell = app.Actor{Clerk: "zklerk", Office: app.OfficeZell}

// messages lists the messages of a case.
func (e *oenv) messages(ref string) []app.Outgoing {
	e.Helper()
	ms, err := e.ob.CaseMessages(e.ctx, ref)
	if err != nil {
		e.Fatal(err)
	}
	return ms
}

// portalCase creates a portal case of VG Zell and returns it with its
// "eingegangen" message.
func (e *oenv) portalCase(key string) (*app.Case, app.Outgoing) {
	e.Helper()
	c := e.create(e.dogCase(key, "Anna", "Muster", app.OfficeZell, Start))
	ms := e.messages(c.Ref)
	if len(ms) != 1 {
		e.Fatalf("%d messages after taking in, want 1: %+v", len(ms), ms)
	}
	return c, ms[0]
}

func (e *oenv) tellChange(ref string, ch app.CaseChange, msg *app.Tell) *app.Outgoing {
	e.Helper()
	o, err := e.ob.ChangeCase(e.ctx, ref, ch, msg, zell)
	if err != nil {
		e.Fatal(err)
	}
	return o
}

// testAutoReceived: a portal application taken in queues "eingegangen"
// with the Eingangsbestätigung, in the administrator's text filled in, in
// the transaction of the case; the case's creation taken in again queues
// nothing more. The sender finds it due.
func testAutoReceived(e *oenv) {
	c, m := e.portalCase("p-auto")
	if m.Status != app.PortalReceived || m.State != app.OutboxQueued || m.Document != app.DocumentReceipt ||
		m.PortalCase != "p-auto" || m.Office != app.OfficeZell || m.Ref != c.Ref || m.QueuedBy != "portal" || m.Free ||
		!app.IsNachricht(m.Nachricht) {
		e.Errorf("eingegangen: %+v", m)
	}
	if !strings.Contains(m.Text, "Sehr geehrte Frau Muster") || !strings.Contains(m.Text, c.Ref) {
		e.Errorf("text not filled in: %q", m.Text)
	}
	if _, created, err := e.st.CreateCase(e.ctx, e.dogCase("p-auto", "Anna", "Muster", app.OfficeZell, Start), nil); err != nil || created {
		e.Fatalf("again: %v %v", err, created)
	}
	if ms := e.messages(c.Ref); len(ms) != 1 {
		e.Errorf("taken in twice: %d messages", len(ms))
	}
	due, err := e.ob.NextDue(e.ctx, time.Now())
	if err != nil || due == nil || due.Nachricht != m.Nachricht || due.Raw != nil {
		e.Errorf("next due: %+v %v", due, err)
	}
}

// testStatusWithMessage: "unterlagen_fehlen" carries the documents and the
// deadline as the clerk chose them; the internal reason never goes out;
// a change that tells needs the clerk's text; in_bearbeitung of a service
// that does not send it tells nothing.
func testStatusWithMessage(e *oenv) {
	c, _ := e.portalCase("p-status")
	if o := e.tellChange(c.Ref, app.CaseChange{Kind: app.ChangeStatus, Status: app.StatusInProgress}, nil); o != nil {
		e.Errorf("in_bearbeitung of hund-anmelden told: %+v", o)
	}
	ch := app.CaseChange{Kind: app.ChangeStatus, Status: app.StatusWaiting, Reason: "intern: Halter war unfreundlich"}
	_, err := e.ob.ChangeCase(e.ctx, c.Ref, ch, nil, zell)
	e.wantCode(err, app.EINVALID)
	_, err = e.ob.ChangeCase(e.ctx, c.Ref, ch, &app.Tell{Text: "Bitte reichen Sie nach."}, zell)
	e.wantCode(err, app.EINVALID) // no document picked
	if got := e.mustCase(c.Ref).Status; got != app.StatusInProgress {
		e.Fatalf("status after refused message: %s", got)
	}
	deadline := app.AddWorkingDays(Start, 10)
	o := e.tellChange(c.Ref, ch, &app.Tell{Text: "Bitte reichen Sie den Impfpass nach.\r\n", Documents: []string{" Impfpass "}, Deadline: deadline})
	ms := e.messages(c.Ref)
	if o == nil || len(ms) != 2 || ms[1].Nachricht != o.Nachricht {
		e.Fatalf("messages %+v, returned %+v", ms, o)
	}
	m := ms[1]
	if m.Status != app.PortalDocsMissing || m.Text != "Bitte reichen Sie den Impfpass nach." || len(m.Documents) != 1 || m.Documents[0] != "Impfpass" ||
		!m.Deadline.Equal(deadline) || m.State != app.OutboxQueued || m.QueuedBy != "zklerk" || m.Free {
		e.Errorf("unterlagen_fehlen: %+v (deadline %v)", m, deadline)
	}
	if strings.Contains(m.Text, "unfreundlich") {
		e.Errorf("internal reason went out: %q", m.Text)
	}
	if got := e.mustCase(c.Ref).Status; got != app.StatusWaiting {
		e.Errorf("status %s", got)
	}
	if got := e.auditActions(c.Ref); !contains(got, "zklerk case.tell unterlagen_fehlen/queued") {
		e.Errorf("audit %q", got)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// testFailingChangeQueuesNothing: the message is written in the
// transaction of the change; a change that fails leaves no message.
func testFailingChangeQueuesNothing(e *oenv) {
	c, _ := e.portalCase("p-fail")
	// received -> done is not allowed.
	_, err := e.ob.ChangeCase(e.ctx, c.Ref, app.CaseChange{Kind: app.ChangeStatus, Status: app.StatusDone, Reason: "fertig"},
		&app.Tell{Text: "Ihr Hund ist angemeldet."}, zell)
	e.wantCode(err, app.EINVALID)
	// A forward to the case's own office fails after the message row.
	_, err = e.ob.ChangeCase(e.ctx, c.Ref, app.CaseChange{Kind: app.ChangeForward, Office: app.OfficeZell, Reason: "x"},
		&app.Tell{Text: "Weitergeleitet."}, zell)
	e.wantCode(err, app.EINVALID)
	// A withdrawal no one asked for.
	_, err = e.ob.ChangeCase(e.ctx, c.Ref, app.CaseChange{Kind: app.ChangeWithdrawal, Confirm: true, Reason: "x"},
		&app.Tell{Text: "Zurückgenommen."}, zell)
	e.wantCode(err, app.ECONFLICT)
	if ms := e.messages(c.Ref); len(ms) != 1 {
		e.Errorf("failed changes left %d messages: %+v", len(ms)-1, ms)
	}
	if ms, _ := e.ob.OutboxMessages(e.ctx, app.OutboxFilter{}); len(ms) != 1 {
		e.Errorf("outbox holds %d messages", len(ms))
	}
	if got := e.mustCase(c.Ref); got.Status != app.StatusReceived || got.Office != app.OfficeZell {
		e.Errorf("case changed: %s %s", got.Status, got.Office)
	}
}

// testForwardTells: "weitergeleitet" names the receiving office and goes
// out from the forwarding one.
func testForwardTells(e *oenv) {
	c, _ := e.portalCase("p-fwd")
	e.tellChange(c.Ref, app.CaseChange{Kind: app.ChangeForward, Office: app.OfficeCochem, Reason: "wohnt in Cochem"}, &app.Tell{Text: "Ihr Antrag ist jetzt bei der VG Cochem."})
	m := e.messages(c.Ref)[1]
	if m.Status != app.PortalForwarded || m.ForwardedTo != app.OfficeCochem || m.Office != app.OfficeZell {
		e.Errorf("weitergeleitet: %+v", m)
	}
	if got := e.mustCase(c.Ref).Office; got != app.OfficeCochem {
		e.Errorf("office %s", got)
	}
}

// testWithdrawalTells: a signed withdrawal is confirmed by itself; a
// clerk's confirmation of an unsigned one tells "zurueckgenommen", a
// refusal tells nothing.
func testWithdrawalTells(e *oenv) {
	c, _ := e.portalCase("p-wd")
	e.ok(e.st.Withdraw(e.ctx, "p-wd", "brauche ich nicht mehr", nil))
	ms := e.messages(c.Ref)
	if len(ms) != 2 || ms[1].Status != app.PortalWithdrawn || ms[1].QueuedBy != "portal" || ms[1].Text == "" {
		e.Errorf("signed withdrawal: %+v", ms)
	}
	e.ok(e.st.Withdraw(e.ctx, "p-wd", "brauche ich nicht mehr", nil))
	if ms := e.messages(c.Ref); len(ms) != 2 {
		e.Errorf("repeated withdrawal told again: %d", len(ms))
	}

	c2, _ := e.portalCase("p-wd2")
	e.ok(e.st.RequestWithdrawal(e.ctx, "p-wd2", "doch nicht", nil))
	_, err := e.ob.ChangeCase(e.ctx, c2.Ref, app.CaseChange{Kind: app.ChangeWithdrawal, Confirm: false, Reason: "Unterschrift fehlt"}, &app.Tell{Text: "x"}, zell)
	e.wantCode(err, app.EINVALID)
	e.tellChange(c2.Ref, app.CaseChange{Kind: app.ChangeWithdrawal, Confirm: true, Reason: "telefonisch bestätigt"}, &app.Tell{Text: "Ihre Rücknahme ist eingegangen."})
	ms = e.messages(c2.Ref)
	if len(ms) != 2 || ms[1].Status != app.PortalWithdrawn || ms[1].QueuedBy != "zklerk" {
		e.Errorf("confirmed withdrawal: %+v", ms)
	}
	if got := e.mustCase(c2.Ref); got.Status != app.StatusWithdrawn || got.HasFlag(app.FlagWithdrawalUnconfirmed) {
		e.Errorf("case %s %v", got.Status, got.Flags)
	}
}

// testFreeMessage: a "Nachricht an Bürger" leaves the case as it is and
// carries the status that matches it.
func testFreeMessage(e *oenv) {
	c, _ := e.portalCase("p-free")
	_, err := e.ob.ChangeCase(e.ctx, c.Ref, app.CaseChange{}, nil, zell)
	e.wantCode(err, app.EINVALID)
	_, err = e.ob.ChangeCase(e.ctx, c.Ref, app.CaseChange{}, &app.Tell{Text: "  "}, zell)
	e.wantCode(err, app.EINVALID)
	o := e.tellChange(c.Ref, app.CaseChange{}, &app.Tell{Text: "Wir melden uns nächste Woche."})
	if o == nil || !o.Free || o.Status != app.PortalReceived || o.State != app.OutboxQueued {
		e.Errorf("free message: %+v", o)
	}
	if got := e.mustCase(c.Ref).Status; got != app.StatusReceived {
		e.Errorf("status %s", got)
	}
}

// testWalkInLetter: a walk-in case has no portal case: its answer is a
// letter in the print queue, never due for the sender.
func testWalkInLetter(e *oenv) {
	nc := e.dogCase("form-walkin", "Eva", "Thal", app.OfficeZell, Start)
	nc.Channel, nc.PortalCase, nc.Raw, nc.Clerk = app.ChannelCounter, "", nil, "zklerk"
	c := e.create(nc)
	if ms := e.messages(c.Ref); len(ms) != 0 {
		e.Fatalf("walk-in case got %+v", ms)
	}
	e.tellChange(c.Ref, app.CaseChange{Kind: app.ChangeStatus, Status: app.StatusInProgress}, nil)
	o := e.tellChange(c.Ref, app.CaseChange{Kind: app.ChangeStatus, Status: app.StatusDone, Reason: "erledigt"}, &app.Tell{Text: "Ihr Hund ist angemeldet."})
	if o == nil || o.State != app.OutboxLetter || o.PortalCase != "" {
		e.Fatalf("walk-in answer: %+v", o)
	}
	if due, err := e.ob.NextDue(e.ctx, time.Now().Add(time.Hour)); err != nil || due != nil {
		e.Errorf("a letter is due for the sender: %+v %v", due, err)
	}
	jobs, err := e.ob.PrintJobs(e.ctx, app.PrintFilter{})
	if err != nil || len(jobs) != 1 || jobs[0].Ref != c.Ref || jobs[0].Nachricht != o.Nachricht || jobs[0].Kind != app.PrintLetter ||
		jobs[0].Office != app.OfficeZell || jobs[0].Why == "" || !jobs[0].PrintedAt.IsZero() {
		e.Fatalf("print queue: %+v %v", jobs, err)
	}
	e.ok(e.ob.MarkPrinted(e.ctx, jobs[0].ID, zell))
	e.ok(e.ob.MarkPrinted(e.ctx, jobs[0].ID, zell))
	if open, _ := e.ob.PrintJobs(e.ctx, app.PrintFilter{}); len(open) != 0 {
		e.Errorf("printed job still open: %+v", open)
	}
	all, _ := e.ob.PrintJobs(e.ctx, app.PrintFilter{Printed: true})
	if len(all) != 1 || all[0].PrintedBy != "zklerk" || all[0].PrintedAt.IsZero() {
		e.Errorf("printed: %+v", all)
	}
	e.wantCode(e.ob.MarkPrinted(e.ctx, 999, zell), app.ENOTFOUND)
	e.wantCode(e.ob.Resend(e.ctx, o.Nachricht, zell), app.EINVALID)
}

// testSenderStates: composed bytes are kept from the first composition;
// a failed attempt waits for its time; without a next attempt the message
// is undelivered with its reason until a clerk sends it again; sent ends
// it.
func testSenderStates(e *oenv) {
	_, m := e.portalCase("p-send")
	raw := []byte("Message-ID: <status.x@zell>\r\n\r\nerste Fassung")
	got, err := e.ob.StoreComposed(e.ctx, m.Nachricht, "status.x@zell", raw)
	if err != nil || !bytes.Equal(got, raw) {
		e.Fatalf("store composed: %q %v", got, err)
	}
	got, err = e.ob.StoreComposed(e.ctx, m.Nachricht, "status.y@zell", []byte("zweite Fassung"))
	if err != nil || !bytes.Equal(got, raw) {
		e.Fatalf("second composition replaced the first: %q %v", got, err)
	}
	_, err = e.ob.StoreComposed(e.ctx, "00000000-0000-4000-8000-000000000000", "x@y", raw)
	e.wantCode(err, app.ENOTFOUND)
	now := Start.Add(time.Hour)
	due, _ := e.ob.NextDue(e.ctx, now)
	if due == nil || !bytes.Equal(due.Raw, raw) || due.MessageID != "status.x@zell" {
		e.Fatalf("due %+v", due)
	}
	e.ok(e.ob.MarkFailed(e.ctx, m.Nachricht, app.OutboxFailure{Class: "temporary", Code: 451, Reason: "Der Mailserver ist überlastet."}, now.Add(time.Minute)))
	if due, _ := e.ob.NextDue(e.ctx, now); due != nil {
		e.Errorf("due before its next attempt: %+v", due)
	}
	due, _ = e.ob.NextDue(e.ctx, now.Add(time.Minute))
	if due == nil || due.Attempts != 1 || due.State != app.OutboxFailed || due.FailureCode != 451 || due.Reason == "" {
		e.Fatalf("due after wait: %+v", due)
	}
	e.ok(e.ob.MarkFailed(e.ctx, m.Nachricht, app.OutboxFailure{Class: "permanent", Code: 550, Reason: "Empfänger abgelehnt: bitte die IT verständigen."}, time.Time{}))
	if due, _ := e.ob.NextDue(e.ctx, now.Add(24*time.Hour)); due != nil {
		e.Errorf("undelivered is due: %+v", due)
	}
	und, err := e.ob.OutboxMessages(e.ctx, app.OutboxFilter{Undelivered: true})
	if err != nil || len(und) != 1 || und[0].State != app.OutboxUndelivered || und[0].Attempts != 2 ||
		und[0].Reason != "Empfänger abgelehnt: bitte die IT verständigen." || und[0].FailureClass != "permanent" || und[0].Raw != nil {
		e.Fatalf("undelivered list: %+v %v", und, err)
	}
	e.ok(e.ob.Resend(e.ctx, m.Nachricht, zell))
	due, _ = e.ob.NextDue(e.ctx, now)
	if due == nil || due.State != app.OutboxQueued || !bytes.Equal(due.Raw, raw) {
		e.Fatalf("resent: %+v", due)
	}
	sentAt := now.Add(2 * time.Minute)
	e.ok(e.ob.MarkSent(e.ctx, m.Nachricht, sentAt))
	e.ok(e.ob.MarkSent(e.ctx, m.Nachricht, sentAt.Add(time.Minute)))
	ms := e.messages(m.Ref)
	if ms[0].State != app.OutboxSent || !ms[0].SentAt.Equal(sentAt) || ms[0].Reason != "" {
		e.Errorf("sent: %+v", ms[0])
	}
	if due, _ := e.ob.NextDue(e.ctx, now.Add(time.Hour)); due != nil {
		e.Errorf("sent message still due: %+v", due)
	}
	// A late failure report does not undo "sent".
	e.ok(e.ob.MarkFailed(e.ctx, m.Nachricht, app.OutboxFailure{Class: "temporary"}, now))
	if ms := e.messages(m.Ref); ms[0].State != app.OutboxSent {
		e.Errorf("late failure: %s", ms[0].State)
	}
	e.wantCode(e.ob.Resend(e.ctx, m.Nachricht, zell), app.EINVALID)
	e.wantCode(e.ob.MarkSent(e.ctx, "00000000-0000-4000-8000-000000000000", now), app.ENOTFOUND)
}

func (e *oenv) applyErr(q *app.Quittung, rc *app.Receipt) error {
	return e.ob.ApplyQuittung(e.ctx, q, rc)
}

func (e *oenv) quittung(m app.Outgoing, result app.OutboxState, grund string) *app.Quittung {
	return &app.Quittung{Nachricht: m.Nachricht, MessageID: m.MessageID, PortalCase: m.PortalCase, Result: result, Grund: grund,
		At: Start.Add(time.Hour)}
}

// testQuittungOnce: a quittung applied twice has one effect, its mail is
// recorded as taken in both times, and it settles a message whose
// MarkSent never came (crash after the relay accepted it); the late
// MarkSent keeps the portal's result.
func testQuittungOnce(e *oenv) {
	c, m := e.portalCase("p-q1")
	rc := func(sum string) *app.Receipt {
		return &app.Receipt{SHA256: sum, Mailbox: "INBOX", UIDValidity: 1, UID: 7, Kind: "quittung", PortalCase: "p-q1"}
	}
	q := e.quittung(m, app.OutboxServicekonto, "")
	e.ok(e.ob.ApplyQuittung(e.ctx, q, rc("q-a")))
	e.ok(e.ob.ApplyQuittung(e.ctx, q, rc("q-b")))
	if !e.hasReceipt(e.st, "q-a") || !e.hasReceipt(e.st, "q-b") {
		e.Error("quittung mails not recorded")
	}
	ms := e.messages(c.Ref)
	if ms[0].State != app.OutboxServicekonto || !ms[0].ReceiptAt.Equal(Start.Add(time.Hour)) {
		e.Errorf("after quittung: %+v", ms[0])
	}
	n := 0
	for _, a := range e.auditActions(c.Ref) {
		if a == "portal case.quittung servicekonto" {
			n++
		}
	}
	if n != 1 {
		e.Errorf("quittung audited %d times: %q", n, e.auditActions(c.Ref))
	}
	e.ok(e.ob.MarkSent(e.ctx, m.Nachricht, Start.Add(2*time.Hour)))
	if ms := e.messages(c.Ref); ms[0].State != app.OutboxServicekonto || ms[0].SentAt.IsZero() {
		e.Errorf("late MarkSent: %+v", ms[0])
	}
	if due, _ := e.ob.NextDue(e.ctx, Start.Add(3*time.Hour)); due != nil {
		e.Errorf("settled message due: %+v", due)
	}
}

// testQuittungUnreachableAndRefused: "unzustellbar" flags the case and
// puts the letter into the print queue (once); "abgelehnt" flags it and
// shows the reason; both are in the list of messages not delivered, and
// the queue filters on the flag.
func testQuittungUnreachableAndRefused(e *oenv) {
	c, m := e.portalCase("p-q2")
	q := e.quittung(m, app.OutboxUnzustellbar, "")
	e.ok(e.applyErr(q, nil))
	e.ok(e.applyErr(q, nil))
	if got := e.mustCase(c.Ref); !got.HasFlag(app.FlagCitizenUnreachable) {
		e.Errorf("flags %v", got.Flags)
	}
	jobs, _ := e.ob.PrintJobs(e.ctx, app.PrintFilter{})
	if len(jobs) != 1 || jobs[0].Nachricht != m.Nachricht || !strings.Contains(jobs[0].Why, "unzustellbar") {
		e.Errorf("print queue: %+v", jobs)
	}
	if l, err := e.st.ListCases(e.ctx, app.CaseFilter{Flag: app.FlagCitizenUnreachable}); err != nil || len(l) != 1 || l[0].Ref != c.Ref {
		e.Errorf("queue filter: %+v %v", l, err)
	}

	c2, m2 := e.portalCase("p-q3")
	q2 := e.quittung(m2, app.OutboxRefused, "signatur")
	q2.Reason = "Das Portal hat die Statusmeldung abgelehnt: die Signatur passt nicht."
	e.ok(e.applyErr(q2, nil))
	if got := e.mustCase(c2.Ref); !got.HasFlag(app.FlagCitizenMessageRefused) || got.HasFlag(app.FlagCitizenUnreachable) {
		e.Errorf("flags %v", got.Flags)
	}
	und, _ := e.ob.OutboxMessages(e.ctx, app.OutboxFilter{Undelivered: true})
	if len(und) != 2 || und[0].Nachricht != m2.Nachricht || und[0].Reason != q2.Reason || und[0].Grund != "signatur" ||
		und[1].State != app.OutboxUnzustellbar || !strings.Contains(und[1].Reason, "Brief") {
		e.Errorf("not delivered: %+v", und)
	}
	if l, _ := e.st.ListCases(e.ctx, app.CaseFilter{Flag: app.FlagCitizenMessageRefused}); len(l) != 1 || l[0].Ref != c2.Ref {
		e.Errorf("queue filter refused: %+v", l)
	}
}

// testQuittungUnknownOrWrong: a quittung for a message the store does not
// know is ENOTFOUND (the sync puts the mail on the review list) and
// records nothing; one naming another case or Message-ID is EINVALID.
func testQuittungUnknownOrWrong(e *oenv) {
	_, m := e.portalCase("p-q4")
	rc := &app.Receipt{SHA256: "q-unknown", Mailbox: "INBOX", UIDValidity: 1, UID: 9, Kind: "quittung"}
	err := e.applyErr(&app.Quittung{Nachricht: "00000000-0000-4000-8000-000000000001", MessageID: "a@b", PortalCase: "p-q4",
		Result: app.OutboxServicekonto, At: Start}, rc)
	e.wantCode(err, app.ENOTFOUND)
	if e.hasReceipt(e.st, "q-unknown") {
		e.Error("unknown quittung recorded as taken in")
	}
	q := e.quittung(m, app.OutboxServicekonto, "")
	q.PortalCase = "p-other"
	e.wantCode(e.applyErr(q, nil), app.EINVALID)
	_, err = e.ob.StoreComposed(e.ctx, m.Nachricht, "status.1@zell", []byte("raw"))
	e.ok(err)
	q = e.quittung(m, app.OutboxServicekonto, "")
	q.MessageID = "status.2@zell"
	e.wantCode(e.applyErr(q, nil), app.EINVALID)
	q.MessageID = "STATUS.1@zell"
	e.ok(e.applyErr(q, nil))
	if ms := e.messages(m.Ref); ms[0].State != app.OutboxServicekonto {
		e.Errorf("state %s", ms[0].State)
	}
}

// testOutboxScoped: a clerk tells the citizens of the office's own cases
// only and sees only their messages and letters; a refusal is audited.
func testOutboxScoped(e *oenv) {
	e.setupRoles()
	zc, zm := e.portalCase("p-s1")
	uc := e.create(e.dogCase("p-s2", "Udo", "Ulm", app.OfficeUlmen, Start))
	e.ok(e.applyErr(e.quittung(zm, app.OutboxUnzustellbar, ""), nil))
	ulmen := e.oa.OutboxAs(e.T, "uklerk")
	ua := e.actor("uklerk")
	_, err := ulmen.ChangeCase(e.ctx, zc.Ref, app.CaseChange{}, &app.Tell{Text: "Hallo"}, ua)
	e.wantCode(err, app.EFORBIDDEN)
	_, err = ulmen.CaseMessages(e.ctx, zc.Ref)
	e.wantCode(err, app.EFORBIDDEN)
	// A message or letter of another office's case is unknown to the clerk.
	e.wantCode(ulmen.Resend(e.ctx, zm.Nachricht, ua), app.ENOTFOUND)
	denied := false
	for _, a := range e.auditActions(zc.Ref) {
		denied = denied || strings.HasPrefix(a, "uklerk case.") && strings.HasSuffix(a, ".denied vg-zell")
	}
	if !denied {
		e.Errorf("refusal not audited: %q", e.auditActions(zc.Ref))
	}
	ms, err := ulmen.OutboxMessages(e.ctx, app.OutboxFilter{})
	if err != nil || len(ms) != 1 || ms[0].Ref != uc.Ref {
		e.Errorf("ulmen sees %+v %v", ms, err)
	}
	if jobs, _ := ulmen.PrintJobs(e.ctx, app.PrintFilter{}); len(jobs) != 0 {
		e.Errorf("ulmen sees Zell's letters: %+v", jobs)
	}
	all, _ := e.ob.PrintJobs(e.ctx, app.PrintFilter{})
	if len(all) != 1 {
		e.Fatalf("print jobs %+v", all)
	}
	e.wantCode(ulmen.MarkPrinted(e.ctx, all[0].ID, ua), app.ENOTFOUND)
	// In another's name: refused.
	_, err = ulmen.ChangeCase(e.ctx, uc.Ref, app.CaseChange{}, &app.Tell{Text: "Hallo"}, e.actor("zklerk"))
	e.wantCode(err, app.EFORBIDDEN)

	zell := e.oa.OutboxAs(e.T, "zklerk")
	za := e.actor("zklerk")
	o, err := zell.ChangeCase(e.ctx, zc.Ref, app.CaseChange{}, &app.Tell{Text: "Wir schreiben Ihnen per Post."}, za)
	if err != nil || o == nil || o.QueuedBy != "zklerk" {
		e.Fatalf("own case: %+v %v", o, err)
	}
	if ms, err := zell.CaseMessages(e.ctx, zc.Ref); err != nil || len(ms) != 2 {
		e.Errorf("zell case messages %d %v", len(ms), err)
	}
	if jobs, _ := zell.PrintJobs(e.ctx, app.PrintFilter{}); len(jobs) != 1 {
		e.Errorf("zell letters %+v", jobs)
	}
	e.ok(zell.MarkPrinted(e.ctx, all[0].ID, za))
	und, _ := zell.OutboxMessages(e.ctx, app.OutboxFilter{Undelivered: true})
	if len(und) != 1 || und[0].Nachricht != zm.Nachricht {
		e.Errorf("zell undelivered %+v", und)
	}
	// Under the clerk's own rights: a walk-in case's letter goes into the
	// print queue, and a forward tells the citizen before the case leaves.
	nc := e.dogCase("form-s", "Eva", "Thal", app.OfficeZell, Start)
	nc.Channel, nc.PortalCase, nc.Raw, nc.Clerk = app.ChannelCounter, "", nil, "zklerk"
	w := e.create(nc)
	if o, err := zell.ChangeCase(e.ctx, w.Ref, app.CaseChange{}, &app.Tell{Text: "Bitte holen Sie die Marke ab."}, za); err != nil || o.State != app.OutboxLetter {
		e.Fatalf("walk-in letter as clerk: %+v %v", o, err)
	}
	if jobs, _ := zell.PrintJobs(e.ctx, app.PrintFilter{Ref: w.Ref}); len(jobs) != 1 {
		e.Errorf("clerk's letter not in the print queue: %+v", jobs)
	}
	if _, err := zell.ChangeCase(e.ctx, zc.Ref, app.CaseChange{Kind: app.ChangeForward, Office: app.OfficeCochem, Reason: "wohnt in Cochem"},
		&app.Tell{Text: "Ihr Antrag ist jetzt bei der VG Cochem."}, za); err != nil {
		e.Fatal(err)
	}
	if m := e.messages(zc.Ref); len(m) != 3 || m[2].Status != app.PortalForwarded || m[2].Office != app.OfficeZell {
		e.Errorf("forward as clerk: %+v", m)
	}
	if _, err := zell.CaseMessages(e.ctx, zc.Ref); app.ErrorCode(err) != app.EFORBIDDEN {
		e.Errorf("the forwarded case's messages still readable by Zell: %v", err)
	}
}
