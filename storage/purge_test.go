package storage

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"amtstresen/app"
)

// markerForms are the byte strings under which a marker can sit in the
// files: as written, folded to lower case (the search index keeps folded
// tokens), and the lower-case tail (index pages store a term as the suffix
// after the prefix it shares with the term before it).
func markerForms(m string) []string {
	l := strings.ToLower(m)
	return []string{m, l, l[len(l)-12:]}
}

// filesContaining returns the files under dir that contain one of the forms.
func filesContaining(t *testing.T, dir string, forms []string) []string {
	t.Helper()
	var hits []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, f := range forms {
			if bytes.Contains(b, []byte(f)) {
				hits = append(hits, filepath.Base(p)+": "+f)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hits
}

func uniqueMarker(t *testing.T) string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "Zqxmarker" + hex.EncodeToString(b)
}

// TestPurgeLeavesNoByte writes a unique marker into every place a case
// keeps personal data (applicant, fields, raw portal data, an attachment,
// a citizen's message with a file, a clerk's note, a review mail, a
// booking), closes the case, lets its retention period pass and purges.
// Afterwards the marker is in no byte of any file of the database folder:
// the main file, the WAL, the shared-memory file. Attachments are stored
// inside the database (by SHA-256), so those are the attachment files.
// A second, open case that shares a file with the first one survives.
func TestPurgeLeavesNoByte(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	dir := filepath.Dir(db.Path())
	marker := uniqueMarker(t)
	forms := markerForms(marker)

	common := []byte("%PDF-1.4 Personalausweis-Kopie, gemeinsam genutzt")
	sum := func(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
	att := func(name string, data []byte) app.NewAttachment {
		return app.NewAttachment{Attachment: app.Attachment{Name: name, Type: "application/pdf", Size: int64(len(data)), SHA256: sum(data), Received: true}, Data: data}
	}
	secret := []byte("Anlage mit " + marker + " darin")

	nc := newDogCase(t, "portal-gone", "Anna", marker, app.OfficeZell, testNow.Add(-time.Hour))
	nc.Applicant.Email = strings.ToLower(marker) + "@example.org"
	fields, _ := json.Marshal(map[string]any{"hund": map[string]any{"name": marker, "rasse": "Dackel", "chipnummer": "276098106543210"}, "haltungsbeginn": "2026-11-01"})
	nc.Fields = fields
	nc.Raw = json.RawMessage(`{"vorgang":"portal-gone","notiz":"` + marker + `"}`)
	nc.Attachments = []app.NewAttachment{att("ausweis.pdf", common), att("geheim.pdf", secret)}
	gone := mustCreate(t, db, nc)

	kept := newDogCase(t, "portal-kept", "Berta", "Bleibt", app.OfficeZell, testNow)
	kept.Attachments = []app.NewAttachment{att("ausweis.pdf", common)}
	keptCase := mustCreate(t, db, kept)

	msgFile := []byte("Nachtrag " + marker)
	if err := db.AddMessage(ctx, "portal-gone", "msg-1", &app.Note{Text: "Nachricht von " + marker}, []app.NewAttachment{att("nachtrag.pdf", msgFile)}, nil); err != nil {
		t.Fatal(err)
	}
	by := app.Actor{Clerk: "zsachb", Office: app.OfficeZell}
	if err := db.AddNote(ctx, gone.Ref, "Rückruf bei "+marker, by); err != nil {
		t.Fatal(err)
	}
	if err := db.AddReview(ctx, &app.ReviewItem{MessageID: "<r1@portal>", Subject: "Frage von " + marker, From: "anna@example.org",
		Reason: app.ReviewCaseUnknown, Raw: []byte("Subject: x\r\n\r\n" + marker), PortalCase: "portal-gone"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ApplyAppointment(ctx, &app.Appointment{UID: "appt-gone@portal", Sequence: 1, Status: app.AppointmentConfirmed,
		Service: "buergerbuero", Office: app.OfficeZell, PortalCase: "portal-gone", CitizenName: "Anna " + marker,
		Start: testNow.Add(48 * time.Hour), End: testNow.Add(49 * time.Hour)}, nil); err != nil {
		t.Fatal(err)
	}
	if err := db.SetStatus(ctx, gone.Ref, app.StatusInProgress, "", by); err != nil {
		t.Fatal(err)
	}
	if err := db.SetStatus(ctx, gone.Ref, app.StatusDone, "Bescheid erteilt", by); err != nil {
		t.Fatal(err)
	}

	// The control: before the purge the marker is in the files, in
	// every form the search looks for.
	hits := filesContaining(t, dir, forms)
	for _, f := range forms {
		if !strings.Contains(strings.Join(hits, "\n"), ": "+f) {
			t.Fatalf("before the purge %q is in no file (found: %v); the search would prove nothing", f, hits)
		}
	}

	// Hundesteuer: 120 months after closing.
	closed := mustCase(t, db, gone.Ref).ClosedAt
	early := closed.In(app.Berlin).AddDate(0, 120, 0).Add(-time.Minute)
	rep, err := db.Purge(ctx, PurgeOptions{Now: early, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Cases) != 0 {
		t.Fatalf("a minute before the end of the period: %v would go", rep.Cases)
	}
	late := early.Add(2 * time.Minute)
	rep, err = db.Purge(ctx, PurgeOptions{Now: late, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Cases) != 1 || rep.Cases[0].Ref != gone.Ref {
		t.Fatalf("dry run: cases %v, want only %s", rep.Cases, gone.Ref)
	}
	if _, err := db.CaseByRef(ctx, gone.Ref); err != nil {
		t.Fatalf("the dry run deleted: %v", err)
	}

	rep, err = db.Purge(ctx, PurgeOptions{Now: late})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Cases) != 1 || rep.Cases[0].Ref != gone.Ref {
		t.Fatalf("purge: cases %v", rep.Cases)
	}

	// The case and everything that belonged to it are gone.
	if _, err := db.CaseByRef(ctx, gone.Ref); app.ErrorCode(err) != app.ENOTFOUND {
		t.Fatalf("case after purge: %v", err)
	}
	if _, err := db.AttachmentData(ctx, sum(secret)); app.ErrorCode(err) != app.ENOTFOUND {
		t.Fatalf("attachment after purge: %v", err)
	}
	if _, err := db.AttachmentData(ctx, sum(msgFile)); app.ErrorCode(err) != app.ENOTFOUND {
		t.Fatalf("message file after purge: %v", err)
	}
	if _, err := db.Appointment(ctx, "appt-gone@portal"); app.ErrorCode(err) != app.ENOTFOUND {
		t.Fatalf("appointment after purge: %v", err)
	}
	items, _ := db.ReviewItems(ctx, true)
	if len(items) != 0 {
		t.Fatalf("review mails after purge: %d", len(items))
	}
	if n, _ := db.CountCases(ctx, app.CaseFilter{Query: strings.ToLower(marker)}); n != 0 {
		t.Fatalf("search still finds the marker: %d", n)
	}
	// The other case keeps its shared file and stays searchable.
	if b, err := db.AttachmentData(ctx, sum(common)); err != nil || !bytes.Equal(b, common) {
		t.Fatalf("shared file of the kept case: %v", err)
	}
	if n, _ := db.CountCases(ctx, app.CaseFilter{Query: "Bleibt"}); n != 1 {
		t.Fatalf("kept case not found by search: %d", n)
	}
	mustCase(t, db, keptCase.Ref)

	// The deletion is logged by reference only.
	acts := auditActions(t, db, gone.Ref)
	if last := acts[len(acts)-1]; !strings.HasPrefix(last, "system case.purge service=hund-anmelden office=vg-zell closed=") {
		t.Fatalf("last audit entry %q", last)
	}

	if hits := filesContaining(t, dir, forms); len(hits) > 0 {
		t.Fatalf("after the purge, with the database open, the marker is still in: %v", hits)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if hits := filesContaining(t, dir, forms); len(hits) > 0 {
		t.Fatalf("after the purge and close the marker is still in: %v", hits)
	}
}

func mustCase(t *testing.T, db *DB, ref string) *app.Case {
	t.Helper()
	c, err := db.CaseByRef(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
