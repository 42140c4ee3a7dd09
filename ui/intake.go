package ui

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"amtstresen/app"
)

// intakeScreen is the Schalter: a walk-in application typed in from the
// keyboard. The service is picked by typing; postcode and place complete
// from the municipalities and set the AGS; every field is checked as it
// is typed (by app.Registry.Intake, the same rules as for the portal); the
// responsible office and its reason are shown before saving. Enter (or
// Strg+S) saves the case and prints the receipt in one step.
type intakeScreen struct {
	m       *mainWindow
	key     string // idempotency key of this form; new after each save
	it      *app.Intake
	touched map[string]bool
	showAll bool
	saving  bool
	service *app.Service
	ags     string // the applicant's municipality as picked from the list

	fromReview *app.ReviewItem // set when a kept mail becomes a case
	reviewNote string
	mailCard   *widget.Card  // the kept mail beside the form while the clerk types
	mailText   *widget.Label // its text

	svc        *fieldEntry
	salutation *fieldEntry
	first      *fieldEntry
	last       *fieldEntry
	birth      *fieldEntry
	street     *fieldEntry
	house      *fieldEntry
	postcode   *fieldEntry
	place      *fieldEntry
	email      *fieldEntry
	phone      *fieldEntry
	muni       *widget.Label
	errs       map[string]*widget.Label
	targets    map[string]fyne.Focusable // path → widget to focus on error

	fields   []*serviceField
	fieldBox *fyne.Container
	scroll   *container.Scroll
	svcTitle *widget.Label

	banner   *fyne.Container
	bannerL  *widget.Label
	office   *widget.Label
	reason   *widget.Label
	docs     *fyne.Container // what to bring, with ticks for what was shown
	shown    []presentedDoc
	summary  *widget.Label
	saveBtn  *keyButton
	lastSave *widget.Label
	// offlineBtn lists the applications this PC keeps (Options.Offline).
	offlineBtn *widget.Button
	// fromOffline is the key of a refused application copied back into
	// the form ("In Formular übernehmen"): deleted from the outbox once
	// the form is saved.
	fromOffline string
	content     fyne.CanvasObject // built once: kept with its input when the window is rebuilt (away.go)
	// fromMail is the form as a kept mail filled it (setReview): cancelling
	// asks only when the clerk changed something since.
	fromMail   formState
	cancelMail *keyButton
}

// formState is what the form holds, to tell whether it changed.
type formState struct {
	in    app.IntakeInput
	shown []app.PresentedDocument
}

func (s *intakeScreen) state() formState { return formState{s.input(), s.presented()} }

func newIntakeScreen(m *mainWindow) *intakeScreen {
	return &intakeScreen{m: m, key: newKey(), touched: map[string]bool{}, errs: map[string]*widget.Label{}, targets: map[string]fyne.Focusable{}}
}

// newKey returns a random idempotency key for one counter form.
func newKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "schalter-" + hex.EncodeToString(b)
}

// ui is the screen's content, built on first use.
func (s *intakeScreen) ui() fyne.CanvasObject {
	if s.content == nil {
		s.content = s.buildUI()
	}
	return s.content
}

func (s *intakeScreen) buildUI() fyne.CanvasObject {
	reg := s.m.reg
	s.svc = s.entry(app.PathService, lang.L("Leistung eintippen, z. B. „Hund“ oder „Sperrmüll“"))
	s.svc.suggest = func(text string) []suggestion {
		n := app.NormalizePlace(text)
		var out []suggestion
		for _, svc := range reg.Catalog.Services {
			if svc.AppointmentOnly {
				continue
			}
			if n == "" || strings.Contains(app.NormalizePlace(svc.Name), n) || strings.Contains(svc.Key, n) {
				out = append(out, suggestion{Text: svc.Name, Value: svc})
			}
		}
		return out
	}
	s.svc.onPick = func(sg suggestion) { s.setService(sg.Value.(*app.Service), true) }
	s.svc.showOnFocus = true
	s.svc.onChanged = func(text string) {
		if s.service != nil && text != s.service.Name {
			s.setService(nil, false)
		}
		s.touched[app.PathService] = true
		s.recompute()
	}

	s.salutation = s.entry("", lang.L("Frau / Herr"))
	s.salutation.suggest = func(text string) []suggestion {
		var out []suggestion
		for _, o := range []string{"Frau", "Herr"} {
			if text != o && strings.HasPrefix(strings.ToLower(o), strings.ToLower(text)) {
				out = append(out, suggestion{Text: o, Value: o})
			}
		}
		return out
	}
	s.salutation.onPick = func(sg suggestion) { s.salutation.setTextQuiet(sg.Value.(string)) }
	s.first = s.entry(app.PathFirstName, "")
	s.last = s.entry(app.PathLastName, "")
	s.birth = s.entry(app.PathBirthDate, lang.L("TT.MM.JJJJ"))
	s.street = s.entry(app.PathStreet, "")
	s.house = s.entry(app.PathHouseNumber, lang.L("Nr."))
	s.postcode = s.entry(app.PathPostcode, lang.L("PLZ"))
	s.place = s.entry(app.PathPlace, lang.L("Ort"))
	s.email = s.entry(app.PathEmail, lang.L("name@example.org"))
	s.phone = s.entry("", "")
	s.placeCompletion(s.postcode, s.place, func(m *app.Municipality) { s.ags = m.AGS })
	s.muni = widget.NewLabel("")
	s.muni.Wrapping = fyne.TextWrapWord

	addr := container.NewBorder(nil, nil, nil, container.NewGridWrap(fyne.NewSize(90, s.house.MinSize().Height), s.house), s.street)
	plzOrt := container.NewVBox(
		postcodePlace(s.postcode, s.place),
		s.postcode.list, s.place.list)
	applicant := formGrid(
		fieldLabel(lang.L("Anrede")), s.salutation.withList(),
		fieldLabel(lang.L("Vorname")+" *"), s.withError(app.PathFirstName, s.first),
		fieldLabel(lang.L("Nachname")+" *"), s.withError(app.PathLastName, s.last),
		fieldLabel(lang.L("Geburtsdatum")), s.withError(app.PathBirthDate, s.birth),
		fieldLabel(lang.L("Straße, Nr.")+" *"), s.withErrors([]string{app.PathStreet, app.PathHouseNumber}, addr),
		fieldLabel(lang.L("PLZ, Ort")+" *"), s.withErrors([]string{app.PathPostcode, app.PathPlace}, plzOrt),
		fieldLabel(lang.L("Gemeinde")), s.muni,
		fieldLabel(lang.L("E-Mail")), s.withError(app.PathEmail, s.email),
		fieldLabel(lang.L("Telefon")), s.phone,
	)
	s.targets[app.PathService] = s.svc
	s.targets[app.PathHouseNumber] = s.house

	s.svcTitle = heading(lang.L("Angaben zur Leistung"))
	s.fieldBox = container.NewVBox(widget.NewLabel(lang.L("Nach der Wahl der Leistung erscheinen hier ihre Angaben.")))

	s.bannerL = widget.NewLabel("")
	s.bannerL.Wrapping = fyne.TextWrapWord
	s.bannerL.Importance = widget.HighImportance
	// Cancel leaves the mail on the list and empties the form: what was
	// taken from it must not stay for the next citizen.
	s.cancelMail = newKeyButton(s.m, lang.L("Abbrechen"), theme.CancelIcon(), s.onCancelMail)
	s.banner = container.NewBorder(nil, nil, nil, s.cancelMail, s.bannerL)
	s.banner.Hide()
	s.mailText = valueLabel("")
	s.mailCard = widget.NewCard(lang.L("Mail aus der Sichtung"), "", s.mailText)
	s.mailCard.Hide()

	form := container.NewVBox(
		s.banner,
		heading(lang.L("Leistung")+" *"), s.withError(app.PathService, s.svc.withList()),
		widget.NewSeparator(),
		heading(lang.L("Antragsteller")), applicant,
		widget.NewSeparator(),
		s.svcTitle, s.fieldBox,
	)

	// The panel on the right: who is responsible and why, what to bring, save.
	s.office = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	s.office.Wrapping = fyne.TextWrapWord
	s.reason = widget.NewLabel("")
	s.reason.Wrapping = fyne.TextWrapWord
	s.docs = container.NewVBox()
	s.summary = widget.NewLabel("")
	s.summary.Wrapping = fyne.TextWrapWord
	s.summary.Importance = widget.DangerImportance
	s.saveBtn = newKeyButton(s.m, lang.L("Speichern und Quittung drucken (Enter)"), theme.DocumentPrintIcon(), s.onSave)
	s.saveBtn.Importance = widget.HighImportance
	newBtn := newKeyButton(s.m, lang.L("Neu (Strg+N)"), theme.ContentClearIcon(), func() { s.m.guard(s.onNew) })
	s.lastSave = widget.NewLabel("")
	s.lastSave.Wrapping = fyne.TextWrapWord
	panel := container.NewVBox(
		widget.NewCard(lang.L("Zuständig"), "", container.NewVBox(s.office, s.reason)),
		widget.NewCard(lang.L("Unterlagen"), lang.L("Vorgelegt? Ankreuzen, was der Bürger gezeigt hat; die Quittung nennt es."), s.docs),
		s.summary,
		s.saveBtn, newBtn,
		s.lastSave,
		s.buildOfflineButton(),
		s.mailCard,
	)
	s.recompute()
	s.scroll = container.NewVScroll(container.NewPadded(form))
	split := container.NewHSplit(s.scroll, container.NewVScroll(panel))
	split.Offset = 0.64
	return split
}

// entry makes a form entry whose change re-checks the form; Enter saves.
func (s *intakeScreen) entry(path, placeholder string) *fieldEntry {
	e := newFieldEntry(placeholder)
	e.onChanged = func(string) {
		if path != "" {
			s.touched[path] = true
		}
		s.recompute()
	}
	e.onFocusLost = func() {
		if path != "" && !s.touched[path] {
			s.touched[path] = true
			s.recompute()
		}
	}
	e.OnSubmitted = func(string) { s.onSave() }
	e.keys = s.m.routeKey
	e.onFocus = func() { s.scrollTo(e) }
	if path != "" {
		s.targets[path] = e
	}
	return e
}

// scrollTo shows the field that got the focus (Tab does not scroll by
// itself).
func (s *intakeScreen) scrollTo(o fyne.CanvasObject) {
	if s.scroll != nil {
		scrollIntoView(s.scroll, o)
	}
}

func (s *intakeScreen) withError(path string, obj fyne.CanvasObject) fyne.CanvasObject {
	return s.withErrors([]string{path}, obj)
}

func (s *intakeScreen) withErrors(paths []string, obj fyne.CanvasObject) fyne.CanvasObject {
	box := container.NewVBox(obj)
	for _, p := range paths {
		l := newErrorLabel()
		s.errs[p] = l
		box.Add(l)
	}
	return box
}

// placeCompletion wires a postcode and a place entry to the municipality
// list: typing either offers the matching Ortsgemeinden; taking one fills
// both (and, through picked, the AGS).
func (s *intakeScreen) placeCompletion(plz, ort *fieldEntry, picked func(*app.Municipality)) {
	reg := s.m.reg
	label := func(m *app.Municipality) string {
		return fmt.Sprintf("%s %s · %s", strings.Join(m.Postcodes, "/"), m.Name, officeShort(reg, m.Office))
	}
	plz.suggest = func(text string) []suggestion {
		text = strings.TrimSpace(text)
		if text == "" || strings.Trim(text, "0123456789") != "" {
			return nil
		}
		ms := reg.Suggest(text, 0)
		first := func(m *app.Municipality) string { // the postcode that matched
			for _, pc := range m.Postcodes {
				if strings.HasPrefix(pc, text) {
					return pc
				}
			}
			return m.Postcodes[0]
		}
		sort.SliceStable(ms, func(i, j int) bool { return first(ms[i]) < first(ms[j]) })
		var out []suggestion
		for _, m := range ms {
			out = append(out, suggestion{Text: label(m), Value: m})
		}
		return out
	}
	ort.suggest = func(text string) []suggestion {
		text = strings.TrimSpace(text)
		if text == "" {
			return nil
		}
		p := strings.TrimSpace(plz.Text)
		n := app.NormalizePlace(text)
		var out []suggestion
		for _, m := range reg.Suggest(text, 0) {
			if !strings.HasPrefix(app.NormalizePlace(m.Name), n) {
				continue // a postcode prefix matched, not the name
			}
			if len(p) == 5 && !m.HasPostcode(p) {
				continue
			}
			if m.Name == text && len(reg.MatchPlace(text)) == 1 {
				return nil // already complete
			}
			out = append(out, suggestion{Text: label(m), Value: m})
		}
		return out
	}
	take := func(sg suggestion) {
		m := sg.Value.(*app.Municipality)
		p := strings.TrimSpace(plz.Text)
		if !m.HasPostcode(p) {
			p = m.Postcodes[0]
			for _, pc := range m.Postcodes {
				if strings.HasPrefix(pc, strings.TrimSpace(plz.Text)) {
					p = pc
					break
				}
			}
		}
		picked(m)
		plz.setTextQuiet(p)
		ort.setTextQuiet(m.Name)
		s.recompute()
	}
	plz.onPick = take
	ort.onPick = take
}

// setService shows the form of a service (nil: none).
func (s *intakeScreen) setService(svc *app.Service, focus bool) {
	if svc == s.service {
		return
	}
	s.service = svc
	if svc != nil {
		s.svc.setTextQuiet(svc.Name)
	}
	s.buildFields()
	s.recompute()
	if focus && svc != nil {
		s.m.w.Canvas().Focus(s.salutation)
	}
}

// serviceField is the input of one catalog field.
type serviceField struct {
	spec  *app.FieldSpec
	entry *fieldEntry
	check *keyCheck
	addr  []*fieldEntry // strasse, hausnummer, plz, ort
	ags   string        // address: the picked municipality
	same  *keyCheck     // address: as the applicant's
	// items with a fixed list of kinds (appliances): a count per kind,
	// named in German, and what the "sonstiges" is.
	counts []*fieldEntry
	other  *fieldEntry
}

func (f *serviceField) values(into map[string]string) {
	switch {
	case f.check != nil:
		into[f.spec.Path] = map[bool]string{true: "ja", false: "nein"}[f.check.Checked]
	case f.addr != nil:
		for i, k := range []string{"strasse", "hausnummer", "plz", "ort"} {
			into[f.spec.Path+"."+k] = f.addr[i].Text
		}
		into[f.spec.Path+".gemeindeschluessel"] = f.ags
	case f.counts != nil:
		var lines []string
		for i, e := range f.counts {
			n := strings.TrimSpace(e.Text)
			if n == "" || n == "0" {
				continue
			}
			line := n + " " + f.spec.Options[i]
			if f.spec.Options[i] == "sonstiges" && f.other != nil && strings.TrimSpace(f.other.Text) != "" {
				line += ": " + strings.TrimSpace(f.other.Text)
			}
			lines = append(lines, line)
		}
		into[f.spec.Path] = strings.Join(lines, "\n")
	default:
		into[f.spec.Path] = f.entry.Text
	}
}

func (f *serviceField) focusable() fyne.Focusable {
	switch {
	case f.check != nil:
		return f.check
	case f.addr != nil:
		return f.addr[0]
	case f.counts != nil:
		return f.counts[0]
	}
	return f.entry
}

func (s *intakeScreen) buildFields() {
	reg := s.m.reg
	for _, f := range s.fields {
		delete(s.errs, f.spec.Path)
		delete(s.targets, f.spec.Path)
	}
	s.fields = nil
	if s.service == nil {
		s.buildDocs()
		s.svcTitle.SetText(lang.L("Angaben zur Leistung"))
		s.fieldBox.Objects = []fyne.CanvasObject{widget.NewLabel(lang.L("Nach der Wahl der Leistung erscheinen hier ihre Angaben."))}
		s.fieldBox.Refresh()
		return
	}
	s.svcTitle.SetText(lang.L("Angaben: {{.Service}}", map[string]any{"Service": s.service.Name}))
	var rows []fyne.CanvasObject
	for _, spec := range s.service.Fields {
		f := &serviceField{spec: spec}
		label := fieldLabelText(spec.Path, spec.Label)
		if spec.Required {
			label += " *"
		}
		var obj fyne.CanvasObject
		switch spec.Type {
		case app.TypeBool:
			c := newKeyCheck(s.m, lang.L("ja"), func(bool) {
				s.touched[spec.Path] = true
				s.recompute()
			})
			c.onFocus = func() { s.scrollTo(c) }
			f.check = c
			obj = c
		case app.TypeAddress:
			f.addr = []*fieldEntry{s.entry(spec.Path, lang.L("Straße")), s.entry(spec.Path, lang.L("Nr.")), s.entry(spec.Path, lang.L("PLZ")), s.entry(spec.Path, lang.L("Ort"))}
			s.placeCompletion(f.addr[2], f.addr[3], func(m *app.Municipality) { f.ags = m.AGS })
			same := newKeyCheck(s.m, lang.L("wie Wohnanschrift"), nil)
			same.onFocus = func() { s.scrollTo(same) }
			f.same = same
			same.OnChanged = func(on bool) {
				if on {
					f.addr[0].setTextQuiet(s.street.Text)
					f.addr[1].setTextQuiet(s.house.Text)
					f.addr[2].setTextQuiet(s.postcode.Text)
					f.addr[3].setTextQuiet(s.place.Text)
					f.ags = s.ags
					s.touched[spec.Path] = true
					s.recompute()
				}
			}
			h := f.addr[0].MinSize().Height
			obj = container.NewVBox(
				container.NewBorder(nil, nil, nil, container.NewGridWrap(fyne.NewSize(90, h), f.addr[1]), f.addr[0]),
				postcodePlace(f.addr[2], f.addr[3]),
				f.addr[2].list, f.addr[3].list,
				f.same,
			)
		case app.TypeItems:
			if len(spec.Options) > 0 {
				obj = s.itemPicker(f)
				break
			}
			f.entry = s.entry(spec.Path, withNewlineHint(placeholderFor(spec)))
			f.entry.MultiLine = true
			f.entry.Wrapping = fyne.TextWrapWord
			f.entry.SetMinRowsVisible(3)
			obj = f.entry
		default:
			f.entry = s.entry(spec.Path, placeholderFor(spec))
			switch spec.Type {
			case app.TypeEnum:
				opts := spec.Options
				f.entry.suggest = func(text string) []suggestion {
					var out []suggestion
					for _, o := range opts {
						if o != text && strings.HasPrefix(strings.ToLower(o), strings.ToLower(strings.TrimSpace(text))) {
							out = append(out, suggestion{Text: o, Value: o})
						}
					}
					return out
				}
				e := f.entry
				e.onPick = func(sg suggestion) { e.setTextQuiet(sg.Value.(string)); s.recompute() }
			case app.TypeAGS, app.TypeAGSList:
				e, list := f.entry, spec.Type == app.TypeAGSList
				e.suggest = func(text string) []suggestion {
					last := text
					if list {
						if i := strings.LastIndexAny(text, ",;"); i >= 0 {
							last = text[i+1:]
						}
					}
					last = strings.TrimSpace(last)
					if last == "" || strings.HasSuffix(last, ")") {
						return nil
					}
					var out []suggestion
					for _, m := range reg.Suggest(last, 0) {
						out = append(out, suggestion{Text: fmt.Sprintf("%s (%s) · %s", m.Name, m.AGS, officeShort(reg, m.Office)), Value: m})
					}
					return out
				}
				e.onPick = func(sg suggestion) {
					m := sg.Value.(*app.Municipality)
					v := fmt.Sprintf("%s (%s)", m.Name, m.AGS)
					if list {
						prefix := ""
						if i := strings.LastIndexAny(e.Text, ",;"); i >= 0 {
							prefix = e.Text[:i+1] + " "
						}
						v = prefix + v + ", "
					}
					e.setTextQuiet(v)
					e.CursorColumn = len([]rune(v))
					e.Refresh()
					s.recompute()
				}
			}
			obj = f.entry.withList()
		}
		s.fields = append(s.fields, f)
		s.targets[spec.Path] = f.focusable()
		rows = append(rows, fieldLabel(label), s.withError(spec.Path, obj))
	}
	s.buildDocs()
	if len(rows) == 0 {
		s.fieldBox.Objects = []fyne.CanvasObject{widget.NewLabel(lang.L("Diese Leistung hat keine weiteren Angaben."))}
	} else {
		s.fieldBox.Objects = []fyne.CanvasObject{formGrid(rows...)}
	}
	s.fieldBox.Refresh()
}

// itemPicker is the input of a list with fixed kinds (Elektrogeräte): one
// count field per kind, named in German, and a description for
// "sonstiges"; Tab walks them.
func (s *intakeScreen) itemPicker(f *serviceField) fyne.CanvasObject {
	var rows []fyne.CanvasObject
	for _, o := range f.spec.Options {
		e := s.entry(f.spec.Path, lang.L("Anzahl"))
		f.counts = append(f.counts, e)
		cell := fyne.CanvasObject(container.NewGridWrap(fyne.NewSize(90, e.MinSize().Height), e))
		if o == "sonstiges" {
			f.other = s.entry(f.spec.Path, lang.L("was für ein Gerät?"))
			cell = container.New(leadFixed{90}, e, f.other)
		}
		rows = append(rows, widget.NewLabel(f.spec.OptionLabel(o)), cell)
	}
	return container.New(layout.NewFormLayout(), rows...)
}

func placeholderFor(f *app.FieldSpec) string {
	switch f.Type {
	case app.TypeDate:
		return lang.L("TT.MM.JJJJ")
	case app.TypeTime:
		return lang.L("HH:MM")
	case app.TypeInt, app.TypeNumber:
		return lang.L("Zahl")
	case app.TypeEnum:
		return strings.Join(f.Options, " / ")
	case app.TypeAGS:
		return lang.L("Gemeinde eintippen")
	case app.TypeAGSList:
		return lang.L("Gemeinden, durch Komma getrennt")
	case app.TypeItems:
		return lang.L("je Zeile Anzahl und Bezeichnung, z. B. „2 Sessel“")
	}
	if f.Hint != "" {
		return f.Hint
	}
	return ""
}

// input collects what is typed.
func (s *intakeScreen) input() app.IntakeInput {
	in := app.IntakeInput{
		Salutation: s.salutation.Text, FirstName: s.first.Text, LastName: s.last.Text, BirthDate: s.birth.Text,
		Street: s.street.Text, HouseNumber: s.house.Text, Postcode: s.postcode.Text, Place: s.place.Text, AGS: s.ags,
		Email: s.email.Text, Phone: s.phone.Text, Fields: map[string]string{},
	}
	if s.service != nil {
		in.Service = s.service.Key
	} else {
		in.Service = strings.TrimSpace(s.svc.Text)
		if in.Service != "" {
			in.Service = "?" + in.Service // typed but not picked
		}
	}
	for _, f := range s.fields {
		f.values(in.Fields)
	}
	return in
}

// recompute checks the whole form and shows the result: messages under
// the fields the clerk has been to, the office and its reason.
func (s *intakeScreen) recompute() {
	if s.office == nil {
		return
	}
	in := s.input()
	it := s.m.reg.Intake(in, s.m.now())
	if strings.HasPrefix(in.Service, "?") {
		// Say it in the clerk's words, not with the internal marker.
		for i, e := range it.Errors {
			if e.Path == app.PathService {
				it.Errors[i].Message = lang.L("Bitte eine Leistung aus der Liste wählen (↓ und Enter).")
			}
		}
	}
	s.it = it
	for path, l := range s.errs {
		var msgs []string
		if s.showAll || s.touched[path] {
			for _, e := range it.Errors {
				if e.Path == path {
					msgs = append(msgs, translateSentence(e.Message))
				}
			}
		}
		setError(l, strings.Join(msgs, " "))
	}

	reg := s.m.reg
	switch m := it.Municipality; {
	case m != nil:
		s.muni.SetText(fmt.Sprintf("%s, %s · AGS %s", m.Name, officeShort(reg, m.Office), m.AGS))
		s.muni.Importance = widget.SuccessImportance
	case strings.TrimSpace(s.postcode.Text) == "" && strings.TrimSpace(s.place.Text) == "":
		s.muni.SetText(lang.L("wird aus PLZ und Ort bestimmt"))
		s.muni.Importance = widget.MediumImportance
	default:
		_, outside, why := reg.ResolvePlace("", s.postcode.Text, s.place.Text)
		if outside {
			why = lang.L("außerhalb des Landkreises Cochem-Zell")
		}
		s.muni.SetText(translateSentence(why))
		s.muni.Importance = widget.WarningImportance
	}
	s.muni.Refresh()

	d := it.Decision
	switch {
	case s.service == nil:
		s.office.SetText(lang.L("Noch offen"))
		s.office.Importance = widget.MediumImportance
		s.reason.SetText(lang.L("Bitte zuerst die Leistung wählen."))
	case d.Decided:
		s.office.SetText(reg.OfficeName(d.Office))
		s.office.Importance = widget.SuccessImportance
		s.reason.SetText(translateReason(d.Reason))
	default:
		s.office.SetText(lang.L("Zuständigkeit nicht geklärt"))
		s.office.Importance = widget.WarningImportance
		s.reason.SetText(translateReason(d.Reason))
	}
	s.office.Refresh()

	if s.showAll && !it.OK() {
		lines := []string{lang.XN("intake.errors", "Bitte {{.N}} Angaben prüfen.", len(it.Errors), map[string]any{"N": len(it.Errors)})}
		for i, e := range it.Errors {
			if i == 5 {
				lines = append(lines, "…")
				break
			}
			lines = append(lines, "• "+fieldLabelText(e.Path, e.Label)+": "+translateSentence(e.Message))
		}
		s.summary.SetText(strings.Join(lines, "\n"))
		s.summary.Show()
	} else {
		s.summary.SetText("")
		s.summary.Hide()
	}
}

// onSave saves the case and prints the receipt. Missing or wrong input is
// shown at the fields and the first one gets the focus.
func (s *intakeScreen) onSave() {
	if s.saving {
		return
	}
	if !s.dirty() {
		// A second Enter after saving reaches the fresh form: it stays
		// clean, and the clerk starts with the service.
		s.focusFirst()
		return
	}
	s.showAll = true
	s.recompute()
	it := s.it
	if !it.OK() {
		if t := s.targets[it.Errors[0].Path]; t != nil {
			s.m.w.Canvas().Focus(t)
			if o, ok := t.(fyne.CanvasObject); ok {
				scrollIntoView(s.scroll, o)
			}
		}
		return
	}
	if !it.Decision.Decided {
		s.m.confirm(lang.L("Zuständigkeit nicht geklärt"),
			translateReason(it.Decision.Reason)+"\n\n"+lang.L("Trotzdem speichern? Der Vorgang erscheint dann unter „nicht zugeordnet“ und muss von Hand weitergeleitet werden."),
			lang.L("Trotzdem speichern"), s.save)
		return
	}
	s.save()
}

func (s *intakeScreen) save() {
	by := s.m.actor()
	nc, err := s.it.NewCase(s.key, by.Clerk, s.m.now())
	if err != nil {
		s.m.showError(err)
		return
	}
	nc.ClerkName = by.Name
	nc.Presented = s.presented()
	review, note := s.fromReview, s.reviewNote
	s.saving = true
	s.saveBtn.Disable()
	var c *app.Case
	var created bool
	var held *app.OfflineEntry
	ob := s.m.o.Offline
	st := s.m.store // nil while the window waits for the server (away.go)
	s.m.do(func(ctx context.Context) error {
		var err error = errAway
		if st != nil {
			c, created, err = st.CreateCase(ctx, nc, nil)
		}
		if app.Unavailable(err) && ob != nil && review == nil {
			// The server is away: the citizen still leaves with a receipt.
			held, err = ob.Hold(ctx, nc, nc.Routing.Office, by.Clerk)
			return err
		}
		if err != nil {
			return err
		}
		if review != nil {
			if err := s.m.store.ResolveReview(ctx, review.ID, "case:"+c.Ref, note, by); err != nil {
				return err
			}
		}
		return nil
	}, func(err error) {
		s.saving = false
		s.saveBtn.Enable()
		if err != nil {
			s.m.showError(err)
			return
		}
		s.savedFromOffline()
		if held != nil {
			s.holdOffline(held)
			return
		}
		msg := lang.L("Gespeichert: {{.Ref}} – {{.Office}}. Die Quittung wird gedruckt.", map[string]any{"Ref": c.Ref, "Office": s.m.reg.OfficeName(c.Office)})
		if !created {
			msg = lang.L("Dieser Vorgang war schon gespeichert: {{.Ref}}.", map[string]any{"Ref": c.Ref})
		}
		s.lastSave.SetText(msg)
		s.lastSave.Importance = widget.SuccessImportance
		s.lastSave.Refresh()
		s.reset()
		if review != nil {
			s.m.review.reload()
		}
		if created {
			s.m.printCase(c, func(err error) {
				if err == nil {
					s.lastSave.SetText(lang.L("Gespeichert: {{.Ref}} – {{.Office}}. Quittung gedruckt.", map[string]any{"Ref": c.Ref, "Office": s.m.reg.OfficeName(c.Office)}))
				} else {
					s.lastSave.SetText(lang.L("Gespeichert: {{.Ref}}. Die Quittung wurde nicht gedruckt.", map[string]any{"Ref": c.Ref}))
					s.lastSave.Importance = widget.WarningImportance
				}
				s.lastSave.Refresh()
			})
		}
	})
}

// onCancelMail leaves the kept mail on its list and empties the form;
// what the clerk added to the mail's details is not thrown away unasked.
func (s *intakeScreen) onCancelMail() {
	if reflect.DeepEqual(s.state(), s.fromMail) {
		s.onNew()
		return
	}
	s.m.confirmDiscard(s.onNew)
}

// onNew empties the form for the next citizen (Strg+N).
func (s *intakeScreen) onNew() {
	s.lastSave.SetText("")
	s.reset()
}

func (s *intakeScreen) reset() {
	s.key = newKey()
	s.fromOffline = ""
	s.touched = map[string]bool{}
	s.showAll = false
	s.ags = ""
	s.setReview(nil, "")
	for _, e := range []*fieldEntry{s.salutation, s.first, s.last, s.birth, s.street, s.house, s.postcode, s.place, s.email, s.phone} {
		e.setTextQuiet("")
		e.hideSuggestions()
	}
	s.service = nil
	s.svc.setTextQuiet("")
	s.buildFields()
	s.touched = map[string]bool{}
	s.recompute()
	s.focusFirst()
}

func (s *intakeScreen) focusFirst() {
	if s.m.caseView == nil && s.m.current() == ScreenIntake {
		s.m.w.Canvas().Focus(s.svc)
	}
}

// setReview marks the form as taking in a kept mail (nil: not).
func (s *intakeScreen) setReview(it *app.ReviewItem, note string) {
	s.fromReview, s.reviewNote = it, note
	if it == nil {
		s.banner.Hide()
		s.mailCard.Hide()
		s.mailText.SetText("")
		return
	}
	s.fromMail = s.state()
	s.bannerL.SetText(lang.L("Aus der Sichtung: Mail „{{.Subject}}“ von {{.From}}. Nach dem Speichern wird sie als erledigt vermerkt (Vorgang angelegt).",
		map[string]any{"Subject": app.Safe(it.Subject), "From": app.Safe(it.From)}))
	s.banner.Show()
	text := lang.L("Der Inhalt wurde nicht geladen (zu groß). Die Mail liegt im Postfach-Ordner „Zur Sichtung“.")
	if it.Raw != nil {
		text = mailPreview(it.Raw)
		if len(text) > maxShownContent {
			text = text[:maxShownContent] + "\n\n" + lang.L("… (gekürzt)")
		}
	}
	s.mailText.SetText(text)
	s.mailCard.Show()
}

// fill puts an input into the form (prefill from the review list, the
// screenshot tool).
func (s *intakeScreen) fill(in app.IntakeInput) {
	if svc := s.m.reg.Catalog.Service(in.Service); svc != nil {
		s.setService(svc, false)
	}
	set := func(e *fieldEntry, v string) { e.setTextQuiet(v) }
	set(s.salutation, in.Salutation)
	set(s.first, in.FirstName)
	set(s.last, in.LastName)
	set(s.birth, in.BirthDate)
	set(s.street, in.Street)
	set(s.house, in.HouseNumber)
	set(s.postcode, in.Postcode)
	set(s.place, in.Place)
	set(s.email, in.Email)
	set(s.phone, in.Phone)
	s.ags = in.AGS
	for _, f := range s.fields {
		switch {
		case f.check != nil:
			f.check.SetChecked(in.Fields[f.spec.Path] == "ja")
		case f.addr != nil:
			for i, k := range []string{"strasse", "hausnummer", "plz", "ort"} {
				f.addr[i].setTextQuiet(in.Fields[f.spec.Path+"."+k])
			}
		case f.counts != nil:
			f.fillCounts(in.Fields[f.spec.Path])
		default:
			f.entry.setTextQuiet(in.Fields[f.spec.Path])
		}
	}
	for _, p := range []string{app.PathFirstName, app.PathLastName, app.PathStreet, app.PathPostcode, app.PathPlace} {
		if strings.TrimSpace(map[string]string{app.PathFirstName: in.FirstName, app.PathLastName: in.LastName,
			app.PathStreet: in.Street, app.PathPostcode: in.Postcode, app.PathPlace: in.Place}[p]) != "" {
			s.touched[p] = true
		}
	}
	for _, f := range s.fields {
		s.touched[f.spec.Path] = true
	}
	s.recompute()
}

// presentedDoc is one document of the service's list with its ticks:
// shown at the counter, and a copy taken.
type presentedDoc struct {
	name       string
	seen, copy *keyCheck
}

// buildDocs lists what the citizen has to bring for the service, each
// with "vorgelegt" and "Kopie genommen" to tick; the receipt lists what
// was ticked.
func (s *intakeScreen) buildDocs() {
	s.shown = nil
	s.docs.Objects = nil
	if s.service == nil || len(s.service.Documents) == 0 {
		s.docs.Add(widget.NewLabel(lang.L("–")))
		s.docs.Refresh()
		return
	}
	for _, name := range s.service.Documents {
		d := presentedDoc{name: name}
		d.seen = newKeyCheck(s.m, lang.L("vorgelegt"), nil)
		d.copy = newKeyCheck(s.m, lang.L("Kopie genommen"), nil)
		seen, cp := d.seen, d.copy
		seen.OnChanged = func(on bool) {
			if !on && cp.Checked {
				cp.SetChecked(false)
			}
		}
		cp.OnChanged = func(on bool) {
			if on && !seen.Checked {
				seen.SetChecked(true)
			}
		}
		l := widget.NewLabel(name)
		l.Wrapping = fyne.TextWrapWord
		s.docs.Add(container.NewVBox(l, container.NewHBox(seen, cp)))
		s.shown = append(s.shown, d)
	}
	s.docs.Refresh()
}

// presented is what was ticked.
func (s *intakeScreen) presented() []app.PresentedDocument {
	var out []app.PresentedDocument
	for _, d := range s.shown {
		if d.seen.Checked {
			out = append(out, app.PresentedDocument{Name: d.name, Copy: d.copy.Checked})
		}
	}
	return out
}

// dirty reports whether anything was typed or ticked since the form was
// emptied (a service chosen counts too).
func (s *intakeScreen) dirty() bool {
	if s.svc == nil {
		return false
	}
	if s.service != nil || strings.TrimSpace(s.svc.Text) != "" || len(s.presented()) > 0 {
		return true
	}
	for _, e := range []*fieldEntry{s.salutation, s.first, s.last, s.birth, s.street, s.house, s.postcode, s.place, s.email, s.phone} {
		if strings.TrimSpace(e.Text) != "" {
			return true
		}
	}
	return false
}

// fillCounts puts "2 kuehlgeraet" lines (as the form writes them, or as
// read from a mail) into the count fields.
func (f *serviceField) fillCounts(text string) {
	for _, e := range f.counts {
		e.setTextQuiet("")
	}
	for _, line := range strings.Split(text, "\n") {
		n, rest, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok {
			continue
		}
		kind, desc, _ := strings.Cut(rest, ":")
		for i, o := range f.spec.Options {
			if o == strings.TrimSpace(kind) {
				f.counts[i].setTextQuiet(n)
				if o == "sonstiges" && f.other != nil {
					f.other.setTextQuiet(strings.TrimSpace(desc))
				}
			}
		}
	}
}
