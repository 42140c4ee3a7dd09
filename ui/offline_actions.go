package ui

import (
	"context"
	"encoding/json"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"amtstresen/app"
)

// Offline changes to cases shown (Options.Offline): while the server is
// away, a case still open in the window can be claimed, moved to another
// status and given a note. The change is kept on this PC with what the
// clerk saw (app.OfflineAction), the case and its queue row say "wartet
// auf Server", and it is written with the kept applications when the
// server is back (replayOffline). A change the server's state refuses
// (another clerk's work meanwhile) is listed with its German reason, to
// be discarded after asking, as one still waiting (the clerk's mistake,
// until the replay marks it as being sent; a walk-in application too); a
// refused application can be copied back into the form.

// offline reports whether changes to the open case are kept on this PC:
// the server is known to be away and the case was shown before.
func (cv *caseView) offline() bool {
	return cv.m.o.Offline != nil && cv.m.live.offline && cv.c != nil
}

// fromRow shows the case from the queue's row when the server cannot be
// reached (err) but the row is still on screen: the clerk can claim it,
// change its status and add a note, kept on this PC. The read is not
// logged then; the case is read (and logged) when the server is back.
func (cv *caseView) fromRow(err error) bool {
	m := cv.m
	if !app.Unavailable(err) || m.o.Offline == nil || m.queue == nil {
		return false
	}
	for _, rows := range m.queue.pages {
		for _, r := range rows {
			if r.Ref != cv.ref {
				continue
			}
			cv.c = &app.Case{ID: r.ID, Ref: r.Ref, Office: r.Office, Channel: r.Channel, Service: r.Service,
				Applicant: app.Applicant{LastName: r.ApplicantName}, Status: r.Status, Assignee: r.Assignee,
				Flags: r.Flags, Municipality: r.Municipality, ReceivedAt: r.ReceivedAt}
			cv.notes, cv.audit, cv.outgoing, cv.names = nil, nil, nil, map[string]string{}
			cv.rowOnly, cv.audited = true, false
			cv.render()
			return true
		}
	}
	return false
}

// canHold reports whether a change the server could not take may be kept.
func (cv *caseView) canHold(err error) bool {
	return app.Unavailable(err) && cv.m.o.Offline != nil && cv.c != nil && cv.m.caseView == cv
}

// shown is the case as the window shows it: the server's, with the
// changes that wait on this PC applied.
func (cv *caseView) shown() *app.Case {
	c := *cv.c
	for _, a := range cv.m.pending[cv.ref] {
		switch a.Kind {
		case app.OfflineClaim:
			c.Assignee = a.Clerk
		case app.OfflineStatus:
			c.Status = a.Status
		}
	}
	return &c
}

// hold keeps a change to the open case on this PC, a status change with
// its message to the citizen (msg, nil for none).
func (cv *caseView) hold(kind app.OfflineActionKind, to app.Status, text string, msg *app.Tell) {
	m, c, by := cv.m, cv.shown(), cv.m.actor()
	a := app.OfflineAction{Kind: kind, Ref: cv.ref, Status: to, Text: text, Tell: msg, Clerk: by.Clerk, Name: by.Name, HeldAt: m.now(),
		Seen: app.OfflineSeen{Status: c.Status, Assignee: c.Assignee, Office: c.Office, UpdatedAt: c.UpdatedAt}}
	ob := m.o.Offline
	m.do(func(ctx context.Context) error {
		_, err := ob.HoldAction(ctx, &a)
		return err
	}, func(err error) {
		if err != nil {
			m.showError(err)
			return
		}
		if m.pending == nil {
			m.pending = map[string][]app.OfflineAction{}
		}
		m.pending[a.Ref] = append(m.pending[a.Ref], a)
		m.showPending()
		m.refreshOfflineCount()
	})
}

// pendingText says what waits for the server on the case, "" if nothing.
func (m *mainWindow) pendingText(ref string) string {
	var parts []string
	for _, a := range m.pending[ref] {
		parts = append(parts, lang.L("{{.What}} ({{.Time}} Uhr)", map[string]any{"What": actionLabel(a), "Time": a.HeldAt.In(app.Berlin).Format("15:04")}))
	}
	if len(parts) == 0 {
		return ""
	}
	return lang.L("Ohne Verbindung auf diesem PC vorgemerkt, wartet auf Server: {{.What}}. Wird gespeichert, sobald die Verbindung wieder besteht.",
		map[string]any{"What": strings.Join(parts, "; ")})
}

// showPending brings what waits on screen: the open case and the queue.
func (m *mainWindow) showPending() {
	if cv := m.caseView; cv != nil && cv.c != nil && cv.pendingL != nil {
		cv.render()
	}
	if m.queue != nil && m.queue.table != nil {
		m.queue.table.Refresh()
	}
}

// pendingStatus is the status a queue row shows while changes to the case
// wait on this PC (ok: something waits).
func (m *mainWindow) pendingStatus(ref string) (app.Status, bool) {
	as := m.pending[ref]
	if len(as) == 0 {
		return "", false
	}
	var s app.Status
	for _, a := range as {
		if a.Kind == app.OfflineStatus {
			s = a.Status
		}
	}
	if s == "" {
		s = as[0].Seen.Status
	}
	return s, true
}

// pendingAssignee is the clerk of a claim that waits, "" if none.
func (m *mainWindow) pendingAssignee(ref string) string {
	for _, a := range m.pending[ref] {
		if a.Kind == app.OfflineClaim {
			return a.Clerk
		}
	}
	return ""
}

// loadPending reads the changes that wait, by reference.
func loadPending(ctx context.Context, ob app.OfflineOutbox) (map[string][]app.OfflineAction, int, error) {
	as, err := ob.Actions(ctx, app.OfflineWaiting)
	if err != nil {
		return nil, 0, err
	}
	p := map[string][]app.OfflineAction{}
	for _, a := range as {
		p[a.Ref] = append(p[a.Ref], a)
	}
	return p, len(as), nil
}

// offlineActionLine says of a kept change what it is and where it stands.
func offlineActionLine(a app.OfflineAction) string {
	args := map[string]any{"Ref": a.Ref, "What": actionLabel(a), "Time": app.FormatDateTime(a.HeldAt), "Msg": a.Message}
	if a.State == app.OfflineConflict {
		return lang.L("{{.Ref}} ({{.What}}, {{.Time}}): nicht ausgeführt – {{.Msg}}", args)
	}
	return lang.L("{{.Ref}} ({{.What}}, {{.Time}}): wartet auf den Server", args)
}

func actionLabel(a app.OfflineAction) string {
	switch a.Kind {
	case app.OfflineClaim:
		return lang.L("Übernahme")
	case app.OfflineStatus:
		if a.Tell != nil {
			return lang.L("Status „{{.Status}}“ mit Nachricht an den Bürger", map[string]any{"Status": statusLabel(a.Status)})
		}
		return lang.L("Status „{{.Status}}“", map[string]any{"Status": statusLabel(a.Status)})
	}
	return lang.L("Notiz „{{.Text}}“", map[string]any{"Text": a.Text})
}

// showOfflineEntries lists what this PC keeps: applications and changes
// waiting for the server, and those it refused with their German reason
// and what the clerk can do: "Verwerfen" (asks first; also for the
// clerk's own that still wait) and, for a refused application, "In
// Formular übernehmen". intro is said first ("" none).
func (m *mainWindow) showOfflineEntries() { m.showOfflineList(lang.L("Auf diesem PC vorgemerkt"), "") }

func (m *mainWindow) showOfflineList(title, intro string) {
	ob := m.o.Offline
	if ob == nil {
		return
	}
	var es []app.OfflineEntry
	var as []app.OfflineAction
	m.do(func(ctx context.Context) error {
		var err error
		if es, err = ob.Entries(ctx, ""); err != nil {
			return err
		}
		as, err = ob.Actions(ctx, "")
		return err
	}, func(err error) {
		if err != nil {
			m.showError(err)
			return
		}
		m.openOfflineList(title, intro, es, as)
	})
}

func (m *mainWindow) openOfflineList(title, intro string, es []app.OfflineEntry, as []app.OfflineAction) {
	box := container.NewVBox()
	var text []string
	add := func(line string, buttons ...fyne.CanvasObject) {
		text = append(text, line)
		l := widget.NewLabel(line)
		l.Wrapping = fyne.TextWrapWord
		if len(buttons) == 0 {
			box.Add(l)
			return
		}
		l.Importance = widget.WarningImportance
		box.Add(container.NewVBox(l, container.NewHBox(buttons...)))
	}
	if intro != "" {
		add(intro)
		box.Add(widget.NewSeparator())
	}
	n := 0
	for _, e := range es {
		line := offlineLines([]app.OfflineEntry{e})
		if len(line) == 0 {
			continue // written
		}
		n++
		e := e
		if e.State == app.OfflineWaiting && e.Clerk == m.actor().Clerk {
			// Taken by mistake or withdrawn at once: discarded before the
			// replay sends it; once marked as being sent, Discard refuses.
			add(line[0], widget.NewButtonWithIcon(lang.L("Verwerfen"), theme.DeleteIcon(), func() {
				m.discardOffline(e.Key, lang.L("Den Antrag {{.Ref}} ({{.Name}}) verwerfen? Er wird nicht an den Server gesendet, seine Angaben werden von diesem PC gelöscht, und die vorläufige Quittung des Bürgers wird ungültig. Bitte sagen Sie es dem Bürger.",
					map[string]any{"Ref": e.ProvisionalRef, "Name": e.Case.Applicant.Name()}))
			}))
			continue
		}
		if e.State != app.OfflineConflict {
			add(line[0])
			continue
		}
		add(line[0],
			widget.NewButtonWithIcon(lang.L("In Formular übernehmen"), theme.DocumentCreateIcon(), func() { m.takeIntoForm(e) }),
			widget.NewButtonWithIcon(lang.L("Verwerfen"), theme.DeleteIcon(), func() {
				m.discardOffline(e.Key, lang.L("Der abgelehnte Antrag {{.Ref}} ({{.Name}}) wird von diesem PC gelöscht; seine Angaben sind dann verloren. Wirklich verwerfen?",
					map[string]any{"Ref": e.ProvisionalRef, "Name": e.Case.Applicant.Name()}))
			}))
	}
	for _, a := range as {
		if a.State == app.OfflineWritten {
			continue
		}
		n++
		a := a
		if a.State == app.OfflineWaiting && a.Clerk == m.actor().Clerk {
			// A mistake taken back before the replay sends it; once the
			// replay has marked it as being sent, Discard refuses.
			q := lang.L("{{.What}} für {{.Ref}} verwerfen? Die Änderung wird nicht an den Server gesendet.", map[string]any{"Ref": a.Ref, "What": actionLabel(a)})
			if a.Tell != nil {
				q = lang.L("{{.What}} für {{.Ref}} verwerfen? Die Änderung wird nicht an den Server gesendet und die Nachricht nicht verschickt.", map[string]any{"Ref": a.Ref, "What": actionLabel(a)})
			}
			add(offlineActionLine(a), widget.NewButtonWithIcon(lang.L("Verwerfen"), theme.DeleteIcon(), func() { m.discardOffline(a.Key, q) }))
			continue
		}
		if a.State != app.OfflineConflict {
			add(offlineActionLine(a))
			continue
		}
		add(offlineActionLine(a), widget.NewButtonWithIcon(lang.L("Verwerfen"), theme.DeleteIcon(), func() {
			m.discardOffline(a.Key, lang.L("Die nicht ausgeführte Änderung an {{.Ref}} ({{.What}}) wird von diesem PC gelöscht und nicht mehr nachgetragen. Wirklich verwerfen?",
				map[string]any{"Ref": a.Ref, "What": actionLabel(a)}))
		}))
	}
	if n == 0 {
		add(lang.L("Auf diesem PC ist nichts vorgemerkt."))
	}
	if m.offlineDlg != nil {
		m.offlineDlg.close()
	}
	d := m.openDialog(dialogSpec{title: title, content: container.NewVScroll(box), cancelLabel: lang.L("Schließen"), size: fyne.NewSize(640, 420),
		cancel: func() { m.offlineDlg = nil }})
	m.offlineDlg, m.offlineBox = d, box
	m.lastMessage = strings.Join(text, "\n")
}

// discardOffline deletes a kept application or change after asking (the
// safe answer, Enter, keeps it).
func (m *mainWindow) discardOffline(key, question string) {
	m.confirmIrreversible(lang.L("Verwerfen?"), question, lang.L("Verwerfen"), func() {
		ob := m.o.Offline
		m.do(func(ctx context.Context) error { return ob.Discard(ctx, key) }, func(err error) {
			if err != nil {
				m.showError(err) // ECONFLICT: already on its way to the server
			}
			m.refreshOfflineCount() // the case and its row no longer say "wartet auf Server"
			if err == nil && m.offlineDlg != nil {
				m.showOfflineEntries()
			}
		})
	})
}

// takeIntoForm copies a refused application back into the intake form,
// so that nothing typed is lost; input in the form is not thrown away
// unasked. The kept application goes once the form is saved.
func (m *mainWindow) takeIntoForm(e app.OfflineEntry) {
	s := m.intake
	fill := func() {
		in := app.IntakeInput{Fields: map[string]string{}}
		doc, _ := json.Marshal(map[string]any{"leistung": map[string]string{"schluessel": e.Case.Service},
			"antragsteller": e.Case.Applicant, "angaben": e.Case.Fields})
		readAntrag(m.reg, doc, &in)
		if m.offlineDlg != nil {
			m.offlineDlg.close()
			m.offlineDlg = nil
		}
		m.closeCase()
		m.show(ScreenIntake)
		s.reset()
		s.fill(in)
		s.fromOffline = e.Key
		s.lastSave.SetText(lang.L("Der abgelehnte Antrag {{.Ref}} steht wieder im Formular. Bitte prüfen, korrigieren und speichern; erst dann wird er von diesem PC gelöscht.",
			map[string]any{"Ref": e.ProvisionalRef}))
		s.lastSave.Importance = widget.WarningImportance
		s.lastSave.Refresh()
	}
	if s.dirty() {
		m.confirmDiscard(fill)
		return
	}
	fill()
}

// savedFromOffline deletes the refused application the form was filled
// from, now that the form is saved (or kept again) under its own key.
func (s *intakeScreen) savedFromOffline() {
	key, ob := s.fromOffline, s.m.o.Offline
	if key == "" || ob == nil {
		return
	}
	s.fromOffline = ""
	s.m.do(func(ctx context.Context) error { return ob.Discard(ctx, key) }, func(err error) {
		if err != nil && app.ErrorCode(err) != app.ENOTFOUND {
			s.m.log.Error("offline discard", "err", err)
		}
		s.m.refreshOfflineCount()
	})
}
