package ui

import (
	"context"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"amtstresen/app"
)

// A withdrawal in the portal's format 1 is never applied by itself: its
// kind is not signed, and a citizen's message re-sent as a withdrawal has
// the same signed part. The case carries FlagWithdrawalUnconfirmed and
// the citizen's words among its messages; the clerk confirms the
// withdrawal or rejects it, each with a reason that goes into the case's
// history and the audit log (app.CaseStore.DecideWithdrawal).

// withdrawalCards is the decision the case waits for, if any: shown above
// the applicant.
func (cv *caseView) withdrawalCards() []fyne.CanvasObject {
	if cv.c == nil || !cv.c.HasFlag(app.FlagWithdrawalUnconfirmed) {
		return nil
	}
	text := widget.NewLabel(lang.L("Über das Portal ist eine Rücknahme dieses Antrags eingegangen (Wortlaut unter „Nachrichten“). Sie kam im alten Format 1, in dem die Art der Sendung nicht signiert ist: es könnte auch eine umetikettierte Nachricht sein. Bitte beim Bürger nachfragen, wenn unklar, und dann bestätigen oder ablehnen."))
	text.Wrapping = fyne.TextWrapWord
	confirm := widget.NewButtonWithIcon(lang.L("Rücknahme bestätigen …"), theme.ConfirmIcon(), func() { cv.onWithdrawal(true) })
	confirm.Importance = widget.WarningImportance
	reject := widget.NewButtonWithIcon(lang.L("Nicht bestätigen …"), theme.CancelIcon(), func() { cv.onWithdrawal(false) })
	if cv.c.Status.Final() {
		confirm.Disable()
	}
	return []fyne.CanvasObject{widget.NewCard(lang.L("Rücknahme unbestätigt"), "", container.NewVBox(text, container.NewHBox(confirm, reject)))}
}

// onWithdrawal asks for the reason and records the decision.
func (cv *caseView) onWithdrawal(confirm bool) {
	title, ok, label := lang.L("Rücknahme bestätigen"), lang.L("Bestätigen"), lang.L("Begründung (z. B. „telefonisch mit dem Bürger geklärt“)")
	if !confirm {
		title, ok, label = lang.L("Rücknahme nicht bestätigen"), lang.L("Nicht bestätigen"), lang.L("Begründung (z. B. „Bürger hat keine Rücknahme gesendet“)")
	}
	cv.reasonDialog(title, ok, nil, label, nil, func(reason string) {
		ref, by := cv.ref, cv.m.actor()
		cv.change(app.CaseChange{Kind: app.ChangeWithdrawal, Confirm: confirm, Reason: reason},
			func(ctx context.Context) error { return cv.m.store.DecideWithdrawal(ctx, ref, confirm, reason, by) })
	})
}
