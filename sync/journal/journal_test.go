package journal

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"amtstresen/app"
)

var secret = []byte("geheimnis-des-amts-0123")

func sample() *app.JournalEntry {
	return &app.JournalEntry{ID: NewID(), Op: app.OpStatus, At: time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC), Counter: "tresen-2",
		Clerk: "mmueller", Office: app.OfficeZell, Case: "cd613e30", Ref: "ZEL-2026-00042", Status: app.StatusWaiting,
		Reason: "Impfpass fehlt – Bürgerin bringt ihn nächste Woche (ä ö ü ß)"}
}

func TestRoundTrip(t *testing.T) {
	e := sample()
	raw, err := Encode(e, secret)
	if err != nil {
		t.Fatal(err)
	}
	if !IsJournal(raw) {
		t.Fatal("mark missing")
	}
	got, err := Decode(raw, secret)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != e.ID || got.Reason != e.Reason || got.Status != e.Status || !got.At.Equal(e.At) || got.V != app.JournalVersion {
		t.Errorf("got %+v", got)
	}
	// The subject says in German what happened, for people reading the folder.
	if !bytes.Contains(raw, []byte("Subject: =?utf-8?q?mmueller_(tresen-2)_setzt_ZEL-2026-00042_auf_=E2=80=9EWartet")) {
		t.Errorf("subject: %s", raw[:400])
	}
}

func TestDecodeRefuses(t *testing.T) {
	e := sample()
	raw, _ := Encode(e, secret)
	// Another payload with the signature copied: the JSON is base64, so
	// re-encode a changed entry and keep the old signature header.
	e2 := *e
	e2.Status = app.StatusDone
	raw2, _ := Encode(&e2, secret)
	oldSig := header(raw, HeaderSignature)
	forged := bytes.Replace(raw2, []byte(header(raw2, HeaderSignature)), []byte(oldSig), 1)
	noSig := bytes.Replace(raw, []byte(HeaderSignature+": "+oldSig+"\r\n"), nil, 1)
	for name, tc := range map[string]struct {
		raw    []byte
		secret []byte
	}{
		"wrong secret":      {raw, []byte("ein-anderes-geheimnis-xx")},
		"forged payload":    {forged, secret},
		"no signature":      {noSig, secret},
		"unknown version":   {bytes.Replace(raw, []byte(HeaderMark+": 1"), []byte(HeaderMark+": 9"), 1), secret},
		"not multipart":     {[]byte(HeaderMark + ": 1\r\n" + HeaderSignature + ": " + oldSig + "\r\nContent-Type: text/plain\r\n\r\nhallo\r\n"), secret},
		"json part missing": {bytes.Replace(raw, []byte("application/json"), []byte("application/octet-stream"), 1), secret},
	} {
		_, err := Decode(tc.raw, tc.secret)
		var inv *Invalid
		if !errors.As(err, &inv) {
			t.Errorf("%s: %v, want *Invalid", name, err)
		}
	}
	if _, err := Decode([]byte("From: a@b\r\nSubject: Hallo\r\n\r\nText"), secret); err != ErrNotJournal {
		t.Errorf("plain mail: %v", err)
	}
	// The mark only counts as a header field of its own.
	if IsJournal([]byte("Subject: X-Amtstresen-Journal: 1\r\n\r\n")) {
		t.Error("mark inside another header")
	}
}

func header(raw []byte, name string) string {
	for _, l := range strings.Split(string(raw), "\r\n") {
		if v, ok := strings.CutPrefix(l, name+": "); ok {
			return v
		}
	}
	return ""
}
