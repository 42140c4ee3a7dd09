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
		ActionCaseRead: "Vorgang geöffnet", ActionCaseRead + DeniedSuffix: "Zugriff verweigert", ActionCaseCreate: "Vorgang angelegt",
		ActionCaseClaim: "übernommen", ActionCaseRelease: "freigegeben", ActionCaseStatus: "Status geändert",
		ActionCaseForward: "weitergeleitet", ActionCaseNote: "Vermerk", ActionCaseMessage: "Nachricht eingegangen",
		ActionCasePrint: "gedruckt oder als PDF gespeichert", ActionCaseExport: "Auskunft (Art. 15)",
		ActionCasePurge: "gelöscht (Frist abgelaufen)", ActionAppointmentPurge: "Termin gelöscht (Frist abgelaufen)",
		ActionAppointmentApply: "Termin übernommen", ActionAppointmentAttendance: "Anwesenheit", ActionAppointmentPrint: "Terminbestätigung gedruckt/gespeichert",
		ActionAppointmentExport: "Termin beauskunftet", ActionPersonExport: "Auskunft erteilt", ActionAuditPurge: "Protokoll gekürzt (Frist)",
		ActionAuditExport: "Protokoll exportiert", ActionRoleSet: "Rolle vergeben", ActionRoleRemove: "Rolle entzogen",
		ActionCaseTell: "Nachricht an Bürger", ActionCaseResend: "Nachricht erneut gesendet", ActionCaseQuittung: "Quittung des Portals",
		ActionCasePrinted: "Brief gedruckt", ActionOfficeKeyCreate: "Signaturschlüssel der Dienststelle erzeugt",
		ActionReviewAdd: "Mail zur Sichtung", ActionReviewResolve: "Sichtung erledigt", ActionSyncState: "Abgleich",
	}
	if l, ok := labels[action]; ok {
		return l
	}
	if strings.HasSuffix(action, DeniedSuffix) {
		return "Zugriff verweigert"
	}
	return action
}
