package ui

import (
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// settingsScreen is Einstellungen: the office and clerk of this place, the
// language, and where things are (read-only, for the IT).
type settingsScreen struct {
	m        *mainWindow
	office   *widget.Select
	name     *widget.Entry
	sign     *widget.Entry
	language *widget.RadioGroup
	msg      *widget.Label
}

func newSettingsScreen(m *mainWindow) *settingsScreen { return &settingsScreen{m: m} }

func (s *settingsScreen) buildUI() fyne.CanvasObject {
	var names []string
	for _, o := range s.m.reg.Offices {
		names = append(names, o.Name)
	}
	s.office = widget.NewSelect(names, nil)
	s.office.PlaceHolder = lang.L("(bitte wählen)")
	s.name = widget.NewEntry()
	s.sign = widget.NewEntry()
	s.msg = widget.NewLabel("")
	s.msg.Wrapping = fyne.TextWrapWord
	apply := newKeyButton(s.m, lang.L("Einstellungen speichern"), theme.ConfirmIcon(), s.onApply)
	apply.Importance = widget.HighImportance
	clerk := widget.NewForm(
		widget.NewFormItem(lang.L("Dienststelle"), s.office),
		widget.NewFormItem(lang.L("Name"), s.name),
		widget.NewFormItem(lang.L("Kürzel"), s.sign),
	)
	clerk.Items[2].HintText = lang.L("steht im Verlauf jedes Vorgangs; vorbelegt mit der Anmeldung am PC")

	s.language = widget.NewRadioGroup([]string{"Deutsch", "English"}, func(v string) {
		choice := LangGerman
		if v == "English" {
			choice = LangEnglish
		}
		p := s.m.a.Preferences()
		if p.StringWithFallback(prefLanguage, LangGerman) != choice {
			p.SetString(prefLanguage, choice)
			// Said in the language chosen: whoever picks English may not
			// read German.
			s.msg.SetText(textIn(choice, "Die Sprache wechselt beim nächsten Start von Amtstresen."))
		}
	})
	s.language.Horizontal = true

	o := s.m.o
	printer := lang.L("Standarddrucker des Systems")
	mailbox := lang.L("nicht eingerichtet")
	configPath := lang.L("keine (Standardwerte)")
	if c := o.Config; c != nil {
		if c.Print.Printer != "" {
			printer = c.Print.Printer
		}
		if c.IMAP.Address != "" {
			mailbox = c.IMAP.Username + " @ " + c.IMAP.Address + " (" + c.IMAP.Mailbox + ")"
		}
		if c.Path != "" {
			configPath = c.Path
		}
	}
	info := formGrid(
		fieldLabel(lang.L("Datenbank")), valueLabel(o.DBPath),
		fieldLabel(lang.L("Datenverzeichnis")), valueLabel(o.Paths.DataDir),
		fieldLabel(lang.L("Konfiguration")), valueLabel(configPath),
		fieldLabel(lang.L("Leistungskatalog")), valueLabel(s.m.reg.CatalogSource),
		fieldLabel(lang.L("Portal-Postfach")), valueLabel(mailbox),
		fieldLabel(lang.L("Drucker")), valueLabel(printer),
		fieldLabel(lang.L("Version")), valueLabel(o.Version),
	)
	if s.m.fixedOffice() {
		s.office.Disable()
		clerk.Items[0].HintText = lang.L("legt die Administration mit Ihrer Rolle fest")
	}
	if s.m.controlled() {
		s.sign.Disable()
		clerk.Items[2].HintText = lang.L("Ihre Anmeldung am PC; sie steht im Verlauf und im Protokoll")
	}
	s.load()
	cards := []fyne.CanvasObject{
		widget.NewCard(lang.L("Dieser Arbeitsplatz"), "", container.NewVBox(clerk, container.NewHBox(apply))),
		widget.NewCard(lang.L("Sprache"), "", s.language),
		s.msg,
	}
	if p := s.m.privacyCard(); p != nil {
		cards = append(cards, p)
	}
	cards = append(cards, widget.NewCard(lang.L("Installation"), lang.L("Änderungen an diesen Werten nimmt die IT in der Konfigurationsdatei vor."), info))
	return container.NewVScroll(container.NewVBox(cards...))
}

// load shows the stored values.
func (s *settingsScreen) load() {
	if s.office == nil {
		return
	}
	s.office.ClearSelected()
	for i, o := range s.m.reg.Offices {
		if o.Key == s.m.office() {
			s.office.SetSelectedIndex(i)
		}
	}
	s.name.SetText(s.m.clerkName())
	s.sign.SetText(s.m.clerkSign())
	if s.m.a.Preferences().StringWithFallback(prefLanguage, LangGerman) == LangEnglish {
		s.language.SetSelected("English")
	} else {
		s.language.SetSelected("Deutsch")
	}
	s.msg.SetText("")
}

func (s *settingsScreen) onApply() {
	i := s.office.SelectedIndex()
	if i < 0 {
		s.m.showMessage(lang.L("Einstellungen"), lang.L("Bitte die Dienststelle wählen, für die Sie arbeiten."))
		return
	}
	if strings.TrimSpace(s.sign.Text) == "" {
		s.m.showMessage(lang.L("Einstellungen"), lang.L("Bitte ein Kürzel angeben; es steht im Verlauf jedes Vorgangs."))
		return
	}
	s.m.setClerk(s.m.reg.Offices[i].Key, s.name.Text, s.sign.Text)
	s.msg.SetText(lang.L("Gespeichert. Arbeitsvorrat und Termine zeigen jetzt {{.Office}}.", map[string]any{"Office": officeShort(s.m.reg, s.m.reg.Offices[i].Key)}))
}
