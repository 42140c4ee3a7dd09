package ui

import (
	"context"
	"strings"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"amtstresen/app"
)

// The queue reads the store a page at a time: the table knows only the
// count and the pages around what is on screen, so 100,000 cases cost no
// more than 100.
const (
	queuePage     = 100
	queueMaxPages = 20
)

type queueColumn struct {
	key   string
	title string
	width float32
	sort  string // CaseFilter.Sort key; "" when not sortable
}

// queueColumns fit the 1280 px of the default window up to Dienststelle:
// the notices (Hinweise) come right after the applicant, where they are
// seen; municipality and assignee follow.
func queueColumns() []queueColumn {
	return []queueColumn{
		{"ref", lang.L("Aktenzeichen"), 128, "ref"},
		{"received", lang.L("Eingang"), 132, "received"},
		{"service", lang.L("Leistung"), 170, "service"},
		{"applicant", lang.L("Antragsteller"), 150, "applicant"},
		{"flags", lang.L("Hinweise"), 135, ""},
		{"status", lang.L("Status"), 135, "status"},
		{"office", lang.L("Dienststelle"), 120, ""},
		{"municipality", lang.L("Gemeinde"), 120, ""},
		{"assignee", lang.L("Bearbeitung"), 100, ""},
	}
}

// openStatuses is the default status filter.
var openStatuses = []app.Status{app.StatusReceived, app.StatusInProgress, app.StatusWaiting}

// queueScreen is the Arbeitsvorrat: a virtual table over the store with
// filters, sorting and search as you type.
type queueScreen struct {
	m    *mainWindow
	cols []queueColumn

	filter   app.CaseFilter
	gen      int // bumped on every new filter; late results of old ones are dropped
	count    int
	pages    map[int][]app.CaseSummary
	loading  map[int]bool
	cancel   context.CancelFunc
	counted  bool          // count is known (else the length of the first page)
	lastDur  time.Duration // query start until the table showed the first rows
	countDur time.Duration // query start until the count was shown
	sem      chan struct{} // limits concurrent store reads
	wanted   atomic.Int64  // the page the table asked for last
	quiet    bool          // while setting widgets from a filter

	// The filter's reads (cancelled by the next reload), whether its first
	// page is still being read, and the live updates (update).
	ctx      context.Context
	reading  bool
	countSeq int // of the last count asked for; an older answer is dropped
	updating bool
	rereads  int             // pages read whole (a test tells patches from re-reads)
	deferred []app.FeedEvent // announced while an update was under way

	table      *keyTable
	search     *fieldEntry
	office     *widget.Select
	status     *widget.Select
	service    *widget.Select
	flag       *widget.Select
	mine       *widget.Check
	unassigned *widget.Check
	info       *widget.Label
	empty      *widget.Label
	debounce   *debouncer
}

func newQueueScreen(m *mainWindow) *queueScreen {
	return &queueScreen{m: m, pages: map[int][]app.CaseSummary{}, loading: map[int]bool{}, sem: make(chan struct{}, 2),
		debounce: newDebouncer(m.bg, 200*time.Millisecond)}
}

func (q *queueScreen) buildUI() fyne.CanvasObject {
	q.cols = queueColumns()
	reg := q.m.reg

	q.search = q.m.textEntry(lang.L("Suchen: Name, Aktenzeichen, Angaben … (Strg+F; ↓ in die Liste)"))
	q.search.onChanged = func(string) {
		q.debounce.call(func() { q.m.ui(q.onSearchNow) })
	}
	q.search.OnSubmitted = func(string) { q.onSearchNow() }
	// Down goes into the rows: arrows move, Enter opens, Esc comes back.
	q.search.onDown = func() { q.m.w.Canvas().Focus(q.table) }

	offices := []string{lang.L("Alle Dienststellen")}
	for _, o := range reg.Offices {
		offices = append(offices, officeShort(reg, o.Key))
	}
	offices = append(offices, lang.L("nicht zugeordnet"))
	q.office = widget.NewSelect(offices, func(string) { q.onFilterChanged() })

	statuses := []string{lang.L("Offen"), lang.L("Alle Status")}
	for _, s := range app.AllStatuses {
		statuses = append(statuses, statusLabel(s))
	}
	q.status = widget.NewSelect(statuses, func(string) { q.onFilterChanged() })

	services := []string{lang.L("Alle Leistungen")}
	for _, s := range reg.Catalog.Services {
		services = append(services, s.Name)
	}
	q.service = widget.NewSelect(services, func(string) { q.onFilterChanged() })

	flags := []string{lang.L("Alle Hinweise"), lang.L("Mit Hinweis")}
	for _, f := range app.AllFlags {
		flags = append(flags, flagLabel(f))
	}
	q.flag = widget.NewSelect(flags, func(string) { q.onFilterChanged() })

	q.mine = widget.NewCheck(lang.L("Nur meine"), func(bool) { q.onFilterChanged() })
	q.unassigned = widget.NewCheck(lang.L("Nicht übernommen"), func(bool) { q.onFilterChanged() })
	q.info = widget.NewLabel("")

	q.table = newKeyTable(q.m,
		func() (int, int) { return q.count, len(q.cols) },
		func() fyne.CanvasObject {
			l := widget.NewLabel("")
			l.Truncation = fyne.TextTruncateEllipsis
			return l
		},
		q.updateCell,
	)
	q.table.up = q.search
	q.table.ShowHeaderColumn = false
	q.table.CreateHeader = func() fyne.CanvasObject {
		b := widget.NewButton("", nil)
		b.Importance = widget.LowImportance
		b.Alignment = widget.ButtonAlignLeading
		return b
	}
	q.table.UpdateHeader = q.updateHeader
	for i, c := range q.cols {
		q.table.SetColumnWidth(i, c.width)
	}
	q.table.OnSelected = q.onSelected

	q.empty = widget.NewLabel(lang.L("Keine Vorgänge für diese Auswahl."))
	q.empty.Alignment = fyne.TextAlignCenter
	q.empty.Hide()

	reset := widget.NewButtonWithIcon(lang.L("Zurücksetzen"), theme.ContentClearIcon(), q.resetFilter)
	reset.Importance = widget.LowImportance
	h := q.office.MinSize().Height
	sized := func(w float32, o fyne.CanvasObject) fyne.CanvasObject {
		return container.NewGridWrap(fyne.NewSize(w, h), o)
	}
	filters := container.NewHBox(sized(150, q.office), sized(150, q.status), sized(230, q.service), sized(170, q.flag), q.mine, q.unassigned, reset)
	top := container.NewVBox(
		container.NewBorder(nil, nil, nil, q.info, q.search),
		container.NewHScroll(filters),
	)
	return container.NewBorder(top, nil, nil, nil, container.NewStack(q.table, container.NewCenter(q.empty)))
}

// resetFilter shows the clerk's office, open cases, newest first.
func (q *queueScreen) resetFilter() {
	f := app.CaseFilter{Statuses: openStatuses}
	if o := q.m.office(); o != "" {
		f.Offices = []app.OfficeKey{o}
	}
	q.setFilter(f)
}

// setFilter shows f in the widgets and loads it.
func (q *queueScreen) setFilter(f app.CaseFilter) {
	q.quiet = true
	q.search.SetText(f.Query)
	switch {
	case len(f.Offices) == 1 && f.Offices[0] == "":
		q.office.SetSelectedIndex(len(q.office.Options) - 1)
	case len(f.Offices) == 1:
		q.office.SetSelectedIndex(0)
		for i, o := range q.m.reg.Offices {
			if o.Key == f.Offices[0] {
				q.office.SetSelectedIndex(i + 1)
			}
		}
	default:
		q.office.SetSelectedIndex(0)
	}
	switch {
	case len(f.Statuses) == 0:
		q.status.SetSelectedIndex(1)
	case len(f.Statuses) == 1:
		for i, s := range app.AllStatuses {
			if s == f.Statuses[0] {
				q.status.SetSelectedIndex(i + 2)
			}
		}
	default:
		q.status.SetSelectedIndex(0)
	}
	q.service.SetSelectedIndex(0)
	for i, s := range q.m.reg.Catalog.Services {
		if s.Key == f.Service {
			q.service.SetSelectedIndex(i + 1)
		}
	}
	q.flag.SetSelectedIndex(0)
	if f.Flagged {
		q.flag.SetSelectedIndex(1)
	}
	for i, fl := range app.AllFlags {
		if fl == f.Flag {
			q.flag.SetSelectedIndex(i + 2)
		}
	}
	q.mine.SetChecked(f.Assignee != "" && f.Assignee == q.m.clerkSign())
	q.unassigned.SetChecked(f.Unassigned)
	q.quiet = false
	f.Limit, f.Offset = 0, 0
	q.filter = f
	q.reload()
}

// readFilter builds the filter from the widgets (the sort is kept).
func (q *queueScreen) readFilter() app.CaseFilter {
	f := app.CaseFilter{Sort: q.filter.Sort, Query: strings.TrimSpace(q.search.Text)}
	switch i := q.office.SelectedIndex(); {
	case i == len(q.office.Options)-1:
		f.Offices = []app.OfficeKey{""}
	case i > 0:
		f.Offices = []app.OfficeKey{q.m.reg.Offices[i-1].Key}
	}
	switch i := q.status.SelectedIndex(); {
	case i <= 0:
		f.Statuses = openStatuses
	case i >= 2:
		f.Statuses = []app.Status{app.AllStatuses[i-2]}
	}
	if i := q.service.SelectedIndex(); i > 0 {
		f.Service = q.m.reg.Catalog.Services[i-1].Key
	}
	switch i := q.flag.SelectedIndex(); {
	case i == 1:
		f.Flagged = true
	case i >= 2:
		f.Flag = app.AllFlags[i-2]
	}
	if q.mine.Checked {
		f.Assignee = q.m.clerkSign()
	}
	f.Unassigned = q.unassigned.Checked
	return f
}

func (q *queueScreen) onFilterChanged() {
	if q.quiet || q.table == nil {
		return
	}
	q.filter = q.readFilter()
	q.reload()
}

// onSearchNow runs the search for what is typed (after the typing pause,
// or at once on Enter).
func (q *queueScreen) onSearchNow() {
	if strings.TrimSpace(q.search.Text) == q.filter.Query {
		return
	}
	q.onFilterChanged()
}

// reload reads the first page and counts the cases of the filter, in
// parallel and in the background: the rows show as soon as they are there
// (the count, which takes longer on a cold cache, follows). The table
// keeps showing the old rows until the new arrive.
func (q *queueScreen) reload() {
	q.gen++
	gen, f := q.gen, q.filter
	if q.cancel != nil {
		q.cancel()
	}
	ctx, cancel := context.WithCancel(q.m.ctx)
	q.cancel, q.ctx = cancel, ctx
	start := time.Now()
	q.counted, q.reading = false, true
	q.rereads++
	q.m.bg.run(func() {
		pf := f
		pf.Limit, pf.Offset = queuePage, 0
		var rows []app.CaseSummary
		err := q.read(ctx, func() (err error) {
			rows, err = q.m.store.ListCases(ctx, pf)
			return err
		})
		q.m.ui(func() {
			if gen != q.gen {
				return
			}
			q.reading = false
			if err != nil {
				q.fail(ctx, err)
				return
			}
			q.pages = map[int][]app.CaseSummary{0: rows}
			q.loading = map[int]bool{}
			if !q.counted {
				q.count = len(rows) // until the count comes
			}
			q.table.Refresh()
			q.showCount()
			q.lastDur = time.Since(start)
		})
	})
	q.recount(start)
}

func (q *queueScreen) fail(ctx context.Context, err error) {
	if ctx.Err() == nil {
		q.info.SetText(app.ErrorMessage(err))
		q.m.log.Error("list cases", "err", err)
	}
}

// recount counts the cases of the filter in the background.
func (q *queueScreen) recount(start time.Time) {
	q.countSeq++
	gen, seq, f, ctx := q.gen, q.countSeq, q.filter, q.ctx
	q.m.bg.run(func() {
		var n int
		err := q.read(ctx, func() (err error) {
			n, err = q.m.store.CountCases(ctx, f)
			return err
		})
		q.m.ui(func() {
			if gen != q.gen || seq != q.countSeq {
				return
			}
			if err != nil {
				q.fail(ctx, err)
				return
			}
			q.count, q.counted = n, true
			q.table.Refresh()
			q.showCount()
			q.countDur = time.Since(start)
		})
	})
}

// update brings the queue up to date after announced changes of cases
// (app.PlanPageUpdate): the announced cases are read through the filter
// and patched into the first page, and the cases are counted again only
// when one entered or left the filter. What cannot be patched is re-read.
// Other pages are forgotten, as by a re-read, and read again when shown.
func (q *queueScreen) update(evs []app.FeedEvent) {
	if q.updating {
		q.deferred = append(q.deferred, evs...)
		return
	}
	f := q.filter
	f.Limit, f.Offset = queuePage, 0
	u := app.PlanPageUpdate(f, evs)
	if _, have := q.pages[0]; u.Reread || !have || q.reading {
		q.reload()
		return
	}
	if len(u.IDs) == 0 {
		return
	}
	q.updating = true
	gen, ctx, start := q.gen, q.ctx, time.Now()
	q.m.bg.run(func() {
		g := f
		g.IDs, g.Limit = u.IDs, len(u.IDs)
		var fresh []app.CaseSummary
		err := q.read(ctx, func() (err error) {
			fresh, err = q.m.store.ListCases(ctx, g)
			return err
		})
		q.m.ui(func() {
			q.updating = false
			if d := q.deferred; len(d) > 0 {
				q.deferred = nil
				defer q.update(d)
			}
			if gen != q.gen {
				return // re-read meanwhile
			}
			page, ok := []app.CaseSummary(nil), false
			if err == nil {
				page, ok = app.PatchPage(f, q.pages[0], u.IDs, fresh)
			}
			if !ok {
				q.reload() // also shows what went wrong
				return
			}
			q.pages = map[int][]app.CaseSummary{0: page}
			q.loading = map[int]bool{}
			if !q.counted {
				q.count = len(page)
			}
			q.table.Refresh()
			q.lastDur = time.Since(start)
			if u.Recount {
				q.recount(start)
			}
		})
	})
}

// read runs a store query with at most two at a time: every concurrent
// query holds a database connection with its own page cache.
func (q *queueScreen) read(ctx context.Context, fn func() error) error {
	select {
	case q.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-q.sem }()
	return fn()
}

func (q *queueScreen) showCount() {
	if q.counted && q.count == 0 {
		q.empty.Show()
	} else {
		q.empty.Hide()
	}
	if q.counted {
		q.info.SetText(lang.XN("queue.count", "{{.N}} Vorgänge", q.count, map[string]any{"N": formatCount(q.count)}))
	} else {
		q.info.SetText(lang.L("wird gezählt …"))
	}
}

// row returns the summary of a table row, loading its page when missing.
func (q *queueScreen) row(i int) *app.CaseSummary {
	p := i / queuePage
	q.wanted.Store(int64(p))
	rows, ok := q.pages[p]
	if !ok {
		q.fetch(p)
		return nil
	}
	if j := i % queuePage; j < len(rows) {
		return &rows[j]
	}
	return nil
}

// fetch reads a page in the background. A page the clerk has scrolled far
// past by the time its turn comes is not read.
func (q *queueScreen) fetch(p int) {
	if q.loading[p] {
		return
	}
	q.loading[p] = true
	gen, f, ctx := q.gen, q.filter, q.m.ctx
	f.Limit, f.Offset = queuePage, p*queuePage
	q.m.bg.run(func() {
		var rows []app.CaseSummary
		skipped := false
		err := q.read(ctx, func() (err error) {
			if w := q.wanted.Load(); abs(int(w)-p) > 3 {
				skipped = true
				return nil
			}
			rows, err = q.m.store.ListCases(ctx, f)
			return err
		})
		q.m.ui(func() {
			if gen != q.gen {
				return
			}
			delete(q.loading, p)
			if skipped {
				return // asked for again when it is on screen again
			}
			if err != nil {
				q.info.SetText(app.ErrorMessage(err))
				return
			}
			q.pages[p] = rows
			for len(q.pages) > queueMaxPages { // forget the page farthest away
				far, dist := -1, -1
				for k := range q.pages {
					if d := abs(k - p); d > dist {
						far, dist = k, d
					}
				}
				delete(q.pages, far)
			}
			q.table.Refresh()
		})
	})
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func (q *queueScreen) updateCell(id widget.TableCellID, o fyne.CanvasObject) {
	l := o.(*widget.Label)
	r := q.row(id.Row)
	imp := widget.MediumImportance
	text := ""
	if r == nil {
		text = "…"
	} else {
		reg := q.m.reg
		switch q.cols[id.Col].key {
		case "ref":
			text = r.Ref
		case "received":
			text = r.ReceivedAt.In(app.Berlin).Format("02.01.2006 15:04")
		case "service":
			text = serviceName(reg, r.Service)
		case "applicant":
			text = app.Safe(r.ApplicantName)
		case "municipality":
			text = municipalityName(reg, r.Municipality)
		case "office":
			text = officeShort(reg, r.Office)
			if r.Office == "" {
				imp = widget.WarningImportance
			}
		case "status":
			text = statusLabel(r.Status)
			if r.Status == app.StatusReceived {
				imp = widget.HighImportance
			}
			if s, ok := q.m.pendingStatus(r.Ref); ok {
				text, imp = lang.L("{{.Status}} · wartet auf Server", map[string]any{"Status": statusLabel(s)}), widget.WarningImportance
			}
		case "assignee":
			text = r.Assignee
			if a := q.m.pendingAssignee(r.Ref); a != "" {
				text = a
			}
		case "flags":
			text = flagsLabel(r.Flags)
			if len(r.Flags) > 0 {
				imp = widget.WarningImportance
			}
		}
	}
	if l.Text != text || l.Importance != imp {
		l.Importance = imp
		l.Text = text
		l.Refresh()
	}
}

func (q *queueScreen) updateHeader(id widget.TableCellID, o fyne.CanvasObject) {
	b := o.(*widget.Button)
	if id.Col < 0 || id.Col >= len(q.cols) {
		b.SetText("")
		b.OnTapped = nil
		return
	}
	c := q.cols[id.Col]
	text := c.title
	if c.sort != "" {
		cur := q.filter.Sort
		if cur == "" {
			cur = "received"
		}
		switch cur {
		case c.sort:
			text += " ↓"
		case "+" + c.sort:
			text += " ↑"
		}
		b.OnTapped = func() { q.onSort(c.sort) }
	} else {
		b.OnTapped = nil
	}
	b.SetText(text)
}

// onSort sorts by a column; a second click turns the order round. Dates
// start newest first, texts from A.
func (q *queueScreen) onSort(key string) {
	cur := q.filter.Sort
	if cur == "" {
		cur = "received"
	}
	switch {
	case cur == key:
		q.filter.Sort = "+" + key
	case cur == "+"+key:
		q.filter.Sort = key
	case key == "received":
		q.filter.Sort = key
	default:
		q.filter.Sort = "+" + key
	}
	q.table.Refresh()
	q.reload()
}

func (q *queueScreen) onSelected(id widget.TableCellID) {
	r := q.row(id.Row)
	q.table.UnselectAll()
	if r != nil {
		q.m.openCase(r.Ref)
	}
}

// scrollTo shows a row (for the benchmark tool).
func (q *queueScreen) scrollTo(row int) {
	q.table.ScrollTo(widget.TableCellID{Row: row, Col: 0})
	q.table.Refresh()
}
