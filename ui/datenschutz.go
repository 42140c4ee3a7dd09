package ui

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"amtstresen/app"
	"amtstresen/ui/pdf"
)

// Data protection in the window: the audit log with its CSV export and the
// Art. 15 export (for leads and administrators), the retention periods of
// the catalog (administrators), and the message shown instead of the
// window when the database is damaged or the account has no role.

// controlled reports whether access control applies (roles exist or the
// installation is being set up); without an actor the window behaves as
// before (tests, tools).
func (m *mainWindow) controlled() bool { return m.o.Actor.Role != "" }

// fixedOffice: clerks and leads work for the office of their role.
func (m *mainWindow) fixedOffice() bool { return m.controlled() && m.o.Actor.Role != app.RoleAdmin }

// can reports whether the clerk has at least role r (always without access control).
func (m *mainWindow) can(r app.Role) bool { return !m.controlled() || m.o.Actor.Is(r) }

// privacyCard is the Datenschutz card of the settings screen.
func (m *mainWindow) privacyCard() fyne.CanvasObject {
	var items []fyne.CanvasObject
	if m.o.Setup {
		l := widget.NewLabel(lang.L("Einrichtung: Es sind noch keine Rollen vergeben, jede Anmeldung hat alle Rechte. Bitte zuerst die Administration eintragen: amtstresen roles set KONTO admin"))
		l.Wrapping = fyne.TextWrapWord
		l.Importance = widget.WarningImportance
		items = append(items, l)
	}
	if m.controlled() {
		items = append(items, widget.NewLabel(lang.L("Angemeldet als {{.Account}} – {{.Role}}", map[string]any{
			"Account": m.o.Actor.Clerk, "Role": roleLabel(m.o.Actor.Role)})))
	}
	if m.can(app.RoleLead) {
		audit := widget.NewButtonWithIcon(lang.L("Protokoll anzeigen"), theme.HistoryIcon(), m.showAudit)
		export := widget.NewButtonWithIcon(lang.L("Auskunft nach Art. 15 DSGVO"), theme.DocumentSaveIcon(), m.showPersonExport)
		items = append(items, container.NewHBox(audit, export))
	}
	if m.can(app.RoleAdmin) {
		items = append(items, m.retentionTable())
		dir := m.o.BackupDir
		if dir == "" {
			dir = lang.L("nicht eingerichtet")
		}
		items = append(items, formGrid(fieldLabel(lang.L("Sicherungen")), valueLabel(dir)))
	}
	if len(items) == 0 {
		return nil
	}
	return widget.NewCard(lang.L("Datenschutz"), lang.L("Zugriffe werden protokolliert; Daten werden nach Ablauf ihrer Frist gelöscht."), container.NewVBox(items...))
}

func roleLabel(r app.Role) string {
	switch r {
	case app.RoleClerk:
		return lang.L("Sachbearbeitung")
	case app.RoleLead:
		return lang.L("Leitung")
	case app.RoleAdmin:
		return lang.L("Administration")
	}
	return string(r)
}

// retentionTable shows the retention period of every service.
func (m *mainWindow) retentionTable() fyne.CanvasObject {
	var cells []fyne.CanvasObject
	for _, s := range m.reg.Catalog.Services {
		period := lang.L("keine Frist – wird nicht gelöscht")
		switch {
		case s.RetentionMonths > 0:
			period = lang.L("{{.N}} Monate nach Abschluss", map[string]any{"N": s.RetentionMonths})
		case s.RetentionDays > 0:
			period = lang.L("{{.N}} Tage nach dem Termin", map[string]any{"N": s.RetentionDays})
		}
		cells = append(cells, fieldLabel(s.Name), valueLabel(period))
	}
	if c := m.o.Config; c != nil {
		cells = append(cells, fieldLabel(lang.L("Protokoll")), valueLabel(lang.L("{{.N}} Monate", map[string]any{"N": c.Audit.RetentionMonths})))
	}
	return container.NewVBox(heading(lang.L("Aufbewahrungsfristen")), formGrid(cells...))
}

// auditView is the audit log for the data-protection officer.
type auditView struct {
	m       *mainWindow
	from    *widget.Entry
	to      *widget.Entry
	ref     *widget.Entry
	table   *widget.Table
	status  *widget.Label
	entries []app.AuditEntry
}

func (m *mainWindow) showAudit() {
	v := &auditView{m: m}
	v.from, v.to, v.ref = widget.NewEntry(), widget.NewEntry(), widget.NewEntry()
	v.from.SetPlaceHolder(lang.L("ab TT.MM.JJJJ"))
	v.to.SetPlaceHolder(lang.L("bis TT.MM.JJJJ"))
	v.ref.SetPlaceHolder(lang.L("Aktenzeichen oder Konto"))
	v.from.SetText(app.FormatDate(m.now().AddDate(0, 0, -30)))
	v.status = widget.NewLabel("")
	header := []string{lang.L("Zeit"), lang.L("Konto"), lang.L("Dienststelle"), lang.L("Aktion"), lang.L("Bezug"), lang.L("Detail")}
	widths := []float32{150, 110, 120, 200, 170, 220}
	v.table = widget.NewTableWithHeaders(
		func() (int, int) { return len(v.entries), len(header) },
		func() fyne.CanvasObject { l := widget.NewLabel(""); l.Truncation = fyne.TextTruncateEllipsis; return l },
		func(id widget.TableCellID, o fyne.CanvasObject) { o.(*widget.Label).SetText(v.cell(id.Row, id.Col)) })
	v.table.CreateHeader = func() fyne.CanvasObject {
		return widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	}
	v.table.UpdateHeader = func(id widget.TableCellID, o fyne.CanvasObject) {
		if id.Row < 0 && id.Col >= 0 {
			o.(*widget.Label).SetText(header[id.Col])
		} else {
			o.(*widget.Label).SetText("")
		}
	}
	v.table.ShowHeaderColumn = false
	for i, w := range widths {
		v.table.SetColumnWidth(i, w)
	}
	show := widget.NewButtonWithIcon(lang.L("Anzeigen"), theme.SearchIcon(), v.load)
	csvB := widget.NewButtonWithIcon(lang.L("Als CSV speichern"), theme.DocumentSaveIcon(), v.onSaveCSV)
	top := container.NewVBox(container.NewGridWithColumns(5, v.from, v.to, v.ref, show, csvB), v.status)
	m.auditView = v
	m.openDialog(dialogSpec{title: lang.L("Protokoll"), content: container.NewBorder(top, nil, nil, nil, v.table),
		cancelLabel: lang.L("Schließen"), size: fyne.NewSize(1100, 650)})
	v.load()
}

func (v *auditView) cell(row, col int) string {
	if row < 0 || row >= len(v.entries) {
		return ""
	}
	e := v.entries[row]
	switch col {
	case 0:
		return e.At.In(app.Berlin).Format("02.01.2006 15:04:05")
	case 1:
		return e.Clerk
	case 2:
		return officeShort(v.m.reg, e.Office)
	case 3:
		return app.AuditActionLabel(e.Action)
	case 4:
		return e.Ref
	}
	return e.Detail
}

func (v *auditView) filter() (app.AuditFilter, error) {
	var f app.AuditFilter
	parse := func(s string) (time.Time, error) {
		iso, ok := app.ParseGermanDate(strings.TrimSpace(s))
		if !ok {
			return time.Time{}, app.Errorf(app.EINVALID, "„%s“ ist kein Datum (TT.MM.JJJJ).", s)
		}
		t, _ := time.ParseInLocation("2006-01-02", iso, app.Berlin)
		return t, nil
	}
	var err error
	if s := strings.TrimSpace(v.from.Text); s != "" {
		if f.From, err = parse(s); err != nil {
			return f, err
		}
	}
	if s := strings.TrimSpace(v.to.Text); s != "" {
		if f.To, err = parse(s); err != nil {
			return f, err
		}
		f.To = f.To.AddDate(0, 0, 1)
	}
	if r := strings.TrimSpace(v.ref.Text); r != "" {
		if strings.Count(r, "-") >= 2 {
			f.Ref = strings.ToUpper(r)
		} else {
			f.Ref = r
		}
	}
	return f, nil
}

func (v *auditView) load() {
	f, err := v.filter()
	if err != nil {
		v.status.SetText(app.ErrorMessage(err))
		return
	}
	var list []app.AuditEntry
	v.m.do(func(ctx context.Context) error {
		var err error
		list, err = v.m.store.AuditEntries(ctx, f)
		return err
	}, func(err error) {
		if err != nil {
			v.status.SetText(app.ErrorMessage(err))
			return
		}
		sort.SliceStable(list, func(i, j int) bool { return list[i].ID > list[j].ID }) // newest first
		v.entries = list
		v.status.SetText(lang.L("{{.N}} Einträge", map[string]any{"N": len(list)}))
		v.table.Refresh()
	})
}

// writeCSV writes the shown entries and logs the export.
func (v *auditView) writeCSV(ctx context.Context, w io.Writer) error {
	if err := app.WriteAuditCSV(w, v.entries); err != nil {
		return &app.Error{Code: app.EINTERNAL, Err: err, Message: lang.L("Die Datei konnte nicht gespeichert werden. Bitte einen anderen Ort wählen.")}
	}
	by := v.m.actor()
	return v.m.store.Audit(ctx, app.AuditEntry{At: v.m.now().UTC(), Clerk: by.Clerk, Office: by.Office, Action: app.ActionAuditExport,
		Detail: fmt.Sprintf("entries=%d", len(v.entries))})
}

func (v *auditView) onSaveCSV() {
	v.m.saveFile(lang.L("Protokoll als CSV speichern"), "Protokoll-"+v.m.now().Format("2006-01-02")+".csv",
		v.writeCSV, nil, func(path string) {
			v.status.SetText(lang.L("Gespeichert: {{.File}}", map[string]any{"File": path}))
		})
}

// personExport is the Art. 15 form.
type personExport struct {
	m      *mainWindow
	name   *widget.Entry
	birth  *widget.Entry
	email  *widget.Entry
	status *widget.Label
	done   string // the input of the last answer written: no longer unsaved
}

// input is what the clerk typed, as one string.
func (p *personExport) input() string {
	return strings.TrimSpace(p.name.Text) + "\x00" + strings.TrimSpace(p.birth.Text) + "\x00" + strings.TrimSpace(p.email.Text)
}

func (m *mainWindow) showPersonExport() {
	p := &personExport{m: m, name: widget.NewEntry(), birth: widget.NewEntry(), email: widget.NewEntry(), status: widget.NewLabel("")}
	p.birth.SetPlaceHolder("TT.MM.JJJJ")
	p.status.Wrapping = fyne.TextWrapWord
	form := widget.NewForm(
		widget.NewFormItem(lang.L("Vor- und Nachname"), p.name),
		widget.NewFormItem(lang.L("Geburtsdatum"), p.birth),
		widget.NewFormItem(lang.L("E-Mail"), p.email),
	)
	intro := widget.NewLabel(lang.L("Name und Geburtsdatum oder die E-Mail-Adresse angeben. Die Auskunft (PDF zum Lesen, JSON maschinenlesbar, Kopien der Unterlagen) wird in einen Ordner geschrieben; der Zugriff wird protokolliert."))
	intro.Wrapping = fyne.TextWrapWord
	run := widget.NewButtonWithIcon(lang.L("Ordner wählen und Auskunft erstellen"), theme.FolderOpenIcon(), func() {
		fd := dialog.NewFolderOpen(func(u fyne.ListableURI, err error) {
			if err != nil || u == nil {
				return
			}
			p.export(u.Path())
		}, m.w)
		fd.SetTitleText(lang.L("Ordner für die Auskunft wählen"))
		fd.Show()
	})
	run.Importance = widget.HighImportance
	m.personExport = p
	m.openDialog(dialogSpec{title: lang.L("Auskunft nach Art. 15 DSGVO"), content: container.NewVBox(intro, form, run, p.status),
		cancelLabel: lang.L("Schließen"), size: fyne.NewSize(620, 400), focus: p.name,
		dirty: func() bool { in := p.input(); return in != "\x00\x00" && in != p.done }})
}

// export writes the answer into a new folder inside dir.
func (p *personExport) export(dir string) {
	q := app.PersonQuery{Name: p.name.Text, BirthDate: p.birth.Text, Email: p.email.Text}
	in := p.input()
	by := p.m.actor()
	target := dir + "/Auskunft-" + p.m.now().Format("20060102-150405")
	var summary string
	p.m.do(func(ctx context.Context) error {
		d, err := app.ExportPerson(ctx, p.m.store, p.m.store, by, q)
		if err != nil {
			return err
		}
		files, err := pdf.NewRenderer(p.m.reg).DisclosureFiles(target, d, p.m.office(), pdf.Options{Clerk: p.m.clerkName()},
			func(sha string) ([]byte, error) { return p.m.store.AttachmentData(ctx, sha) })
		if err != nil {
			return err
		}
		summary = lang.L("{{.Cases}}, {{.Appointments}}; {{.Files}} Dateien in {{.Dir}}", map[string]any{
			"Cases":        lang.XN("count.cases", "{{.N}} Vorgänge", len(d.Cases), map[string]any{"N": len(d.Cases)}),
			"Appointments": lang.XN("count.appointments", "{{.N}} Termine", len(d.Appointments), map[string]any{"N": len(d.Appointments)}),
			"Files":        len(files), "Dir": target})
		return nil
	}, func(err error) {
		if err != nil {
			p.status.SetText(app.ErrorMessage(err))
			return
		}
		p.status.SetText(summary)
		p.done = in
	})
}

// startupMessage is what the window shows instead of the work queue when
// it cannot start: a damaged database (with the way to restore) or an
// account without a role. The text can be selected and copied.
func startupMessage(title, msg string, onClose func()) fyne.CanvasObject {
	head := widget.NewLabelWithStyle(title, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	text := widget.NewMultiLineEntry()
	text.SetText(msg)
	text.Wrapping = fyne.TextWrapWord
	text.OnChanged = func(string) { text.SetText(msg) } // read-only, but selectable
	closeB := widget.NewButtonWithIcon(lang.L("Beenden"), theme.CancelIcon(), onClose)
	return container.NewBorder(head, container.NewHBox(closeB), nil, nil, text)
}

// RunStartupError shows title and msg in a window of its own until it is
// closed; for a database that fails its check at start. log is the
// program's logger (nil logs nothing).
func RunStartupError(ctx context.Context, log *slog.Logger, title, msg string) error {
	if err := CheckDisplay(); err != nil {
		return err // the message itself is printed by the caller
	}
	a := fyneapp.NewWithID(AppID)
	if err := setupLanguage(a.Preferences().StringWithFallback(prefLanguage, LangGerman)); err != nil {
		Options{Log: log}.logger().Error("translations", "err", err)
	}
	w := a.NewWindow("Amtstresen – " + title)
	w.SetContent(startupMessage(title, msg, a.Quit))
	w.Resize(fyne.NewSize(760, 420))
	go func() {
		<-ctx.Done()
		fyne.Do(a.Quit)
	}()
	w.ShowAndRun()
	return nil
}
