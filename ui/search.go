package ui

import (
	"regexp"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/widget"

	"amtstresen/app"
)

// searchScreen finds any case, of every office and status: by reference
// (opens it at once), by the portal's case id, or by full-text search.
type searchScreen struct {
	m        *mainWindow
	entry    *fieldEntry
	info     *widget.Label
	table    *keyTable
	rows     []app.CaseSummary
	count    int
	gen      int
	debounce *debouncer
}

const searchLimit = 200

var (
	refRE  = regexp.MustCompile(`^[A-Z]{2,3}-[0-9]{4}-[0-9]{5}$`)
	uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
)

func newSearchScreen(m *mainWindow) *searchScreen {
	return &searchScreen{m: m, debounce: newDebouncer(m.bg, 250*time.Millisecond)}
}

func (s *searchScreen) buildUI() fyne.CanvasObject {
	s.entry = s.m.textEntry(lang.L("Aktenzeichen, Name, Portal-Vorgang oder Stichwort – alle Dienststellen, auch abgeschlossene"))
	s.entry.onChanged = func(string) { s.debounce.call(func() { s.m.ui(func() { s.run(false) }) }) }
	s.entry.onDown = func() { s.m.w.Canvas().Focus(s.table) } // into the hits: ↑/↓, Enter opens
	s.entry.OnSubmitted = func(string) { s.run(true) }
	s.info = widget.NewLabel(lang.L("Enter öffnet einen Vorgang direkt, wenn das Aktenzeichen vollständig ist."))
	cols := []struct {
		title string
		width float32
	}{{lang.L("Aktenzeichen"), 140}, {lang.L("Eingang"), 140}, {lang.L("Leistung"), 240}, {lang.L("Antragsteller"), 180}, {lang.L("Dienststelle"), 150}, {lang.L("Status"), 130}}
	s.table = newKeyTable(s.m,
		func() (int, int) { return len(s.rows), len(cols) },
		func() fyne.CanvasObject {
			l := widget.NewLabel("")
			l.Truncation = fyne.TextTruncateEllipsis
			return l
		},
		func(id widget.TableCellID, o fyne.CanvasObject) {
			if id.Row >= len(s.rows) {
				return
			}
			r := &s.rows[id.Row]
			l := o.(*widget.Label)
			switch id.Col {
			case 0:
				l.SetText(r.Ref)
			case 1:
				l.SetText(r.ReceivedAt.In(app.Berlin).Format("02.01.2006 15:04"))
			case 2:
				l.SetText(serviceName(s.m.reg, r.Service))
			case 3:
				l.SetText(app.Safe(r.ApplicantName))
			case 4:
				l.SetText(officeShort(s.m.reg, r.Office))
			case 5:
				l.SetText(statusLabel(r.Status))
			}
		},
	)
	s.table.up = s.entry
	s.table.ShowHeaderColumn = false
	s.table.UpdateHeader = func(id widget.TableCellID, o fyne.CanvasObject) {
		if id.Col >= 0 && id.Col < len(cols) {
			o.(*widget.Label).SetText(cols[id.Col].title)
		}
	}
	for i, c := range cols {
		s.table.SetColumnWidth(i, c.width)
	}
	s.table.OnSelected = func(id widget.TableCellID) {
		s.table.UnselectAll()
		if id.Row < len(s.rows) {
			s.m.openCase(s.rows[id.Row].Ref)
		}
	}
	return container.NewBorder(container.NewVBox(s.entry, s.info), nil, nil, nil, s.table)
}

// run searches; open (Enter) opens a case found by its exact reference or
// portal id.
func (s *searchScreen) run(open bool) {
	text := strings.TrimSpace(s.entry.Text)
	s.gen++
	gen := s.gen
	if text == "" {
		s.rows, s.count = nil, 0
		s.table.Refresh()
		s.info.SetText("")
		return
	}
	s.m.bg.run(func() {
		ctx := s.m.ctx
		var direct *app.Case
		var err error
		switch up := strings.ToUpper(text); {
		case refRE.MatchString(up):
			direct, err = s.m.store.CaseByRef(ctx, up)
		case uuidRE.MatchString(strings.ToLower(text)):
			direct, err = s.m.store.CaseByPortalID(ctx, strings.ToLower(text))
		}
		if app.ErrorCode(err) == app.ENOTFOUND {
			direct, err = nil, nil
		}
		var rows []app.CaseSummary
		n := 0
		if err == nil {
			f := app.CaseFilter{Query: text, Limit: searchLimit}
			rows, err = s.m.store.ListCases(ctx, f)
			if err == nil {
				n, err = s.m.store.CountCases(ctx, f)
			}
		}
		if direct != nil && !containsRef(rows, direct.Ref) {
			rows = append([]app.CaseSummary{summaryOf(direct)}, rows...)
			n++
		}
		s.m.ui(func() {
			if gen != s.gen {
				return
			}
			if err != nil {
				s.info.SetText(app.ErrorMessage(err))
				return
			}
			s.rows, s.count = rows, n
			s.table.Refresh()
			switch {
			case n == 0:
				s.info.SetText(lang.L("Nichts gefunden. Tipp: Teile eines Namens oder das Aktenzeichen ohne Leerzeichen eingeben."))
			case n > len(rows):
				s.info.SetText(lang.L("{{.N}} Treffer, die ersten {{.Shown}} werden gezeigt – bitte genauer suchen.", map[string]any{"N": formatCount(n), "Shown": len(rows)}))
			default:
				s.info.SetText(lang.XN("search.hits", "{{.N}} Treffer", n, map[string]any{"N": formatCount(n)}))
			}
			if open && direct != nil {
				s.m.openCase(direct.Ref)
			}
		})
	})
}

func containsRef(rows []app.CaseSummary, ref string) bool {
	for _, r := range rows {
		if r.Ref == ref {
			return true
		}
	}
	return false
}

func summaryOf(c *app.Case) app.CaseSummary {
	return app.CaseSummary{ID: c.ID, Ref: c.Ref, ReceivedAt: c.ReceivedAt, Service: c.Service, ApplicantName: c.Applicant.Name(),
		Municipality: c.Municipality, Office: c.Office, Status: c.Status, Assignee: c.Assignee, Flags: c.Flags, Channel: c.Channel}
}
