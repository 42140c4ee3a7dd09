package rules

import (
	"testing"
	"time"

	"amtstresen/app"
)

func TestPortalMessage(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	announced := app.Attachment{Name: "pass.pdf"}
	n := &app.Note{Text: "Hallo", Attachments: []app.Attachment{announced}}
	at, author, files := PortalMessage(n, nil, now)
	if !at.Equal(now) || author != Citizen || len(files) != 1 || files[0].Name != "pass.pdf" || files[0].Data != nil {
		t.Errorf("no time, author, files: %v %q %+v", at, author, files)
	}
	sent := []app.NewAttachment{{Attachment: app.Attachment{Name: "a.jpg"}, Data: []byte("x")}}
	n = &app.Note{At: now.Add(-time.Hour), Author: "Anna", Attachments: []app.Attachment{announced}}
	at, author, files = PortalMessage(n, sent, now)
	if !at.Equal(now.Add(-time.Hour)) || author != "Anna" || len(files) != 1 || files[0].Name != "a.jpg" {
		t.Errorf("given time, author, files: %v %q %+v", at, author, files)
	}
}
