package sync

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"testing"

	"github.com/emersion/go-imap/v2"

	"amtstresen/app"
	"amtstresen/sync/delivery"
	"amtstresen/sync/internal/memstore"
	"amtstresen/sync/mailbox"
	"amtstresen/sync/portaltest"
)

// fuzzMail builds a whole delivery from fuzzed parts: the header fields
// that claim what it is, the signed part under a name, an attachment;
// the signature is made with the test key over the part as given.
func fuzzMail(kind, version, vorgang, partName string, payload []byte, attachName string, attach []byte, n int) []byte {
	sig := ed25519.Sign(portaltest.TestKey(), payload)
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: Portal <noreply@cochem-zell-online.de>\r\nMessage-ID: <fuzz-%d@x>\r\nSubject: Fuzz %d\r\n", n, n)
	fmt.Fprintf(&b, "X-Buergerportal-Version: %s\r\nX-Buergerportal-Art: %s\r\nX-Buergerportal-Vorgang: %s\r\n", version, kind, vorgang)
	fmt.Fprintf(&b, "X-Buergerportal-Signatur: ed25519=%s\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n", base64.StdEncoding.EncodeToString(sig))
	fmt.Fprintf(&b, "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nZusammenfassung\r\n")
	fmt.Fprintf(&b, "--b1\r\nContent-Type: application/json\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"%s\"\r\n\r\n%s\r\n",
		partName, base64.StdEncoding.EncodeToString(payload))
	if attachName != "" {
		fmt.Fprintf(&b, "--b1\r\nContent-Type: image/jpeg\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"%s\"\r\n\r\n%s\r\n",
			attachName, base64.StdEncoding.EncodeToString(attach))
	}
	b.WriteString("--b1--\r\n")
	return b.Bytes()
}

// FuzzDeliveries runs whole deliveries, signed with the test key, through
// the sync (in-process IMAP server, in-memory store) and holds the
// invariants: the app never panics and never fails on a mail; every mail
// ends as exactly one effect (a receipt that took it in, with its case
// there) or exactly one review entry; nothing on the server is lost or
// duplicated, and each mail is filed where its receipt says.
func FuzzDeliveries(f *testing.F) {
	g := portaltest.New(71)
	g2 := portaltest.New(72)
	g2.Version = 2
	pub := portaltest.TestPublicKey()
	a := g.Antrag(portaltest.AntragSpec{Service: "sperrmuell"})
	a2 := g2.Antrag(portaltest.AntragSpec{Service: "hund-anmelden"})
	t1, _ := g.Termin(portaltest.TerminSpec{Vorgang: a.Vorgang})
	for _, m := range []*portaltest.Mail{a, a2, g.Nachricht(a.Vorgang, "Hallo"), g2.Nachricht(a2.Vorgang, "Hallo"), g.Ruecknahme(a.Vorgang, "weg"),
		g2.Ruecknahme(a2.Vorgang, "weg"), t1} {
		d := delivery.ParseDelivery(m.Raw, pub, delivery.Limits{})
		name := map[string]string{delivery.KindAntrag: "antrag.json", delivery.KindTermin: "termin.ics"}[m.Kind]
		if name == "" {
			name = "nachricht.json"
		}
		version := "1"
		if bytes.Contains(d.Payload, []byte(`"art"`)) {
			version = "2"
		}
		for _, kind := range []string{m.Kind, delivery.KindRuecknahme, delivery.KindAntrag} {
			f.Add(kind, version, m.Vorgang, name, d.Payload, "impfpass.jpg", []byte{0xff, 0xd8, 0xff, 0xd9}, uint8(3))
		}
	}
	f.Add("nachricht", "2", a.Vorgang, "nachricht.json", []byte(`{"art":"nachricht","vorgang":"`+a.Vorgang+`","text":"\u202egpj.exe \u001b[2J"}`), "\u202egpj.exe", []byte("x"), uint8(1))
	f.Add("antrag", "1", "", "antrag.json", []byte(`{"angaben":`+string(bytes.Repeat([]byte(`{"a":`), 50))+`1`+string(bytes.Repeat([]byte("}"), 50))+`}`), "", []byte(nil), uint8(0))
	f.Fuzz(func(t *testing.T, kind, version, vorgang, partName string, payload []byte, attachName string, attach []byte, opts uint8) {
		raws := [][]byte{a.Raw, fuzzMail(kind, version, vorgang, partName, payload, attachName, attach, 1)}
		if opts&1 != 0 {
			raws = append(raws, raws[1]) // a byte-identical copy
		}
		if opts&2 != 0 {
			raws = append(raws, fuzzMail(delivery.KindRuecknahme, version, vorgang, "nachricht.json", payload, attachName, attach, 2)) // relabelled
		}
		srv, err := portaltest.StartMemServer("eingang", "pw", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		for _, r := range raws {
			if err := srv.Append("INBOX", r); err != nil {
				t.Fatal(err)
			}
		}
		st := memstore.New()
		cfg := memConfig(srv)
		s, err := New(cfg, st, testReg, nil)
		if err != nil {
			t.Fatal(err)
		}
		s.Password = func() (string, error) { return "pw", nil }
		s.BatchSize = 1 + int(opts>>4)
		res, err := s.Sync(context.Background(), nil)
		if err != nil {
			t.Fatalf("sync failed on a mail: %v", err)
		}
		// Nothing lost, nothing duplicated on the server.
		processed, review := srv.Count("Übernommen"), srv.Count("Zur Sichtung")
		if srv.Count("INBOX") != 0 || processed+review != len(raws) {
			t.Fatalf("server: inbox %d, processed %d, review %d for %d mails (%+v)", srv.Count("INBOX"), processed, review, len(raws), res)
		}
		// Every mail as the server holds it (a server may store other line
		// ends than were appended): exactly one effect or exactly one
		// review entry.
		wantProcessed, wantReview := 0, 0
		for _, r := range serverMails(t, cfg, "Übernommen", "Zur Sichtung") {
			sum := sha256.Sum256(r)
			key := hex.EncodeToString(sum[:])
			rc, ok := st.Taken[key]
			if !ok {
				t.Fatalf("mail without a receipt")
			}
			entries := 0
			for _, it := range st.Reviews {
				if it.SHA256 == key {
					entries++
				}
			}
			if rc.TakenIn() {
				wantProcessed++
				if entries > 1 || (entries == 1 && !reviewResolved(st, key)) {
					t.Errorf("a mail taken in (%s) is also open on the review list", rc.Kind)
				}
				if rc.PortalCase == "" {
					t.Errorf("a mail taken in (%s) names no signed case", rc.Kind)
				}
				if rc.Kind != delivery.KindTermin {
					if _, err := st.CaseByPortalID(context.Background(), rc.PortalCase); err != nil {
						t.Errorf("%s taken in, but no case %s", rc.Kind, rc.PortalCase)
					}
				}
				continue
			}
			wantReview++
			if entries != 1 {
				t.Errorf("a mail on review has %d entries", entries)
			}
		}
		if processed != wantProcessed || review != wantReview {
			t.Errorf("filed %d/%d, receipts say %d/%d", processed, review, wantProcessed, wantReview)
		}
		// A case is withdrawn only by a withdrawal signed as one (format 2).
		signed := false
		for _, r := range raws {
			d := delivery.ParseDelivery(r, portaltest.TestPublicKey(), delivery.Limits{})
			signed = signed || d.Review == "" && d.Kind == delivery.KindRuecknahme && d.Version == 2 && d.Vorgang == a.Vorgang
		}
		if c, err := st.CaseByPortalID(context.Background(), a.Vorgang); err == nil && c.Status == app.StatusWithdrawn && !signed {
			t.Errorf("case withdrawn by a mail not signed as a withdrawal (%q, version %q)", kind, version)
		}
	})
}

// serverMails fetches every mail of the folders.
func serverMails(t *testing.T, cfg *app.Config, boxes ...string) [][]byte {
	t.Helper()
	conn, err := mailbox.Dial(context.Background(), &cfg.IMAP, "pw", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cl := conn.Client()
	var out [][]byte
	for _, box := range boxes {
		sel, err := cl.Select(box, nil).Wait()
		if err != nil {
			t.Fatal(err)
		}
		if sel.NumMessages == 0 {
			continue
		}
		msgs, err := cl.Fetch(imap.SeqSetNum(seqRange(sel.NumMessages)...), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			for _, b := range m.BodySection {
				out = append(out, b.Bytes)
			}
		}
	}
	return out
}

func seqRange(n uint32) []uint32 {
	out := make([]uint32, n)
	for i := range out {
		out[i] = uint32(i + 1)
	}
	return out
}

func reviewResolved(st *memstore.Store, key string) bool {
	for _, it := range st.Reviews {
		if it.SHA256 == key && !it.Handled {
			return false
		}
	}
	return true
}
