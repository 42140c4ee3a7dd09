package ui

import (
	"context"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"amtstresen/app"
)

// Offline at the counter (Options.Offline): a walk-in application the
// shared database cannot take because it is unreachable is kept on this
// PC under a provisional reference, its receipt printed as "vorläufig",
// and written when the server is back (app.ReplayOffline): at the start,
// when the change feed says the server is back, and every offlineRetry
// while something waits.

// offlineRetry is how often waiting applications are tried again.
var offlineRetry = 15 * time.Second

// holdOffline keeps the application and prints its provisional receipt.
func (s *intakeScreen) holdOffline(e *app.OfflineEntry) {
	m := s.m
	c := provisionalCase(e)
	s.lastSave.SetText(lang.L("Ohne Verbindung zum Server vorgemerkt: {{.Ref}} (vorläufig). Die Quittung wird gedruckt; der Antrag wird gespeichert, sobald die Verbindung wieder besteht.",
		map[string]any{"Ref": e.ProvisionalRef}))
	s.lastSave.Importance = widget.WarningImportance
	s.lastSave.Refresh()
	s.reset()
	clerk := m.clerkName()
	var doc *Document
	// Printed without the audit entry of the print (the log is on the
	// server); the case's creation names the provisional reference.
	m.do(func(ctx context.Context) error {
		var err error
		if doc, err = m.print.CaseDocument(ctx, c, clerk); err != nil {
			return err
		}
		doc.Office = c.Office
		_, err = m.print.Print(ctx, doc)
		return err
	}, func(err error) {
		if err != nil {
			m.printFailed(err, doc)
		}
	})
	if m.live.offline {
		m.showOffline(nil)
	}
	m.refreshOfflineCount()
}

// buildOfflineButton is the intake's button to the applications kept on
// this PC, shown while there are any.
func (s *intakeScreen) buildOfflineButton() fyne.CanvasObject {
	s.offlineBtn = widget.NewButtonWithIcon("", theme.UploadIcon(), s.m.showOfflineEntries)
	s.offlineBtn.Hide()
	return s.offlineBtn
}

// refreshOfflineCount shows how many applications wait or were refused.
func (m *mainWindow) refreshOfflineCount() {
	ob := m.o.Offline
	if ob == nil {
		return
	}
	m.bg.run(func() {
		w, err := ob.Entries(m.ctx, app.OfflineWaiting)
		r, err2 := ob.Entries(m.ctx, app.OfflineConflict)
		pending, nw, err3 := loadPending(m.ctx, ob)
		ra, err4 := ob.Actions(m.ctx, app.OfflineConflict)
		if err != nil || err2 != nil || err3 != nil || err4 != nil {
			return
		}
		m.ui(func() {
			m.pending, m.refusedActs = pending, map[string][]string{}
			for _, a := range ra {
				m.refusedActs[a.Ref] = append(m.refusedActs[a.Ref], a.Message)
			}
			m.showPending()
			m.showAwayEntries(append(w, r...))
			b := m.intake.offlineBtn
			if n := len(w) + len(r) + nw + len(ra); n > 0 {
				b.SetText(lang.L("Auf diesem PC vorgemerkt: {{.N}}", map[string]any{"N": n}))
				b.Show()
			} else {
				b.Hide()
			}
		})
	})
}

// offlineLines says of each kept application whether it waits for the
// server or was refused, and why (written ones are left out).
func offlineLines(es []app.OfflineEntry) []string {
	var lines []string
	for _, e := range es {
		args := map[string]any{"Ref": e.ProvisionalRef, "Name": e.Case.Applicant.Name(), "Time": app.FormatDateTime(e.HeldAt), "Msg": e.Message}
		switch e.State {
		case app.OfflineWaiting:
			lines = append(lines, lang.L("{{.Ref}} ({{.Name}}, {{.Time}}): wartet auf den Server", args))
		case app.OfflineConflict:
			lines = append(lines, lang.L("{{.Ref}} ({{.Name}}, {{.Time}}): abgelehnt – {{.Msg}}", args))
		}
	}
	return lines
}

// provisionalCase is the case as its receipt shows it before the shared
// store numbered it.
func provisionalCase(e *app.OfflineEntry) *app.Case {
	nc := e.Case
	c := &app.Case{Ref: e.ProvisionalRef, ProvisionalRef: e.ProvisionalRef, Office: nc.Routing.Office, Channel: nc.Channel,
		Service: nc.Service, Applicant: nc.Applicant, Fields: nc.Fields, Flags: nc.Flags, Municipality: nc.Routing.Municipality,
		RoutingReason: nc.Routing.Reason, ReceivedAt: nc.ReceivedAt, UpdatedAt: nc.ReceivedAt, Status: app.StatusReceived,
		Presented: nc.Presented}
	for _, a := range nc.Attachments {
		c.Attachments = append(c.Attachments, a.Attachment)
	}
	return c
}

// watchOffline tries the waiting applications at the start and every
// offlineRetry while the server is not known to be away.
func (m *mainWindow) watchOffline() {
	ob := m.o.Offline
	if ob == nil {
		return
	}
	m.refreshOfflineCount()
	m.long.run(func() {
		t := time.NewTicker(offlineRetry)
		defer t.Stop()
		for first := true; ; first = false {
			if !first {
				select {
				case <-m.ctx.Done():
					return
				case <-t.C:
				}
			}
			es, err := ob.Entries(m.ctx, app.OfflineWaiting)
			as, err2 := ob.Actions(m.ctx, app.OfflineWaiting)
			if err != nil || err2 != nil || len(es)+len(as) == 0 {
				continue
			}
			m.ui(func() {
				if !m.live.offline {
					m.replayOffline()
				}
			})
		}
	})
}

// replayOffline writes what waits and tells the clerk what became of it.
func (m *mainWindow) replayOffline() {
	ob := m.o.Offline
	if ob == nil || m.live.replaying {
		return
	}
	m.live.replaying = true
	var res []app.OfflineResult
	var acts []app.OfflineActionResult
	by, st, msgs := m.actor(), m.store, m.o.Messages
	m.do(func(ctx context.Context) error {
		var err error
		// Applications first, then the changes in the order made; the
		// changes concern cases on the server already, not these.
		res, err = app.ReplayOffline(ctx, ob, st)
		if err == nil {
			acts, err = app.ReplayOfflineActions(ctx, ob, st, msgs, m.reg, by)
		}
		return err
	}, func(err error) {
		m.live.replaying = false
		if err != nil && !app.Unavailable(err) {
			m.log.Error("offline replay", "err", err)
		}
		m.showReplayed(res, acts)
		m.refreshOfflineCount()
		if cv := m.caseView; cv != nil && cv.c != nil && (len(acts) > 0 || cv.rowOnly) {
			cv.load() // what the server made of the changes
		}
	})
}

// showReplayed lists the applications written (provisional → final
// reference) and those the server refused, with its German reason.
func (m *mainWindow) showReplayed(res []app.OfflineResult, acts []app.OfflineActionResult) {
	if len(res) == 0 && len(acts) == 0 {
		return
	}
	var done, refused []string
	for _, r := range res {
		name := r.Entry.Case.Applicant.Name()
		if r.Err != nil {
			refused = append(refused, lang.L("{{.Ref}} ({{.Name}}): {{.Msg}}", map[string]any{"Ref": r.Entry.ProvisionalRef, "Name": name, "Msg": r.Entry.Message}))
			continue
		}
		done = append(done, lang.L("{{.Ref}} ist jetzt {{.Final}} ({{.Name}})", map[string]any{"Ref": r.Entry.ProvisionalRef, "Final": r.Entry.FinalRef, "Name": name}))
	}
	var b strings.Builder
	if len(done) > 0 {
		b.WriteString(lang.L("Ohne Verbindung aufgenommene Anträge sind jetzt gespeichert; das vorläufige Aktenzeichen findet sie weiterhin:"))
		b.WriteString("\n\n" + strings.Join(done, "\n"))
	}
	if len(refused) > 0 {
		if b.Len() > 0 {
			b.WriteString("\n\n")
		}
		b.WriteString(lang.L("Diese Anträge hat der Server abgelehnt. Sie bleiben auf diesem PC vorgemerkt; bitte mit der Leitung klären und gegebenenfalls neu erfassen:"))
		b.WriteString("\n\n" + strings.Join(refused, "\n"))
	}
	var written, conflicts []string
	for _, r := range acts {
		if r.Conflict {
			conflicts = append(conflicts, r.Action.Message)
			continue
		}
		written = append(written, lang.L("{{.Ref}}: {{.What}}", map[string]any{"Ref": r.Action.Ref, "What": actionLabel(r.Action)}))
	}
	para := func(head string, lines []string) {
		if len(lines) == 0 {
			return
		}
		if b.Len() > 0 {
			b.WriteString("\n\n")
		}
		b.WriteString(head + "\n\n" + strings.Join(lines, "\n"))
	}
	para(lang.L("Ohne Verbindung vorgemerkte Änderungen sind jetzt gespeichert:"), written)
	para(lang.L("Diese Änderungen wurden nicht ausgeführt, weil inzwischen jemand anderes am Vorgang gearbeitet hat:"), conflicts)
	if len(refused) == 0 && len(conflicts) == 0 {
		m.showMessage(lang.L("Ohne Verbindung Vorgemerktes"), b.String())
		return
	}
	// With something refused: the list with what the clerk can do.
	m.showOfflineList(lang.L("Ohne Verbindung Vorgemerktes"), b.String())
}
