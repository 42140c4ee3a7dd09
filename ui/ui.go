// Package ui holds the Fyne screens. It talks to the app interfaces only.
package ui

import (
	"context"
	"fmt"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"amtstresen/app"
)

// AppID is the Fyne application ID (also in FyneApp.toml).
const AppID = "de.cochem-zell.amtstresen"

// Options is what the window needs.
type Options struct {
	Store    app.Store
	Registry *app.Registry
	Config   *app.Config
	Paths    app.Paths
	DBPath   string
	Version  string
}

// Run opens the main window and blocks until it is closed.
func Run(ctx context.Context, o Options) error {
	a := fyneapp.NewWithID(AppID)
	w := a.NewWindow("Amtstresen")
	q := newQueue(ctx, o)
	w.SetContent(q.buildUI())
	w.Resize(fyne.NewSize(1100, 700))
	go func() {
		<-ctx.Done()
		fyne.Do(a.Quit)
	}()
	w.ShowAndRun()
	return nil
}

// queue is the Arbeitsvorrat: a table of cases read from the store.
type queue struct {
	ctx   context.Context
	o     Options
	rows  []app.CaseSummary
	table *widget.Table
	info  *widget.Label
}

func newQueue(ctx context.Context, o Options) *queue { return &queue{ctx: ctx, o: o} }

var queueColumns = []string{"Aktenzeichen", "Eingang", "Leistung", "Antragsteller", "Dienststelle", "Status"}

func (q *queue) buildUI() fyne.CanvasObject {
	q.info = widget.NewLabel("")
	q.table = widget.NewTableWithHeaders(
		func() (int, int) { return len(q.rows), len(queueColumns) },
		func() fyne.CanvasObject { return widget.NewLabel("Verbandsgemeindeverwaltung") },
		func(id widget.TableCellID, o fyne.CanvasObject) { o.(*widget.Label).SetText(q.cell(id)) },
	)
	q.table.CreateHeader = func() fyne.CanvasObject { return widget.NewLabel("") }
	q.table.UpdateHeader = func(id widget.TableCellID, o fyne.CanvasObject) {
		if id.Row < 0 && id.Col >= 0 {
			o.(*widget.Label).SetText(queueColumns[id.Col])
		} else {
			o.(*widget.Label).SetText("")
		}
	}
	for i, w := range []float32{150, 130, 260, 200, 220, 130} {
		q.table.SetColumnWidth(i, w)
	}
	q.reload()
	return container.NewBorder(q.info, nil, nil, nil, q.table)
}

func (q *queue) reload() {
	rows, err := q.o.Store.ListCases(q.ctx, app.CaseFilter{Limit: 500})
	if err != nil {
		q.info.SetText(app.ErrorMessage(err))
		return
	}
	n, _ := q.o.Store.CountCases(q.ctx, app.CaseFilter{})
	q.rows = rows
	q.info.SetText(fmt.Sprintf("Arbeitsvorrat: %d Vorgänge (%s)", n, q.o.DBPath))
	q.table.Refresh()
}

func (q *queue) cell(id widget.TableCellID) string {
	r := q.rows[id.Row]
	switch id.Col {
	case 0:
		return r.Ref
	case 1:
		return app.FormatDateTime(r.ReceivedAt)
	case 2:
		if s := q.o.Registry.Catalog.Service(r.Service); s != nil {
			return s.Name
		}
		return r.Service
	case 3:
		return r.ApplicantName
	case 4:
		if o := q.o.Registry.Office(r.Office); o != nil {
			return o.Short()
		}
		return "nicht zugeordnet"
	case 5:
		return r.Status.Label()
	}
	return ""
}
