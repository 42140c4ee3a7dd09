package ui

import (
	"context"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"amtstresen/app"
)

// appointmentsScreen is the day view of the bookings of one office (or
// all): booked, moved and cancelled ones, check-in and no-show at the
// counter, and the printed confirmation.
type appointmentsScreen struct {
	m      *mainWindow
	day    time.Time // midnight, Europe/Berlin
	office app.OfficeKey
	list   []app.Appointment
	sel    int
	gen    int

	dayLabel  *widget.Label
	dateEntry *widget.Entry
	officeSel *widget.Select
	table     *keyTable
	info      *widget.Label
	detail    *widget.Label
	checkIn   *keyButton
	noShow    *keyButton
	undo      *keyButton
	printBtn  *keyButton
	quiet     bool

	overrideReason *fieldEntry // the open override dialog's reason (tests)
}

func newAppointmentsScreen(m *mainWindow) *appointmentsScreen {
	return &appointmentsScreen{m: m, sel: -1}
}

var appointmentColumns = []float32{110, 200, 240, 150, 110, 140}

func (s *appointmentsScreen) buildUI() fyne.CanvasObject {
	s.day = midnight(s.m.now())
	s.dayLabel = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	prev := widget.NewButtonWithIcon("", theme.NavigateBackIcon(), func() { s.setDay(s.day.AddDate(0, 0, -1)) })
	next := widget.NewButtonWithIcon("", theme.NavigateNextIcon(), func() { s.setDay(s.day.AddDate(0, 0, 1)) })
	today := widget.NewButton(lang.L("Heute"), func() { s.setDay(midnight(s.m.now())) })
	s.dateEntry = widget.NewEntry()
	s.dateEntry.SetPlaceHolder(lang.L("TT.MM.JJJJ"))
	s.dateEntry.OnSubmitted = func(text string) {
		if iso, ok := app.ParseGermanDate(strings.TrimSpace(text)); ok {
			t, _ := time.ParseInLocation("2006-01-02", iso, app.Berlin)
			s.setDay(t)
			s.dateEntry.SetText("")
		} else {
			s.m.showMessage(lang.L("Datum"), lang.L("Bitte ein Datum im Format TT.MM.JJJJ eingeben."))
		}
	}
	offices := []string{lang.L("Alle Dienststellen")}
	for _, o := range s.m.reg.Offices {
		offices = append(offices, officeShort(s.m.reg, o.Key))
	}
	s.officeSel = widget.NewSelect(offices, func(string) {
		if s.quiet {
			return
		}
		s.office = ""
		if i := s.officeSel.SelectedIndex(); i > 0 {
			s.office = s.m.reg.Offices[i-1].Key
		}
		s.reload()
	})
	s.info = widget.NewLabel("")

	headers := []string{lang.L("Zeit"), lang.L("Bürger"), lang.L("Leistung"), lang.L("Dienststelle"), lang.L("Buchung"), lang.L("Anwesenheit")}
	s.table = newKeyTable(s.m,
		func() (int, int) { return len(s.list), len(headers) },
		func() fyne.CanvasObject {
			l := widget.NewLabel("")
			l.Truncation = fyne.TextTruncateEllipsis
			return l
		},
		func(id widget.TableCellID, o fyne.CanvasObject) { s.updateCell(id, o.(*widget.Label)) },
	)
	s.table.ShowHeaderColumn = false
	s.table.UpdateHeader = func(id widget.TableCellID, o fyne.CanvasObject) {
		l := o.(*widget.Label)
		if id.Col >= 0 && id.Col < len(headers) {
			l.SetText(headers[id.Col])
		}
	}
	for i, w := range appointmentColumns {
		s.table.SetColumnWidth(i, w)
	}
	s.table.OnSelected = func(id widget.TableCellID) { s.sel = id.Row; s.showSelected() }

	s.detail = widget.NewLabel(lang.L("Termin in der Liste wählen."))
	s.detail.Wrapping = fyne.TextWrapWord
	s.checkIn = newKeyButton(s.m, lang.L("Einchecken"), theme.ConfirmIcon(), func() { s.onAttendance(app.AttendanceCheckedIn) })
	s.checkIn.Importance = widget.HighImportance
	s.noShow = newKeyButton(s.m, lang.L("Nicht erschienen"), theme.CancelIcon(), func() { s.onAttendance(app.AttendanceNoShow) })
	s.undo = newKeyButton(s.m, lang.L("Anwesenheit zurücknehmen"), theme.ContentUndoIcon(), func() { s.onAttendance(app.AttendanceNone) })
	s.printBtn = newKeyButton(s.m, lang.L("Terminbestätigung drucken"), theme.DocumentPrintIcon(), s.onPrint)
	s.showSelected()

	top := container.NewBorder(nil, nil,
		container.NewHBox(prev, today, next, s.dayLabel),
		container.NewHBox(container.NewGridWrap(fyne.NewSize(130, s.dateEntry.MinSize().Height), s.dateEntry), s.officeSel, s.info))
	bottom := container.NewVBox(widget.NewSeparator(), s.detail, container.NewHBox(s.checkIn, s.noShow, s.undo, s.printBtn))
	s.resetOffice()
	s.updateDayLabel()
	return container.NewBorder(top, bottom, nil, nil, s.table)
}

func midnight(t time.Time) time.Time {
	y, mo, d := t.In(app.Berlin).Date()
	return time.Date(y, mo, d, 0, 0, 0, 0, app.Berlin)
}

var weekdays = []string{"Sonntag", "Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag"}

func (s *appointmentsScreen) updateDayLabel() {
	wd := lang.L(weekdays[s.day.Weekday()])
	text := wd + ", " + app.FormatDate(s.day)
	if s.day.Equal(midnight(s.m.now())) {
		text += " (" + lang.L("heute") + ")"
	}
	s.dayLabel.SetText(text)
}

// resetOffice shows the clerk's own office.
func (s *appointmentsScreen) resetOffice() {
	if s.officeSel == nil {
		return
	}
	s.office = s.m.office()
	s.quiet = true
	s.officeSel.SetSelectedIndex(0)
	for i, o := range s.m.reg.Offices {
		if o.Key == s.office {
			s.officeSel.SetSelectedIndex(i + 1)
		}
	}
	s.quiet = false
}

func (s *appointmentsScreen) setDay(d time.Time) {
	s.day = midnight(d)
	s.updateDayLabel()
	s.reload()
}

func (s *appointmentsScreen) reload() {
	s.gen++
	gen, office, from := s.gen, s.office, s.day
	to := from.AddDate(0, 0, 1)
	keep := ""
	if a := s.selected(); a != nil {
		keep = a.UID
	}
	s.m.bg.run(func() {
		list, err := s.m.store.Appointments(s.m.ctx, office, from.UTC(), to.UTC())
		s.m.ui(func() {
			if gen != s.gen {
				return
			}
			if err != nil {
				s.info.SetText(app.ErrorMessage(err))
				return
			}
			s.list = list
			s.sel = -1
			for i := range list {
				if list[i].UID == keep && keep != "" {
					s.sel = i
				}
			}
			if s.sel < 0 {
				s.table.UnselectAll() // else the same row cannot be chosen again
			}
			s.table.Refresh()
			booked := 0
			for _, a := range list {
				if a.Status != app.AppointmentCancelled {
					booked++
				}
			}
			s.info.SetText(lang.L("{{.Booked}} gebucht, {{.Cancelled}} abgesagt", map[string]any{"Booked": booked, "Cancelled": len(list) - booked}))
			s.showSelected()
		})
	})
}

func (s *appointmentsScreen) updateCell(id widget.TableCellID, l *widget.Label) {
	if id.Row >= len(s.list) {
		return
	}
	a := &s.list[id.Row]
	text := ""
	switch id.Col {
	case 0:
		text = a.Start.In(app.Berlin).Format("15:04") + "–" + a.End.In(app.Berlin).Format("15:04")
	case 1:
		text = app.Safe(a.CitizenName)
	case 2:
		text = serviceName(s.m.reg, a.Service)
	case 3:
		text = officeShort(s.m.reg, a.Office)
	case 4:
		text = appointmentStatusLabel(a)
	case 5:
		text = attendanceLabel(a.Attendance)
	}
	imp := widget.MediumImportance
	switch {
	case a.Status == app.AppointmentCancelled:
		imp = widget.LowImportance
	case id.Col == 4 && a.Sequence > 0:
		imp = widget.WarningImportance
	case id.Col == 5 && a.Attendance == app.AttendanceCheckedIn:
		imp = widget.SuccessImportance
	case id.Col == 5 && a.Attendance == app.AttendanceNoShow:
		imp = widget.DangerImportance
	}
	l.Importance = imp
	l.SetText(text)
}

func (s *appointmentsScreen) selected() *app.Appointment {
	if s.sel < 0 || s.sel >= len(s.list) {
		return nil
	}
	return &s.list[s.sel]
}

func (s *appointmentsScreen) showSelected() {
	a := s.selected()
	btns := []*keyButton{s.checkIn, s.noShow, s.undo, s.printBtn}
	if a == nil {
		for _, b := range btns {
			b.Disable()
		}
		s.detail.SetText(lang.L("Termin in der Liste wählen."))
		return
	}
	for _, b := range btns {
		b.Enable()
	}
	// The rules (app.CheckAttendance): check-in on the day, no-show after
	// the start. A lead may record either anyway, with a reason.
	now := s.m.now()
	lead := s.m.mayOverride()
	if a.Status == app.AppointmentCancelled || (app.CheckAttendance(a, app.AttendanceCheckedIn, now) != nil && !lead) || a.Attendance == app.AttendanceCheckedIn {
		s.checkIn.Disable()
	}
	if a.Status == app.AppointmentCancelled || (app.CheckAttendance(a, app.AttendanceNoShow, now) != nil && !lead) || a.Attendance == app.AttendanceNoShow {
		s.noShow.Disable()
	}
	if a.Attendance == app.AttendanceNone {
		s.undo.Disable()
	}
	parts := []string{
		app.FormatDate(a.Start) + ", " + lang.L("{{.From}}–{{.To}} Uhr", map[string]any{
			"From": a.Start.In(app.Berlin).Format("15:04"), "To": a.End.In(app.Berlin).Format("15:04")}),
		app.Safe(a.CitizenName), serviceName(s.m.reg, a.Service), appointmentStatusLabel(a),
	}
	if a.Location != "" {
		parts = append(parts, app.Safe(a.Location))
	}
	if a.CitizenEmail != "" {
		parts = append(parts, a.CitizenEmail)
	}
	if att := attendanceLabel(a.Attendance); att != "" {
		if a.AttendanceNote != "" {
			att += " (" + lang.L("abweichend erfasst: {{.Reason}}", map[string]any{"Reason": a.AttendanceNote}) + ")"
		}
		parts = append(parts, att)
	}
	s.detail.SetText(strings.Join(parts, " · "))
}

func (s *appointmentsScreen) onAttendance(att app.Attendance) {
	a := s.selected()
	if a == nil {
		return
	}
	uid, by, m := a.UID, s.m.actor(), s.m
	// The store checks the day rules against the window's clock.
	m.do(func(ctx context.Context) error {
		return m.store.SetAttendance(app.WithTime(ctx, m.now()), uid, att, by)
	}, func(err error) {
		if err != nil && app.ErrorCode(err) == app.EINVALID && m.mayOverride() && att != app.AttendanceNone {
			s.askOverride(uid, att, app.ErrorMessage(err))
			return
		}
		if err != nil {
			m.showError(err)
		}
		s.reload()
	})
}

// askOverride lets a lead record the attendance against the rules, with a
// reason that is kept and audited.
func (s *appointmentsScreen) askOverride(uid string, att app.Attendance, why string) {
	m := s.m
	intro := widget.NewLabel(why + "\n\n" + lang.L("Als Leitung können Sie die Anwesenheit trotzdem erfassen; die Begründung wird gespeichert und protokolliert."))
	intro.Wrapping = fyne.TextWrapWord
	reason := m.textArea(lang.L("Begründung, z. B. „Bürger kam einen Tag zu früh, Anliegen erledigt“"), 3)
	msg := newErrorLabel()
	reason.onChanged = func(string) { setError(msg, "") }
	s.overrideReason = reason
	m.openDialog(dialogSpec{title: lang.L("Anwesenheit abweichend erfassen"), content: container.NewVBox(intro, reason, msg),
		okLabel: lang.L("Erfassen"), cancelLabel: lang.L("Abbrechen"), size: fyne.NewSize(540, 320), focus: reason,
		dirty: func() bool { return strings.TrimSpace(reason.Text) != "" },
		ok: func() bool {
			text := strings.TrimSpace(reason.Text)
			if text == "" {
				setError(msg, lang.L("Bitte eine Begründung angeben; sie wird gespeichert."))
				return false
			}
			by := m.actor()
			m.do(func(ctx context.Context) error {
				return m.store.OverrideAttendance(app.WithTime(ctx, m.now()), uid, att, text, by)
			}, func(err error) {
				if err != nil {
					m.showError(err)
				}
				s.reload()
			})
			return true
		}})
}

func (s *appointmentsScreen) onPrint() {
	if a := s.selected(); a != nil {
		cp := *a
		s.m.printAppointment(&cp)
	}
}

// mayOverride: a lead (or the administration, also while setting up) may
// record an attendance against the day rules.
func (m *mainWindow) mayOverride() bool {
	return m.controlled() && m.o.Actor.Is(app.RoleLead)
}
