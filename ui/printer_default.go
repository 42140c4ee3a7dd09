package ui

import (
	"context"
	"path/filepath"
	gosync "sync"

	"amtstresen/app"
	"amtstresen/ui/pdf"
	"amtstresen/ui/printing"
)

// pdfPrinter makes the documents with ui/pdf and prints with ui/printing
// (CUPS on Linux, the registered PDF handler on Windows). A failed job is
// saved under the cache folder, and the error names the file.
type pdfPrinter struct {
	reg     *app.Registry
	printer printing.Printer
	once    gosync.Once
	r       *pdf.Renderer
}

var _ Printer = (*pdfPrinter)(nil)

func defaultPrinter(o Options) Printer {
	name := ""
	if o.Config != nil {
		name = o.Config.Print.Printer
	}
	return &pdfPrinter{reg: o.Registry, printer: printing.Printer{Name: name, SaveDir: filepath.Join(o.Paths.CacheDir, "pdf")}}
}

// renderer loads the fonts on first use, not at start.
func (p *pdfPrinter) renderer() *pdf.Renderer {
	p.once.Do(func() { p.r = pdf.NewRenderer(p.reg) })
	return p.r
}

func (p *pdfPrinter) document(it pdf.Item, clerk string) (*Document, error) {
	b, err := p.renderer().Bytes(pdf.Options{Clerk: clerk}, it)
	if err != nil {
		return nil, err
	}
	title := it.Resolved().Label()
	if ref := it.Ref(); ref != "" {
		title = ref + " " + title
	}
	d := &Document{Title: title, FileName: pdf.FileName(it), Data: b, Kind: string(it.Resolved()), Ref: it.Ref()}
	if it.Appointment != nil {
		d.Appointment, d.Ref = true, it.Appointment.UID
	}
	return d, nil
}

func (p *pdfPrinter) CaseDocument(ctx context.Context, c *app.Case, clerk string) (*Document, error) {
	return p.document(pdf.CaseItem(c), clerk)
}

func (p *pdfPrinter) AppointmentDocument(ctx context.Context, a *app.Appointment, c *app.Case, clerk string) (*Document, error) {
	return p.document(pdf.AppointmentItem(a, c), clerk)
}

func (p *pdfPrinter) LetterDocument(ctx context.Context, c *app.Case, m *app.Outgoing, clerk string) (*Document, error) {
	b, err := p.renderer().Message(c, m, pdf.Options{Clerk: clerk})
	if err != nil {
		return nil, err
	}
	return &Document{Title: c.Ref + " Schreiben", FileName: pdf.MessageFileName(c.Ref), Data: b, Kind: "brief", Ref: c.Ref}, nil
}

func (p *pdfPrinter) Print(ctx context.Context, d *Document) (string, error) {
	res, err := p.printer.Print(ctx, printing.Job{Title: d.Title, FileName: d.FileName, Data: d.Data})
	return res.Saved, err
}
