// Package portalsim is the portal's side of the return channel, for the
// demo and the tests: it takes the offices' status messages (from a
// mailbox by IMAP, from an in-process SMTP server, or handed in directly),
// verifies each with the offices' public keys it knows, and answers each
// Message-ID once with a signed quittung delivery (version 2,
// X-Buergerportal-Art: quittung, as portal/examples/12-quittung.eml) for
// the functional mailbox. It is not the portal; production code never
// uses it.
package portalsim

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	gosync "sync"
	"time"

	"github.com/emersion/go-message/mail"

	"amtstresen/app"
	"amtstresen/sync/internal/signedmail"
	"amtstresen/sync/rueckkanal"
)

// Defaults of the quittung mail's addresses (as in 12-quittung.eml).
const (
	DefaultFrom = "Bürgerportal Cochem-Zell <noreply@cochem-zell-online.de>"
	DefaultTo   = "Funktionspostfach Bürgerportal <eingang@cochem-zell-online.example>"
)

// Config is the simulated portal.
type Config struct {
	// PortalKey signs the quittungen (required): the portal's documented
	// test key in tests (portaltest.TestKey), the demo's own key in the
	// demo. portalsim embeds no key, so that the program (the demo) links
	// no test key.
	PortalKey ed25519.PrivateKey
	// OfficeKeys are the offices' public keys the portal knows.
	OfficeKeys map[app.OfficeKey]ed25519.PublicKey
	// KnownCase reports whether the portal knows a case; nil: every case.
	KnownCase func(vorgang string) bool
	// Outcome decides what happens to a verified status message
	// (servicekonto, email or unzustellbar); nil: servicekonto.
	Outcome func(*rueckkanal.Status) rueckkanal.Ergebnis
	// From and To of the quittung mails.
	From, To string
	Now      func() time.Time
}

// OutcomeByCase answers per case (portal case id → result), else def.
func OutcomeByCase(m map[string]rueckkanal.Ergebnis, def rueckkanal.Ergebnis) func(*rueckkanal.Status) rueckkanal.Ergebnis {
	return func(s *rueckkanal.Status) rueckkanal.Ergebnis {
		if e, ok := m[s.Vorgang]; ok {
			return e
		}
		return def
	}
}

// Portal answers status messages.
type Portal struct {
	cfg Config

	mu       gosync.Mutex
	answered map[string]bool // Message-IDs answered
}

// New returns a portal with defaults filled in.
func New(c Config) *Portal {
	if len(c.PortalKey) != ed25519.PrivateKeySize {
		panic("portalsim: Config.PortalKey is required")
	}
	if c.From == "" {
		c.From = DefaultFrom
	}
	if c.To == "" {
		c.To = DefaultTo
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return &Portal{cfg: c, answered: map[string]bool{}}
}

// Answer is the portal's answer to one status message.
type Answer struct {
	MessageID string               // the status message's, without angle brackets
	Quittung  *rueckkanal.Quittung // nil when the message could not be answered
	Raw       []byte               // the quittung delivery
	// Duplicate: this Message-ID was answered before; nothing is sent.
	Duplicate bool
	// Refusal is why the status was refused (ergebnis abgelehnt), else nil.
	Refusal *rueckkanal.Refusal
}

// Answer verifies one status message and writes its quittung. A Message-ID
// seen before gets none (Duplicate). A message without Message-ID, case or
// nachricht cannot be named in a quittung: it returns an error.
func (p *Portal) Answer(raw []byte) (*Answer, error) {
	v, err := rueckkanal.Verify(raw, p.cfg.OfficeKeys)
	a := &Answer{MessageID: v.MessageID}
	if a.MessageID == "" {
		return a, fmt.Errorf("portalsim: status message without Message-ID")
	}
	p.mu.Lock()
	dup := p.answered[a.MessageID]
	p.answered[a.MessageID] = true
	p.mu.Unlock()
	if dup {
		a.Duplicate = true
		return a, nil
	}
	undo := func() { p.forget(a.MessageID) }
	st := v.Status
	if st == nil || !app.IsUUID(st.Vorgang) || !app.IsUUID(st.Nachricht) {
		undo()
		return a, fmt.Errorf("portalsim: status message %s names no case or nachricht", a.MessageID)
	}
	q := &rueckkanal.Quittung{Schema: rueckkanal.QuittungSchema, Art: "quittung", Vorgang: st.Vorgang,
		Nachricht: st.Nachricht, MessageID: "<" + a.MessageID + ">", Zeitpunkt: rueckkanal.FormatTime(p.cfg.Now())}
	switch r, refused := rueckkanal.IsRefusal(err); {
	case refused:
		q.Ergebnis, q.Grund, a.Refusal = rueckkanal.ErgebnisAbgelehnt, r.Grund, r
	case err != nil:
		undo()
		return a, err
	case p.cfg.KnownCase != nil && !p.cfg.KnownCase(st.Vorgang):
		q.Ergebnis, q.Grund = rueckkanal.ErgebnisAbgelehnt, rueckkanal.GrundVorgangUnbekannt
		a.Refusal = &rueckkanal.Refusal{Grund: q.Grund, Message: "Das Portal kennt den Vorgang nicht."}
	case p.cfg.Outcome != nil:
		q.Ergebnis = p.cfg.Outcome(st)
	default:
		q.Ergebnis = rueckkanal.ErgebnisServicekonto
	}
	a.Quittung = q
	a.Raw, err = ComposeQuittung(q, p.cfg.PortalKey, p.cfg.From, p.cfg.To, p.cfg.Now())
	if err != nil {
		undo()
		return a, err
	}
	return a, nil
}

// Seen marks Message-IDs as answered (a portal that restarts and reads
// which mails it has answered already).
func (p *Portal) Seen(ids ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, id := range ids {
		p.answered[strings.Trim(id, "<>")] = true
	}
}

// forget takes back an answer that could not be delivered.
func (p *Portal) forget(id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.answered, id)
}

// ComposeQuittung writes a quittung delivery as the portal sends it into
// the functional mailbox, signed with key over the exact bytes of
// quittung.json. The sync's tests and the demo can use it too.
func ComposeQuittung(q *rueckkanal.Quittung, key ed25519.PrivateKey, from, to string, date time.Time) ([]byte, error) {
	fa, err := mail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("quittung from: %w", err)
	}
	ta, err := mail.ParseAddress(to)
	if err != nil {
		return nil, fmt.Errorf("quittung to: %w", err)
	}
	js, err := q.JSON()
	if err != nil {
		return nil, err
	}
	var b [10]byte
	rand.Read(b[:])
	short := q.Vorgang
	if len(short) > 8 {
		short = short[:8]
	}
	text := fmt.Sprintf("Die Statusmeldung %s zu Vorgang %s: %s.\n", q.MessageID, q.Vorgang, q.Ergebnis.Label())
	if q.Grund != "" {
		text += "Grund: " + q.Grund + "\n"
	}
	m := signedmail.Mail{
		From: fa, To: ta, Date: date, MessageID: hex.EncodeToString(b[:]) + "@mail.cochem-zell-online.de",
		Subject: fmt.Sprintf("[Bürgerportal] Quittung zu Vorgang %s: %s", short, q.Ergebnis.Label()),
		Fields: [][2]string{
			{"Auto-Submitted", "auto-generated"},
			{rueckkanal.HeaderVersion, "2"},
			{rueckkanal.HeaderArt, "quittung"},
			{rueckkanal.HeaderVorgang, q.Vorgang},
		},
		Summary: text, JSONName: "quittung.json", JSON: js,
	}
	return m.Build(key)
}
