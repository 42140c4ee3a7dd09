package ui

import (
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"amtstresen/app"
)

// syncBar is the bottom line of the window: the portal sync's last run and
// result, always visible, and "Jetzt synchronisieren" with progress.
type syncBar struct {
	m        *mainWindow
	state    *widget.Label
	button   *widget.Button
	progress *widget.ProgressBar
	running  bool
}

func newSyncBar(m *mainWindow) *syncBar { return &syncBar{m: m} }

func (s *syncBar) buildUI() fyne.CanvasObject {
	s.state = widget.NewLabel(lang.L("Portal-Abgleich: Stand wird gelesen …"))
	s.state.Truncation = fyne.TextTruncateEllipsis
	s.button = widget.NewButtonWithIcon(lang.L("Jetzt synchronisieren"), theme.ViewRefreshIcon(), s.onSyncNow)
	s.progress = widget.NewProgressBar()
	s.progress.Hide()
	if s.m.o.Syncer == nil {
		s.button.Disable()
	}
	right := container.NewHBox(container.NewGridWrap(fyne.NewSize(180, s.button.MinSize().Height), s.progress), s.button)
	return container.NewVBox(widget.NewSeparator(), container.NewBorder(nil, nil, nil, right, s.state))
}

// refreshState reads the last run in the background.
func (s *syncBar) refreshState() {
	sy := s.m.o.Syncer
	if sy == nil {
		if err := s.m.o.SyncUnavailable; err != nil {
			s.state.SetText(lang.L("Portal-Abgleich nicht möglich: {{.Err}}", map[string]any{"Err": app.ErrorMessage(err)}))
		} else {
			s.state.SetText(lang.L("Portal-Abgleich ist nicht eingerichtet (Zugang zum Postfach fehlt in der Konfiguration)."))
		}
		s.state.Importance = widget.WarningImportance
		s.state.Refresh()
		return
	}
	s.m.bg.run(func() {
		st, err := sy.LastState(s.m.ctx)
		s.m.ui(func() { s.showState(st, err) })
	})
}

func (s *syncBar) showState(st *app.SyncState, err error) {
	s.state.Importance = widget.MediumImportance
	switch {
	case err != nil:
		s.state.Importance = widget.DangerImportance
		s.state.SetText(lang.L("Portal-Abgleich: Stand nicht lesbar – {{.Err}}", map[string]any{"Err": app.ErrorMessage(err)}))
	case st == nil || st.LastRun.IsZero():
		s.state.SetText(lang.L("Portal-Abgleich: noch nie gelaufen."))
	case st.LastError != "":
		s.state.Importance = widget.DangerImportance
		s.state.SetText(lang.L("Portal-Abgleich {{.When}} fehlgeschlagen: {{.Err}}", map[string]any{
			"When": app.FormatDateTime(st.LastRun), "Err": st.LastError}))
	default:
		s.state.SetText(lang.L("Portal-Abgleich: zuletzt {{.When}} – {{.Result}}", map[string]any{
			"When": app.FormatDateTime(st.LastRun), "Result": translateSentence(st.LastResult)}))
	}
	s.state.Refresh()
}

// onSyncNow runs the sync in the background with progress; the window
// stays usable.
func (s *syncBar) onSyncNow() {
	sy := s.m.o.Syncer
	if sy == nil {
		msg := lang.L("Der Portal-Abgleich ist nicht eingerichtet. Bitte die IT bitten, den Zugang zum Portal-Postfach in der Konfiguration einzutragen.")
		if err := s.m.o.SyncUnavailable; err != nil {
			msg = app.ErrorMessage(err)
		}
		s.m.showMessage(lang.L("Portal-Abgleich"), msg)
		return
	}
	if s.running {
		return
	}
	s.running = true
	s.button.Disable()
	s.progress.SetValue(0)
	s.progress.Show()
	s.state.Importance = widget.MediumImportance
	s.state.SetText(lang.L("Portal-Abgleich läuft …"))
	var last atomic.Int64
	s.m.bg.run(func() {
		summary, err := sy.Run(s.m.ctx, func(done, total int) {
			now := time.Now().UnixMilli()
			if prev := last.Load(); now-prev < 100 && done != total {
				return // at most ten updates a second
			}
			last.Store(now)
			s.m.ui(func() {
				if total > 0 {
					s.progress.SetValue(float64(done) / float64(total))
				}
				s.state.SetText(lang.L("Portal-Abgleich läuft … {{.Done}} von {{.Total}}", map[string]any{
					"Done": formatCount(done), "Total": formatCount(total)}))
			})
		})
		s.m.ui(func() {
			s.running = false
			s.button.Enable()
			s.progress.Hide()
			if err != nil {
				s.state.Importance = widget.DangerImportance
				s.state.SetText(lang.L("Portal-Abgleich fehlgeschlagen: {{.Err}}", map[string]any{"Err": app.ErrorMessage(err)}))
				s.m.showError(err)
			} else {
				s.state.SetText(lang.L("Portal-Abgleich: gerade eben – {{.Result}}", map[string]any{"Result": translateSentence(summary)}))
			}
			s.state.Refresh()
			s.m.queue.reload()
			s.m.review.reload()
			if s.m.current() == ScreenAppointments {
				s.m.appointments.reload()
			}
		})
	})
}
