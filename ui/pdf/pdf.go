// Package pdf writes the confirmations a citizen takes home or receives by
// post: DIN 5008 form B letters that fit a window envelope, one page run per
// case or appointment, many of them in one PDF for a batch.
//
// It imports no window toolkit (only Fyne's theme for the Noto Sans font,
// which needs neither cgo nor a display), so the headless commands render
// the same documents as the window.
//
//	r := pdf.NewRenderer(reg)
//	b, err := r.Bytes(pdf.Options{Clerk: "M. Müller"}, pdf.CaseItem(c))
package pdf

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/jung-kurt/gofpdf"

	"amtstresen/app"
)

// Kind is a type of document.
type Kind string

const (
	// KindAuto picks the service's own confirmation where there is one
	// (dog tax, pickups), else the receipt.
	KindAuto Kind = ""
	// KindReceipt is the Eingangsbestätigung, for any case.
	KindReceipt Kind = "eingang"
	// KindDogTax confirms a dog-tax registration (hund-anmelden).
	KindDogTax Kind = "hundesteuer"
	// KindPickup confirms a bulky-waste or appliance pickup.
	KindPickup Kind = "abholung"
	// KindAppointment is the Terminbestätigung.
	KindAppointment Kind = "termin"
)

// Kinds lists the kinds a clerk can choose for a case.
var Kinds = []Kind{KindReceipt, KindDogTax, KindPickup}

// Label returns the German name of the document.
func (k Kind) Label() string {
	switch k {
	case KindReceipt:
		return "Eingangsbestätigung"
	case KindDogTax:
		return "Bestätigung der Hundeanmeldung"
	case KindPickup:
		return "Bestätigung der Abholanmeldung"
	case KindAppointment:
		return "Terminbestätigung"
	}
	return "Bestätigung"
}

// ParseKind accepts the codes above ("" and "auto" mean KindAuto).
func ParseKind(s string) (Kind, error) {
	switch k := Kind(strings.ToLower(strings.TrimSpace(s))); k {
	case "auto", KindAuto:
		return KindAuto, nil
	case KindReceipt, KindDogTax, KindPickup, KindAppointment:
		return k, nil
	}
	return "", app.Errorf(app.EINVALID, "Unbekannte Art %q. Möglich sind: auto, eingang, hundesteuer, abholung, termin.", s)
}

// KindFor returns the document a case gets by default.
func KindFor(c *app.Case) Kind {
	switch c.Service {
	case "hund-anmelden":
		return KindDogTax
	case "sperrmuell", "elektrogeraete":
		return KindPickup
	}
	return KindReceipt
}

// Item is one letter of a document: a case, or an appointment (with the
// case it belongs to, if known, for the postal address and reference).
type Item struct {
	Kind        Kind
	Case        *app.Case
	Appointment *app.Appointment
}

// CaseItem is the default confirmation of a case.
func CaseItem(c *app.Case) Item { return Item{Case: c} }

// AppointmentItem is the Terminbestätigung; c may be nil.
func AppointmentItem(a *app.Appointment, c *app.Case) Item {
	return Item{Kind: KindAppointment, Appointment: a, Case: c}
}

// Resolved returns the item's kind with KindAuto decided.
func (it Item) Resolved() Kind {
	switch {
	case it.Appointment != nil:
		return KindAppointment
	case it.Kind != KindAuto:
		return it.Kind
	case it.Case != nil:
		return KindFor(it.Case)
	}
	return KindReceipt
}

// Ref returns the reference the item is filed under: the case reference,
// else the appointment's booking id.
func (it Item) Ref() string {
	switch {
	case it.Case != nil && it.Case.Ref != "":
		return it.Case.Ref
	case it.Appointment != nil:
		return bookingNo(it.Appointment.UID)
	}
	return ""
}

// Options control rendering.
type Options struct {
	// Now is the moment the document is made: the letter's date and the
	// PDF's creation date. Zero means time.Now(); a fixed value gives
	// byte-identical output (tests).
	Now time.Time
	// Clerk is the name printed as Bearbeiter/in; "" uses the case's
	// assignee.
	Clerk string
}

// Renderer makes the documents. It is safe for concurrent use.
type Renderer struct {
	reg *app.Registry
}

// NewRenderer returns a renderer using the registry's offices and catalog.
func NewRenderer(reg *app.Registry) *Renderer {
	loadFonts()
	return &Renderer{reg: reg}
}

// Bytes renders the items into one PDF.
func (r *Renderer) Bytes(o Options, items ...Item) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(40 << 10)
	if err := r.Write(&buf, o, items...); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Write renders the items into one PDF, one page run per item.
func (r *Renderer) Write(w io.Writer, o Options, items ...Item) error {
	if len(items) == 0 {
		return app.Errorf(app.EINVALID, "Es ist nichts ausgewählt, für das eine Bestätigung erstellt werden könnte.")
	}
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	letters := make([]*letter, 0, len(items))
	for i, it := range items {
		l, err := r.letter(it, o, now)
		if err != nil {
			if len(items) > 1 {
				return fmt.Errorf("item %d: %w", i+1, err)
			}
			return err
		}
		letters = append(letters, l)
	}

	f := newDoc()
	f.SetCreationDate(now)
	f.SetModificationDate(now)
	addFonts(f)
	setMeta(f, letters, items)
	for _, l := range letters {
		l.draw(f)
	}
	if err := f.Output(w); err != nil {
		return fmt.Errorf("write pdf: %w", err)
	}
	return nil
}

// newDoc returns an empty A4 document; the letters lay out their pages
// themselves, so automatic page breaks are off.
func newDoc() *gofpdf.Fpdf {
	f := gofpdf.New("P", "mm", "A4", "")
	f.SetCatalogSort(true) // deterministic object order
	f.SetAutoPageBreak(false, 0)
	f.SetMargins(marginL, 10, marginR)
	f.SetCellMargin(0)
	// Page contents stay uncompressed: gofpdf builds a new zlib writer
	// (about 1 MB of tables) for every page, which took more than half
	// the time of a 100-letter batch. The fonts, most of the bytes, are
	// compressed regardless; a letter is about 40 KB, a batch of 100
	// about 1.5 MB.
	f.SetCompression(false)
	return f
}

func setMeta(f *gofpdf.Fpdf, letters []*letter, items []Item) {
	var title, subject string
	offices := map[string]bool{}
	var refs []string
	for i, l := range letters {
		offices[l.office.Name] = true
		if ref := items[i].Ref(); ref != "" {
			refs = append(refs, ref)
		}
	}
	names := make([]string, 0, len(offices))
	for n := range offices {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(letters) == 1 {
		title = letters[0].kind
		if ref := items[0].Ref(); ref != "" {
			title += " " + ref
		}
		subject = letters[0].service
	} else {
		title = fmt.Sprintf("Bestätigungen (%d)", len(letters))
		subject = strings.Join(refs, ", ")
	}
	f.SetTitle(clean(title), true)
	f.SetAuthor(clean(strings.Join(names, ", ")), true)
	f.SetSubject(clean(subject), true)
	f.SetKeywords(strings.Join(refs, " "), true)
	f.SetCreator("Amtstresen", true)
	f.SetProducer("Amtstresen (gofpdf)", true)
}

// FileName suggests a file name for the items: "ZEL-2026-00042_Eingangsbestaetigung.pdf",
// "Bestaetigungen_12.pdf" for a batch. It contains no personal data.
func FileName(items ...Item) string {
	if len(items) == 1 {
		ref := items[0].Ref()
		name := asciiName(items[0].Resolved().Label())
		if ref == "" {
			return name + ".pdf"
		}
		return asciiName(ref) + "_" + name + ".pdf"
	}
	return fmt.Sprintf("Bestaetigungen_%d.pdf", len(items))
}

// asciiName turns a label into a portable file name part.
func asciiName(s string) string {
	r := strings.NewReplacer("ä", "ae", "ö", "oe", "ü", "ue", "Ä", "Ae", "Ö", "Oe", "Ü", "Ue", "ß", "ss", " ", "_")
	s = r.Replace(s)
	var b strings.Builder
	for _, c := range s {
		if c == '-' || c == '_' || c == '.' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') {
			b.WriteRune(c)
		}
	}
	return b.String()
}

var errNoItem = errors.New("item has neither case nor appointment")
