package app

import (
	"encoding/csv"
	"io"
	"strings"
	"time"
)

// AuditCSVHeader is the first line of the CSV export of the audit log.
var AuditCSVHeader = []string{"zeit", "sachbearbeitung", "dienststelle", "aktion", "bezug", "detail"}

// WriteAuditCSV writes entries as CSV for the data-protection officer:
// times in Europe/Berlin (RFC 3339), one entry per line. A value that a
// spreadsheet would take for a formula is prefixed with an apostrophe.
func WriteAuditCSV(w io.Writer, entries []AuditEntry) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(AuditCSVHeader); err != nil {
		return err
	}
	for _, e := range entries {
		if err := cw.Write([]string{e.At.In(Berlin).Format(time.RFC3339), cell(e.Clerk), cell(string(e.Office)),
			cell(e.Action), cell(e.Ref), cell(e.Detail)}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// AuditActionLabel is the German description of an audit action.
func AuditActionLabel(action string) string {
	labels := map[string]string{
		"case.read": "Vorgang geöffnet", "case.read.denied": "Zugriff verweigert", "case.create": "Vorgang angelegt",
		"case.claim": "übernommen", "case.release": "freigegeben", "case.status": "Status geändert",
		"case.forward": "weitergeleitet", "case.note": "Vermerk", "case.message": "Nachricht eingegangen",
		"case.print": "gedruckt oder als PDF gespeichert", "case.export": "Auskunft (Art. 15)",
		"case.purge": "gelöscht (Frist abgelaufen)", "appointment.purge": "Termin gelöscht (Frist abgelaufen)",
		"appointment.apply": "Termin übernommen", "appointment.attendance": "Anwesenheit", "appointment.print": "Terminbestätigung gedruckt/gespeichert",
		"appointment.export": "Termin beauskunftet", "person.export": "Auskunft erteilt", "audit.purge": "Protokoll gekürzt (Frist)",
		"audit.export": "Protokoll exportiert", "role.set": "Rolle vergeben", "role.remove": "Rolle entzogen",
		"review.add": "Mail zur Sichtung", "review.resolve": "Sichtung erledigt", "sync.state": "Abgleich",
	}
	if l, ok := labels[action]; ok {
		return l
	}
	if strings.HasSuffix(action, ".denied") {
		return "Zugriff verweigert"
	}
	return action
}
