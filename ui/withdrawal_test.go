package ui

import (
	"context"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"amtstresen/app"
)

// TestWithdrawalDecision: a format-1 withdrawal flagged the case; the
// case view offers the decision, asks for the reason, and records it: a
// confirmed one withdraws the case, a rejected one leaves it as it was.
// Both are in the history and the audit log, and the flag is gone.
func TestWithdrawalDecision(t *testing.T) {
	store := newTestStore(t)
	h := newHarness(t, store)
	intake := store.DB
	ctx := context.Background()
	flagged := func(portal string) *app.Case {
		it := testReg.Intake(dogCase("Anna", "Muster", "56253", "Treis-Karden"), testNow)
		nc, err := it.NewCase(portal, "portal", testNow)
		if err != nil {
			t.Fatal(err)
		}
		nc.Channel, nc.PortalCase = app.ChannelPortal, portal
		c, _, err := store.CreateCase(ctx, nc, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := intake.RequestWithdrawal(ctx, portal, "Hat sich erledigt.", nil); err != nil {
			t.Fatal(err)
		}
		return c
	}
	for _, confirm := range []bool{true, false} {
		portal := map[bool]string{true: "0b6f3c52-5a57-4a49-9d8e-3d0f3c1f4a11", false: "0b6f3c52-5a57-4a49-9d8e-3d0f3c1f4a12"}[confirm]
		c := flagged(portal)
		h.m.openCase(c.Ref)
		h.wait()
		cv := h.m.caseView
		text := markup(cv.content)
		if !strings.Contains(text, "Rücknahme unbestätigt") || !strings.Contains(text, "Hat sich erledigt.") {
			t.Fatalf("the case view does not offer the decision:\n%s", text)
		}
		label := "Rücknahme bestätigen …"
		if !confirm {
			label = "Nicht bestätigen …"
		}
		b := findButton(cv.content, label)
		if b == nil {
			t.Fatalf("no button %q", label)
		}
		test.Tap(b)
		cv.submit() // without a reason: refused
		if cv.submit == nil || !strings.Contains(cv.reasonError.Text, "Begründung") {
			t.Fatal("a decision without a reason was accepted")
		}
		cv.reasonEntry.SetText("Telefonisch mit Frau Muster geklärt")
		cv.submit()
		h.wait()
		got := h.caseByRef(c.Ref)
		want := app.StatusReceived
		if confirm {
			want = app.StatusWithdrawn
		}
		if got.Status != want || got.HasFlag(app.FlagWithdrawalUnconfirmed) {
			t.Errorf("confirm=%v: status %s flags %v", confirm, got.Status, got.Flags)
		}
		entries, _ := store.AuditEntries(ctx, app.AuditFilter{Ref: c.Ref, Action: "case.withdrawal"})
		detail := map[bool]string{true: "confirmed", false: "rejected"}[confirm]
		if len(entries) != 1 || entries[0].Detail != detail || entries[0].Clerk != "mm" {
			t.Errorf("confirm=%v: audit %+v", confirm, entries)
		}
		notes, _ := store.Notes(ctx, c.Ref)
		found := false
		for _, n := range notes {
			found = found || strings.Contains(n.Text, "Telefonisch mit Frau Muster geklärt")
		}
		if !found {
			t.Errorf("confirm=%v: the reason is not in the history: %+v", confirm, notes)
		}
		if strings.Contains(markup(h.m.caseView.content), "Rücknahme unbestätigt") {
			t.Errorf("confirm=%v: the decision is still offered", confirm)
		}
		h.m.back()
	}
}

func findButton(o fyne.CanvasObject, label string) *widget.Button {
	var found *widget.Button
	var walk func(o fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		switch x := o.(type) {
		case *widget.Button:
			if x.Text == label {
				found = x
			}
		case *keyButton:
			if x.Text == label {
				found = &x.Button
			}
		case *widget.Card:
			if x.Content != nil {
				walk(x.Content)
			}
		case *fyne.Container:
			for _, c := range x.Objects {
				walk(c)
			}
		case fyne.Widget:
			for _, c := range test.WidgetRenderer(x).Objects() {
				walk(c)
			}
		}
	}
	walk(o)
	return found
}
