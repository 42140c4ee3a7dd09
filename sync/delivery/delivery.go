// Package delivery reads the Bürgerportal's deliveries (portal/README.md,
// format versions 1 and 2): it parses a mail, checks the portal's
// signature over its signed part and says what the mail is, or why it
// goes to the review list.
//
// The parser is pure: it never touches the network or the store and never
// panics on hostile input; everything it does not trust comes back with a
// review reason. The caps (Limits) bound what a hostile mail can cost.
//
// It imports app and sync/internal/edbatch (the batch signature check),
// nothing of IMAP or storage.
package delivery

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"path"
	"runtime"
	"strings"
	"time"

	"amtstresen/app"
	"amtstresen/sync/internal/allcores"
	"amtstresen/sync/internal/cleantext"
	"amtstresen/sync/internal/edbatch"
)

// Delivery kinds (X-Buergerportal-Art).
const (
	KindAntrag     = "antrag"
	KindNachricht  = "nachricht"
	KindRuecknahme = "ruecknahme"
	KindTermin     = "termin"
	// KindQuittung is the portal's receipt for one of the office's status
	// messages (portal/README.md section 8.2): version 2 only; Payload is
	// the signed quittung.json, which sync/rueckkanal.ParseQuittung reads.
	KindQuittung = "quittung"
	KindReview   = "review" // anything that goes to the review list
)

// Limits cap what the parser accepts from a mail, so that a hostile mail
// can neither use up memory nor hide in a field too large to show. A mail
// over a cap goes to the review list as too-large, with the cap it broke
// in the detail; it is kept there whole (up to MaxBytes).
//
// The portal sets no number of attachments; MaxAttachments is far above
// any real application, and the part limit follows from it (the
// summary, the signed part, the form's PDF and the nesting of a calendar
// come on top), so that no application the portal can send within the
// size limit is refused for its number of parts.
type Limits struct {
	MaxBytes       int64 // whole mail; default 25 MB
	MaxDepth       int   // nesting of multiparts; default 8
	MaxAttachments int   // announced attachments per delivery; default 500
	MaxParts       int   // leaf parts; default MaxAttachments + 10
	MaxPayload     int   // the signed part (JSON or calendar); default 1 MB
	MaxField       int   // bytes of one text value or name in the signed part; default 4 KB
	MaxText        int   // bytes of a citizen's message text and of a calendar line; default 64 KB
	MaxList        int   // entries of one JSON list or object; default 1,000
	MaxValues      int   // values in one signed JSON part; default 20,000
	MaxJSONDepth   int   // nesting of the signed JSON; default 32
}

// DefaultLimits are used for zero fields.
var DefaultLimits = Limits{MaxBytes: 25 << 20, MaxDepth: 8, MaxAttachments: 500, MaxPayload: 1 << 20,
	MaxField: 4 << 10, MaxText: 64 << 10, MaxList: 1000, MaxValues: 20000, MaxJSONDepth: 32}

// WithDefaults is l with DefaultLimits for its zero fields.
func (l Limits) WithDefaults() Limits {
	d := DefaultLimits
	def := func(p *int, v int) {
		if *p <= 0 {
			*p = v
		}
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = d.MaxBytes
	}
	def(&l.MaxDepth, d.MaxDepth)
	def(&l.MaxAttachments, d.MaxAttachments)
	def(&l.MaxParts, l.MaxAttachments+10)
	def(&l.MaxPayload, d.MaxPayload)
	def(&l.MaxField, d.MaxField)
	def(&l.MaxText, d.MaxText)
	def(&l.MaxList, d.MaxList)
	def(&l.MaxValues, d.MaxValues)
	def(&l.MaxJSONDepth, d.MaxJSONDepth)
	return l
}

// Delivery is one mail as the sync understands it. When Review is not empty
// the mail is not a genuine, understood delivery and goes to the review list;
// then only the header fields are set.
type Delivery struct {
	// Header fields (unverified: never used to decide anything that matters).
	MessageID string // without angle brackets; synthesized when missing
	Subject   string
	From      string
	Date      time.Time
	Size      int64
	// Kind and Vorgang: for a genuine delivery (Review "") what the signed
	// part says; otherwise the unverified header values.
	Kind     string // X-Buergerportal-Art
	Vorgang  string // X-Buergerportal-Vorgang
	Leistung string // X-Buergerportal-Leistung
	// Version is the format version (1: only the part is signed; 2: the
	// part also names its kind and case, portal/README.md section 9).
	Version int

	// Review is set when the mail goes to the review list.
	Review app.ReviewReason
	Detail string // technical reason, no personal data

	// Payload is the exact decoded bytes the signature covers.
	Payload []byte
	// Exactly one of these is set for a genuine delivery.
	Antrag      *Antrag
	Message     *Message // nachricht and ruecknahme
	Appointment *app.Appointment

	// Files are the citizen's attachments as announced in the JSON, checked
	// against size and SHA-256. Data is nil for a missing one.
	Files []app.NewAttachment
	// Flags found while checking (attachment-missing, attachment-mismatch).
	Flags []app.Flag
}

// Antrag is antrag.json. Unknown fields are kept in Raw (the payload).
type Antrag struct {
	Art         string `json:"art"` // format 2: "antrag"
	Schema      string `json:"schema"`
	Vorgang     string `json:"vorgang"`
	Eingereicht string `json:"eingereicht"`
	Leistung    struct {
		Schluessel  string `json:"schluessel"`
		Leika       string `json:"leika"`
		Bezeichnung string `json:"bezeichnung"`
	} `json:"leistung"`
	Antragsteller app.Applicant   `json:"antragsteller"`
	Servicekonto  string          `json:"servicekonto"`
	Angaben       json.RawMessage `json:"angaben"`
	Anlagen       []Anlage        `json:"anlagen"`
}

// Anlage is an announced attachment.
type Anlage struct {
	Datei   string `json:"datei"`
	Typ     string `json:"typ"`
	Groesse int64  `json:"groesse"`
	SHA256  string `json:"sha256"`
}

// Message is nachricht.json (also used by ruecknahme).
type Message struct {
	Art      string   `json:"art"` // format 2: "nachricht" or "ruecknahme"
	Vorgang  string   `json:"vorgang"`
	Gesendet string   `json:"gesendet"`
	Text     string   `json:"text"`
	Anlagen  []Anlage `json:"anlagen"`
}

// messageShape is nachricht.json with the fields only an application has:
// in format 1 an antrag.json re-sent as a message or withdrawal is told
// apart by them (portal/README.md section 9).
type messageShape struct {
	Message
	Schema        json.RawMessage `json:"schema"`
	Leistung      json.RawMessage `json:"leistung"`
	Antragsteller json.RawMessage `json:"antragsteller"`
	Angaben       json.RawMessage `json:"angaben"`
	Eingereicht   json.RawMessage `json:"eingereicht"`
}

func (m *messageShape) looksLikeAntrag() bool {
	return m.Schema != nil || m.Leistung != nil || m.Antragsteller != nil || m.Angaben != nil || m.Eingereicht != nil
}

// SentAt parses gesendet; zero when unreadable.
func (m *Message) SentAt() time.Time {
	t, _ := time.Parse(time.RFC3339, m.Gesendet)
	return t
}

// ReceivedAt parses eingereicht; zero when unreadable.
func (a *Antrag) ReceivedAt() time.Time {
	t, _ := time.Parse(time.RFC3339, a.Eingereicht)
	return t
}

// Key returns the idempotency key of a signed payload: hex SHA-256.
func (d *Delivery) Key() string {
	s := sha256.Sum256(d.Payload)
	return hex.EncodeToString(s[:])
}

// part is a decoded leaf of the MIME tree.
type part struct {
	mediaType string // lower case, e.g. "application/json"
	params    map[string]string
	filename  string // from Content-Disposition or Content-Type name
	data      []byte // decoded (transfer encoding removed)
}

var errMalformed = errors.New("malformed")

// headerDecoder decodes RFC 2047 words; unknown charsets are left encoded.
var headerDecoder = &mime.WordDecoder{CharsetReader: func(charset string, input io.Reader) (io.Reader, error) {
	switch strings.ToLower(charset) {
	case "windows-1252", "cp1252", "latin1", "iso-8859-15":
		return latin1Reader(input)
	}
	return nil, fmt.Errorf("charset %s", charset)
}}

func latin1Reader(r io.Reader) (io.Reader, error) {
	b, err := io.ReadAll(io.LimitReader(r, 1<<16))
	if err != nil {
		return nil, err
	}
	var out strings.Builder
	for _, c := range b {
		out.WriteRune(rune(c))
	}
	return strings.NewReader(out.String()), nil
}

func decodeHeader(s string) string {
	d, err := headerDecoder.DecodeHeader(s)
	if err != nil {
		d = s
	}
	return cleantext.Line(d, 998)
}

// SafeName makes an attachment name safe to show and store: never a path,
// no control characters, at most 200 bytes.
func SafeName(name string) string {
	name = strings.ReplaceAll(name, "\\", "/")
	name = path.Base(name)
	name = cleantext.Line(name, 200)
	name = strings.TrimLeft(name, ".")
	if name == "" || name == "/" {
		return "anlage"
	}
	return name
}

// headerInfo fills the header fields of d from h.
func headerInfo(d *Delivery, h mail.Header, raw []byte) {
	d.MessageID = normalizeMessageID(h.Get("Message-Id"))
	if d.MessageID == "" {
		d.MessageID = SyntheticMessageID(raw)
	}
	d.Subject = decodeHeader(h.Get("Subject"))
	d.From = decodeHeader(h.Get("From"))
	if t, err := parseMailDate(h.Get("Date")); err == nil {
		d.Date = t
	}
	d.Kind = strings.ToLower(cleantext.Line(h.Get("X-Buergerportal-Art"), 40))
	d.Vorgang = strings.ToLower(cleantext.Line(h.Get("X-Buergerportal-Vorgang"), 80))
	d.Leistung = cleantext.Line(h.Get("X-Buergerportal-Leistung"), 80)
}

// normalizeMessageID returns the id without angle brackets and space.
func normalizeMessageID(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '<'); i >= 0 {
		if j := strings.IndexByte(s[i:], '>'); j > 0 {
			s = s[i+1 : i+j]
		}
	}
	return cleantext.Line(s, 500)
}

// SyntheticMessageID gives a mail without a Message-ID a stable id derived
// from its header block, so that Processed can still recognise it.
func SyntheticMessageID(raw []byte) string {
	hdr := raw
	if i := bytes.Index(raw, []byte("\r\n\r\n")); i >= 0 {
		hdr = raw[:i]
	} else if i := bytes.Index(raw, []byte("\n\n")); i >= 0 {
		hdr = raw[:i]
	}
	s := sha256.Sum256(hdr)
	return "ohne-id-" + hex.EncodeToString(s[:16]) + "@amtstresen.invalid"
}

// ParseHeaderOnly reads just the header block of a mail (used for mails too
// large to download) and returns a delivery for review.
func ParseHeaderOnly(hdr []byte, size int64) *Delivery {
	d := &Delivery{Size: size, Review: app.ReviewTooLarge}
	hdr = normalizeCR(hdr)
	h, _, err := splitHeader(hdr)
	if err != nil {
		d.MessageID = SyntheticMessageID(hdr)
		d.Detail = "Kopfzeilen nicht lesbar"
		return d
	}
	headerInfo(d, mail.Header(h), hdr)
	d.Detail = fmt.Sprintf("Größe %d Bytes", size)
	return d
}

// ParseDelivery parses and verifies one mail. pub is the portal's public
// key; with a nil key every portal delivery is signature-invalid.
func ParseDelivery(raw []byte, pub ed25519.PublicKey, lim Limits) *Delivery {
	d, u := parseSigned(raw, lim)
	if u == nil {
		return d
	}
	return u.finish(len(pub) == ed25519.PublicKeySize && ed25519.Verify(pub, u.payload, u.sig))
}

// Verifier checks the portal's signatures, many at a time.
type Verifier struct {
	batch *edbatch.Verifier
}

// NewVerifier returns the verifier for the portal's public key; it fails
// for a key that is not a point of the curve.
func NewVerifier(pub ed25519.PublicKey) (*Verifier, error) {
	v, err := edbatch.NewVerifier(pub)
	if err != nil {
		return nil, err
	}
	return &Verifier{batch: v}, nil
}

// ParseDeliveries parses and verifies many mails on all cores, with the
// signatures checked as one batch (about a third of the cost of checking
// each alone; nil v: every signature is invalid). Each result is what
// ParseDelivery returns for that mail.
func ParseDeliveries(raws [][]byte, v *Verifier, lim Limits) []*Delivery {
	type job struct {
		i, k int // index into raws, into pending
		u    *unverified
	}
	out := make([]*Delivery, len(raws))
	jobs := make([]*job, len(raws))
	for i := range jobs {
		jobs[i] = &job{i: i}
	}
	allcores.Do(jobs, func(j *job) { out[j.i], j.u = parseSigned(raws[j.i], lim) })
	var pending []*job
	for _, j := range jobs {
		if j.u != nil {
			j.k = len(pending)
			pending = append(pending, j)
		}
	}
	ok := make([]bool, len(pending))
	if v != nil && len(pending) > 0 {
		// One batch per core.
		n := runtime.GOMAXPROCS(0)
		size := (len(pending) + n - 1) / n
		var chunks [][2]int
		for lo := 0; lo < len(pending); lo += size {
			chunks = append(chunks, [2]int{lo, min(lo+size, len(pending))})
		}
		allcores.Do(chunks, func(c [2]int) {
			msgs, sigs := make([][]byte, 0, c[1]-c[0]), make([][]byte, 0, c[1]-c[0])
			for _, j := range pending[c[0]:c[1]] {
				msgs, sigs = append(msgs, j.u.payload), append(sigs, j.u.sig)
			}
			copy(ok[c[0]:c[1]], v.batch.VerifyAll(msgs, sigs))
		})
	}
	allcores.Do(pending, func(j *job) { out[j.i] = j.u.finish(ok[j.k]) })
	return out
}

func (d *Delivery) toReview(r app.ReviewReason, detail string, a ...any) *Delivery {
	d.Review, d.Detail = r, fmt.Sprintf(detail, a...)
	d.Payload, d.Antrag, d.Message, d.Appointment, d.Files, d.Flags = nil, nil, nil, nil, nil, nil
	return d
}

// unverified is a portal delivery parsed up to its signature check.
type unverified struct {
	d           *Delivery
	payload     []byte
	sig         []byte
	parts       []part
	payloadName string
	lim         Limits
}

// capError is a mail over one of the Limits: it goes to review as
// too-large, with the German detail.
type capError struct{ detail string }

func (e *capError) Error() string { return e.detail }

func tooLarge(format string, a ...any) error { return &capError{fmt.Sprintf(format, a...)} }

// parseSigned parses a mail up to the signature check. A mail that is
// decided without it (not a portal delivery, malformed, no signature) is
// returned whole with a nil *unverified.
func parseSigned(raw []byte, lim Limits) (*Delivery, *unverified) {
	lim = lim.WithDefaults()
	d := &Delivery{Size: int64(len(raw))}
	review := func(r app.ReviewReason, detail string, a ...any) (*Delivery, *unverified) {
		return d.toReview(r, detail, a...), nil
	}
	raw = normalizeCR(raw)
	if int64(len(raw)) > lim.MaxBytes {
		d.MessageID = SyntheticMessageID(raw)
		if h, _, err := splitHeader(raw); err == nil {
			headerInfo(d, mail.Header(h), raw)
		}
		return review(app.ReviewTooLarge, "Größe %d Bytes über der Grenze von %d", len(raw), lim.MaxBytes)
	}
	hdr, body, err := splitHeader(raw)
	if err != nil {
		d.MessageID = SyntheticMessageID(raw)
		return review(app.ReviewMalformed, "Kopfzeilen nicht lesbar")
	}
	mh := mail.Header(hdr)
	headerInfo(d, mh, raw)
	parts := make([]part, 0, 8)
	if err := walk(hdr, body, 0, lim, &parts); err != nil {
		var ce *capError
		if errors.As(err, &ce) {
			return review(app.ReviewTooLarge, "%s", ce.detail)
		}
		return review(app.ReviewMalformed, "MIME: %v", err)
	}
	isPortal := d.Kind != "" || mh.Get("X-Buergerportal-Version") != "" || mh.Get("X-Buergerportal-Signatur") != ""
	if !isPortal {
		return review(app.ReviewNotPortal, "keine Kopfzeile X-Buergerportal-Art")
	}
	sigHeader := strings.Join(strings.Fields(mh.Get("X-Buergerportal-Signatur")), "")
	if sigHeader == "" {
		return review(app.ReviewSignatureMissing, "keine Kopfzeile X-Buergerportal-Signatur")
	}
	var payloadName string
	switch d.Kind {
	case KindAntrag:
		payloadName = "antrag.json"
	case KindNachricht, KindRuecknahme:
		payloadName = "nachricht.json"
	case KindTermin:
		payloadName = "termin.ics"
	case KindQuittung:
		payloadName = "quittung.json"
	default:
		return review(app.ReviewPayloadInvalid, "unbekannte Art %q", d.Kind)
	}
	switch v := strings.TrimSpace(mh.Get("X-Buergerportal-Version")); v {
	case "1":
		d.Version = 1
	case "2":
		d.Version = 2
	default:
		return review(app.ReviewPayloadInvalid, "Formatversion %q (verstanden werden 1 und 2)", cleantext.Line(v, 20))
	}
	if d.Kind == KindQuittung && d.Version < 2 {
		// The return channel came with version 2: a quittung must name
		// its kind and case in the signed part.
		return review(app.ReviewPayloadInvalid, "Quittung im Format %d (nur Format 2 hat Quittungen)", d.Version)
	}
	sig, ok := parseSignature(sigHeader)
	if !ok {
		return review(app.ReviewSignatureInvalid, "Signatur-Kopfzeile nicht lesbar")
	}
	// The signed part: exactly one part with the name; for termin also the
	// inline calendar is accepted when no termin.ics is attached.
	var cands []*part
	for i := range parts {
		if strings.EqualFold(parts[i].filename, payloadName) {
			cands = append(cands, &parts[i])
		}
	}
	if len(cands) == 0 && d.Kind == KindTermin {
		for i := range parts {
			if parts[i].mediaType == "text/calendar" {
				cands = append(cands, &parts[i])
			}
		}
	}
	if len(cands) == 0 {
		return review(app.ReviewPayloadInvalid, "Teil %s fehlt", payloadName)
	}
	if len(cands) > 1 && !(d.Kind == KindTermin && allEqual(cands)) {
		return review(app.ReviewPayloadInvalid, "Teil %s mehrfach vorhanden", payloadName)
	}
	if n := len(cands[0].data); n > lim.MaxPayload {
		return review(app.ReviewTooLarge, "%s ist %d Bytes groß (Grenze %d Bytes)", payloadName, n, lim.MaxPayload)
	}
	return d, &unverified{d: d, payload: cands[0].data, sig: sig, parts: parts, payloadName: payloadName, lim: lim}
}

// normalizeCR turns the line ends of a mail written with CR alone (old
// Mac programs, some broken gateways) into CR LF, so that its header can
// be read and the review list shows its subject and sender. Mails with
// proper line ends are returned as they are.
func normalizeCR(raw []byte) []byte {
	head := raw[:min(len(raw), 64<<10)]
	cr := bytes.Count(head, []byte("\r"))
	if cr == 0 {
		return raw
	}
	lone := cr - bytes.Count(head, []byte("\r\n"))
	if lone == 0 || lone <= bytes.Count(head, []byte("\n")) {
		return raw
	}
	out := make([]byte, 0, len(raw)+lone+len(raw)/64)
	for i, c := range raw {
		out = append(out, c)
		if c == '\r' && (i+1 == len(raw) || raw[i+1] != '\n') {
			out = append(out, '\n')
		}
	}
	return out
}

// finish completes the parse after the signature check (ok: valid). From
// here the signed part decides what the mail is: in format 2 its kind and
// case, which the headers must match; in format 1 the part must at least
// have the shape of the kind the header claims.
func (u *unverified) finish(ok bool) *Delivery {
	d, payload, parts, payloadName, lim := u.d, u.payload, u.parts, u.payloadName, u.lim
	review := d.toReview
	if !ok {
		return review(app.ReviewSignatureInvalid, "Ed25519-Prüfung von %s fehlgeschlagen", payloadName)
	}
	d.Payload = payload
	if d.Kind == KindTermin {
		if detail, ok := checkICSSize(payload, lim); !ok {
			return review(app.ReviewTooLarge, "termin.ics: %s", detail)
		}
	} else if detail, ok := checkJSON(payload, lim, "text"); !ok {
		return review(app.ReviewTooLarge, "%s: %s", payloadName, detail)
	}
	// checkArt: the kind the signed part names (format 2 must name it).
	checkArt := func(art string) (string, bool) {
		art = strings.ToLower(strings.TrimSpace(art))
		switch {
		case art == "" && d.Version >= 2:
			return fmt.Sprintf("%s: „art“ fehlt (Format 2)", payloadName), false
		case art != "" && art != d.Kind:
			return fmt.Sprintf("%s ist als „%s“ signiert, die Kopfzeile X-Buergerportal-Art sagt „%s“", payloadName, cleantext.Line(art, 40), d.Kind), false
		}
		return "", true
	}

	switch d.Kind {
	case KindAntrag:
		var a Antrag
		if err := json.Unmarshal(payload, &a); err != nil {
			return review(app.ReviewPayloadInvalid, "antrag.json: %s", jsonErr(err))
		}
		if detail, ok := checkArt(a.Art); !ok {
			return review(app.ReviewPayloadInvalid, "%s", detail)
		}
		a.Vorgang = strings.ToLower(strings.TrimSpace(a.Vorgang))
		switch {
		case !app.IsUUID(a.Vorgang):
			return review(app.ReviewPayloadInvalid, "antrag.json: vorgang fehlt oder ist keine UUID")
		case d.Vorgang != "" && d.Vorgang != a.Vorgang:
			return review(app.ReviewPayloadInvalid, "Vorgang in Kopfzeile und antrag.json verschieden")
		case strings.TrimSpace(a.Leistung.Schluessel) == "":
			return review(app.ReviewPayloadInvalid, "antrag.json: leistung.schluessel fehlt")
		case len(a.Anlagen) > lim.MaxAttachments:
			d.Payload = nil
			return review(app.ReviewTooLarge, "antrag.json kündigt %d Anlagen an (Grenze %d)", len(a.Anlagen), lim.MaxAttachments)
		}
		if len(a.Angaben) > 0 && !bytes.HasPrefix(bytes.TrimSpace(a.Angaben), []byte("{")) && !bytes.Equal(bytes.TrimSpace(a.Angaben), []byte("null")) {
			return review(app.ReviewPayloadInvalid, "antrag.json: angaben ist kein Objekt")
		}
		d.Vorgang, d.Leistung = a.Vorgang, a.Leistung.Schluessel
		d.Antrag = &a
		d.Files, d.Flags = checkFiles(a.Anlagen, parts, payloadName)
	case KindNachricht, KindRuecknahme:
		var msg messageShape
		if err := json.Unmarshal(payload, &msg); err != nil {
			return review(app.ReviewPayloadInvalid, "nachricht.json: %s", jsonErr(err))
		}
		if detail, ok := checkArt(msg.Art); !ok {
			return review(app.ReviewPayloadInvalid, "%s", detail)
		}
		if msg.looksLikeAntrag() {
			return review(app.ReviewPayloadInvalid, "%s hat die Form eines Antrags (antrag.json), nicht einer %s", payloadName, kindWord(d.Kind))
		}
		msg.Vorgang = strings.ToLower(strings.TrimSpace(msg.Vorgang))
		switch {
		case !app.IsUUID(msg.Vorgang):
			return review(app.ReviewPayloadInvalid, "nachricht.json: vorgang fehlt oder ist keine UUID")
		case d.Vorgang != "" && d.Vorgang != msg.Vorgang:
			return review(app.ReviewPayloadInvalid, "Vorgang in Kopfzeile und nachricht.json verschieden")
		case len(msg.Anlagen) > lim.MaxAttachments:
			return review(app.ReviewTooLarge, "nachricht.json kündigt %d Anlagen an (Grenze %d)", len(msg.Anlagen), lim.MaxAttachments)
		}
		d.Vorgang = msg.Vorgang
		m := msg.Message
		d.Message = &m
		d.Files, d.Flags = checkFiles(msg.Anlagen, parts, payloadName)
	case KindTermin:
		ev, err := ParseICS(payload)
		if err != nil {
			return review(app.ReviewPayloadInvalid, "termin.ics: %v", err)
		}
		ap := ev.Appointment()
		switch {
		case ap.PortalCase != "" && !app.IsUUID(ap.PortalCase):
			return review(app.ReviewPayloadInvalid, "termin.ics: X-BUERGERPORTAL-VORGANG ist keine UUID")
		case ap.PortalCase == "" && d.Version >= 2:
			return review(app.ReviewPayloadInvalid, "termin.ics: X-BUERGERPORTAL-VORGANG fehlt (Format 2)")
		case d.Vorgang != "" && ap.PortalCase != "" && d.Vorgang != ap.PortalCase:
			return review(app.ReviewPayloadInvalid, "Vorgang in Kopfzeile und termin.ics verschieden")
		}
		if ap.PortalCase == "" {
			ap.PortalCase = d.Vorgang
		}
		d.Vorgang, d.Leistung = ap.PortalCase, ap.Service
		d.Appointment = ap
	case KindQuittung:
		// Only what decides where the quittung belongs is checked here;
		// the sync reads the rest with rueckkanal.ParseQuittung.
		var q struct {
			Art       string `json:"art"`
			Vorgang   string `json:"vorgang"`
			Nachricht string `json:"nachricht"`
		}
		if err := json.Unmarshal(payload, &q); err != nil {
			return review(app.ReviewPayloadInvalid, "quittung.json: %s", jsonErr(err))
		}
		if detail, ok := checkArt(q.Art); !ok {
			return review(app.ReviewPayloadInvalid, "%s", detail)
		}
		q.Vorgang = strings.ToLower(strings.TrimSpace(q.Vorgang))
		switch {
		case !app.IsUUID(q.Vorgang):
			return review(app.ReviewPayloadInvalid, "quittung.json: vorgang fehlt oder ist keine UUID")
		case d.Vorgang != "" && d.Vorgang != q.Vorgang:
			return review(app.ReviewPayloadInvalid, "Vorgang in Kopfzeile und quittung.json verschieden")
		case !app.IsUUID(strings.TrimSpace(q.Nachricht)):
			return review(app.ReviewPayloadInvalid, "quittung.json: nachricht fehlt oder ist keine UUID")
		}
		d.Vorgang = q.Vorgang
	}
	return d
}

func kindWord(kind string) string {
	if kind == KindRuecknahme {
		return "Rücknahme"
	}
	return "Nachricht"
}

func allEqual(ps []*part) bool {
	for _, p := range ps[1:] {
		if !bytes.Equal(p.data, ps[0].data) {
			return false
		}
	}
	return true
}

func jsonErr(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("JSON-Syntaxfehler bei Byte %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("Feld %s hat den falschen Typ", te.Field)
	}
	return "JSON nicht lesbar"
}

func parseSignature(h string) ([]byte, bool) {
	v, ok := strings.CutPrefix(h, "ed25519=")
	if !ok {
		return nil, false
	}
	sig, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		sig, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(v, "="))
	}
	if err != nil || len(sig) != ed25519.SignatureSize {
		return nil, false
	}
	return sig, true
}

// checkFiles matches the announced attachments with the parts by name and
// checks size and SHA-256. Parts that are not announced are ignored: they
// are not covered by the signature.
func checkFiles(anlagen []Anlage, parts []part, payloadName string) ([]app.NewAttachment, []app.Flag) {
	var files []app.NewAttachment
	var missing, mismatch bool
	for _, an := range anlagen {
		name := SafeName(an.Datei)
		att := app.NewAttachment{Attachment: app.Attachment{Name: name, Type: cleantext.Line(an.Typ, 100),
			Size: an.Groesse, SHA256: strings.ToLower(strings.TrimSpace(an.SHA256))}}
		var p *part
		for i := range parts {
			if parts[i].filename != "" && !strings.EqualFold(parts[i].filename, payloadName) && parts[i].filename == an.Datei {
				p = &parts[i]
				break
			}
		}
		switch {
		case p == nil:
			missing = true
			att.Problem = "Die Anlage fehlt in der Sendung."
		default:
			sum := sha256.Sum256(p.data)
			got := hex.EncodeToString(sum[:])
			att.Data = p.data
			att.Received = true
			if int64(len(p.data)) != an.Groesse || got != att.SHA256 {
				mismatch = true
				att.Problem = fmt.Sprintf("Die Anlage ist beschädigt: angekündigt %d Bytes, erhalten %d Bytes; Prüfsumme %s.",
					an.Groesse, len(p.data), map[bool]string{true: "stimmt", false: "stimmt nicht"}[got == att.SHA256])
				att.Size, att.SHA256 = int64(len(p.data)), got
			}
		}
		files = append(files, att)
	}
	var flags []app.Flag
	if missing {
		flags = append(flags, app.FlagAttachmentMissing)
	}
	if mismatch {
		flags = append(flags, app.FlagAttachmentMismatch)
	}
	return files, flags
}

// walk decodes the MIME tree below a header and body into leaf parts.
func walk(h textproto.MIMEHeader, body []byte, depth int, lim Limits, out *[]part) error {
	if depth > lim.MaxDepth {
		return fmt.Errorf("mehr als %d Ebenen", lim.MaxDepth)
	}
	ct := h.Get("Content-Type")
	mediaType, params := "text/plain", map[string]string{}
	if ct != "" {
		mt, p, err := mime.ParseMediaType(ct)
		if err != nil && !errors.Is(err, mime.ErrInvalidMediaParameter) {
			return fmt.Errorf("Content-Type nicht lesbar")
		}
		mediaType, params = strings.ToLower(mt), p
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		boundary := params["boundary"]
		if boundary == "" {
			return fmt.Errorf("multipart ohne boundary")
		}
		subs, err := splitMultipart(body, boundary, lim)
		if err != nil {
			return err
		}
		for _, sub := range subs {
			h, b, err := splitHeader(sub)
			if err != nil {
				return fmt.Errorf("Kopf eines Teils nicht lesbar")
			}
			if err := walk(h, b, depth+1, lim, out); err != nil {
				return err
			}
			if len(*out) > lim.MaxParts {
				return tooManyParts(lim)
			}
		}
		return nil
	}
	if mediaType == "message/rfc822" {
		// A forwarded mail or a bounce: kept as one opaque part.
		*out = append(*out, part{mediaType: mediaType, params: params, data: body})
		return nil
	}
	data, err := decodeTransfer(h.Get("Content-Transfer-Encoding"), body)
	if err != nil {
		return err
	}
	filename := ""
	if cd := h.Get("Content-Disposition"); cd != "" {
		if _, dp, err := mime.ParseMediaType(cd); err == nil {
			filename = dp["filename"]
		}
	}
	if filename == "" {
		filename = params["name"]
	}
	if filename != "" {
		filename = decodeHeader(filename)
	}
	*out = append(*out, part{mediaType: mediaType, params: params, filename: filename, data: data})
	if len(*out) > lim.MaxParts {
		return tooManyParts(lim)
	}
	return nil
}

func tooManyParts(lim Limits) error {
	return tooLarge("mehr als %d MIME-Teile (Grenze: %d Anlagen und die Teile einer Portalsendung)", lim.MaxParts, lim.MaxAttachments)
}

var errHeader = errors.New("header")

// splitHeader parses the header block at the start of b (RFC 5322: field
// lines, folded lines starting with white space, an empty line) and
// returns it with the body that follows, without copying the body.
// parseMailDate reads a Date field. The portal writes RFC 5322's usual
// form, tried first: mail.ParseDate tries its layouts one after another
// and allocates an error for each that does not fit, a few kilobytes a
// mail.
func parseMailDate(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC1123Z, strings.TrimSpace(v)); err == nil {
		return t, nil
	}
	return mail.ParseDate(v)
}

func splitHeader(b []byte) (textproto.MIMEHeader, []byte, error) {
	// Sized for a part's few fields; a mail's header grows the map.
	h := make(textproto.MIMEHeader, 4)
	var key string
	var val []byte
	flush := func() {
		if key != "" {
			h[key] = append(h[key], strings.TrimSpace(string(val)))
		}
		key, val = "", val[:0]
	}
	i := 0
	lines := 0
	for i < len(b) {
		end := bytes.IndexByte(b[i:], '\n')
		var line []byte
		next := len(b)
		if end >= 0 {
			line, next = b[i:i+end], i+end+1
		} else {
			line = b[i:]
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			flush()
			if lines == 0 {
				return nil, nil, errHeader
			}
			return h, b[next:], nil
		}
		lines++
		if lines > 1000 {
			return nil, nil, errHeader
		}
		if line[0] == ' ' || line[0] == '\t' {
			if key == "" {
				return nil, nil, errHeader
			}
			val = append(val, ' ')
			val = append(val, bytes.TrimLeft(line, " \t")...)
		} else {
			flush()
			colon := bytes.IndexByte(line, ':')
			if colon <= 0 {
				return nil, nil, errHeader
			}
			name := line[:colon]
			for _, c := range name {
				if c <= ' ' || c >= 0x7f {
					return nil, nil, errHeader
				}
			}
			key = textproto.CanonicalMIMEHeaderKey(string(name))
			val = append(val[:0], line[colon+1:]...)
		}
		i = next
	}
	// Header only, no body.
	flush()
	if lines == 0 {
		return nil, nil, errHeader
	}
	return h, nil, nil
}

// splitMultipart returns the body parts between the boundary delimiter
// lines (RFC 2046 5.1.1) as sub-slices of body. The close delimiter must
// be there; preamble and epilogue are ignored.
func splitMultipart(body []byte, boundary string, lim Limits) ([][]byte, error) {
	delim := []byte("--" + boundary)
	pos := findDelim(body, delim, 0)
	if pos < 0 {
		return nil, fmt.Errorf("multipart ohne Teile")
	}
	var parts [][]byte
	for {
		after := pos + len(delim)
		if bytes.HasPrefix(body[after:], []byte("--")) {
			if len(parts) == 0 {
				return nil, fmt.Errorf("multipart ohne Teile")
			}
			return parts, nil
		}
		nl := bytes.IndexByte(body[after:], '\n')
		if nl < 0 {
			return nil, fmt.Errorf("multipart ohne Abschluss")
		}
		start := after + nl + 1
		next := findDelim(body, delim, start)
		if next < 0 {
			return nil, fmt.Errorf("multipart ohne Abschluss")
		}
		end := next
		if end > start && body[end-1] == '\n' {
			end--
			if end > start && body[end-1] == '\r' {
				end--
			}
		}
		parts = append(parts, body[start:end])
		if len(parts) > lim.MaxParts {
			return nil, tooManyParts(lim)
		}
		pos = next
	}
}

// findDelim finds delim at the start of a line, followed by "--", white
// space or the line end (so that a longer boundary does not match).
func findDelim(b, delim []byte, from int) int {
	for i := from; i < len(b); {
		j := bytes.Index(b[i:], delim)
		if j < 0 {
			return -1
		}
		k := i + j
		if k == 0 || b[k-1] == '\n' {
			rest := b[k+len(delim):]
			if len(rest) == 0 || rest[0] == '-' || rest[0] == '\r' || rest[0] == '\n' || rest[0] == ' ' || rest[0] == '\t' {
				return k
			}
		}
		i = k + 1
	}
	return -1
}

func decodeTransfer(cte string, body []byte) ([]byte, error) {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "", "7bit", "8bit", "binary":
		return body, nil
	case "base64":
		// The decoder skips CR and LF itself; only other white space
		// needs a cleaned copy.
		out := make([]byte, base64.StdEncoding.DecodedLen(len(body)))
		if n, err := base64.StdEncoding.Decode(out, body); err == nil {
			return out[:n], nil
		}
		clean := make([]byte, 0, len(body))
		for _, c := range body {
			if c != '\r' && c != '\n' && c != ' ' && c != '\t' {
				clean = append(clean, c)
			}
		}
		n, err := base64.StdEncoding.Decode(out, clean)
		if err != nil {
			return nil, fmt.Errorf("base64 fehlerhaft")
		}
		return out[:n], nil
	case "quoted-printable":
		b, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(body)))
		if err != nil {
			return nil, fmt.Errorf("quoted-printable fehlerhaft")
		}
		return b, nil
	}
	return nil, fmt.Errorf("unbekannte Transferkodierung")
}
