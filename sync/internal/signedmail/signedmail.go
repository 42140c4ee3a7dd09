// Package signedmail writes and reads the signed MIME messages of the
// portal's return channel (portal/README.md section 8): a multipart/mixed
// mail with a text summary, one JSON part whose decoded bytes are signed
// with Ed25519 (header X-Buergerportal-Signatur), and optional attachments.
// The office's status messages (sync/rueckkanal) and the portal's quittungen
// (sync/portalsim) are both built and read here, so that both sides agree on
// the bytes that are signed.
package signedmail

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"
	"time"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"
)

// SignatureHeader carries "ed25519=<base64>" over the decoded JSON part.
const SignatureHeader = "X-Buergerportal-Signatur"

// MaxParts bounds the parts read from one mail.
const MaxParts = 20

// Part is an attachment: its type, file name and decoded bytes.
type Part struct {
	Type string // "application/pdf"
	Name string // file name, never a path
	Data []byte
}

// Mail is a signed message to be written.
type Mail struct {
	From, To  *mail.Address
	Date      time.Time
	MessageID string // without angle brackets
	Subject   string
	// Fields are the X-Buergerportal-* and other plain header fields, in
	// order; the signature field is added by Build.
	Fields   [][2]string
	Summary  string // text/plain, UTF-8
	JSONName string // "status.json"
	JSON     []byte // signed exactly as given
	Parts    []Part
}

// Build writes the mail and signs m.JSON with key.
func (m *Mail) Build(key ed25519.PrivateKey) ([]byte, error) {
	if len(key) != ed25519.PrivateKeySize {
		return nil, errors.New("signedmail: private key has the wrong length")
	}
	// go-message writes fields in the reverse order of adding: add them
	// backwards so the mail reads From, To, Date, … top down.
	var h mail.Header
	set := []func(){
		func() { h.SetAddressList("From", []*mail.Address{m.From}) },
		func() { h.SetAddressList("To", []*mail.Address{m.To}) },
		func() { h.SetDate(m.Date) },
		func() { h.SetMessageID(m.MessageID) },
		func() { h.SetSubject(m.Subject) },
	}
	for _, f := range m.Fields {
		set = append(set, func() { h.Add(f[0], f[1]) })
	}
	set = append(set,
		func() {
			h.Add(SignatureHeader, "ed25519="+base64.StdEncoding.EncodeToString(ed25519.Sign(key, m.JSON)))
		},
		func() { h.Set("MIME-Version", "1.0") })
	for i := len(set) - 1; i >= 0; i-- {
		set[i]()
	}
	var buf bytes.Buffer
	buf.Grow(len(m.JSON)*4/3 + len(m.Summary) + 2048 + partsSize(m.Parts))
	w, err := mail.CreateWriter(&buf, h)
	if err != nil {
		return nil, err
	}
	var th mail.InlineHeader
	th.SetContentType("text/plain", map[string]string{"charset": "utf-8"})
	th.Set("Content-Transfer-Encoding", "quoted-printable")
	if err := writePart(w.CreateSingleInline(th))(strings.NewReader(m.Summary)); err != nil {
		return nil, err
	}
	add := func(typ, name string, data []byte) error {
		var ah mail.AttachmentHeader
		ah.SetContentType(typ, map[string]string{"name": name})
		ah.SetFilename(name)
		ah.Set("Content-Transfer-Encoding", "base64")
		return writePart(w.CreateAttachment(ah))(bytes.NewReader(data))
	}
	if err := add("application/json", m.JSONName, m.JSON); err != nil {
		return nil, err
	}
	for _, p := range m.Parts {
		if err := add(p.Type, p.Name, p.Data); err != nil {
			return nil, err
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func partsSize(ps []Part) int {
	n := 0
	for _, p := range ps {
		n += len(p.Data)*4/3 + 512
	}
	return n
}

func writePart(w io.WriteCloser, err error) func(io.Reader) error {
	return func(r io.Reader) error {
		if err != nil {
			return err
		}
		if _, err := io.Copy(w, r); err != nil {
			return err
		}
		return w.Close()
	}
}

// Parsed is a signed mail as read.
type Parsed struct {
	Header    mail.Header
	MessageID string // without angle brackets
	Summary   string
	JSON      []byte // the decoded bytes of the JSON part; nil when missing
	Signature []byte // nil when the header is missing or not a 64-byte base64 value
	Parts     []Part // every other attachment, in order
}

// Field returns a header field, trimmed.
func (p *Parsed) Field(k string) string { return strings.TrimSpace(p.Header.Get(k)) }

// Verify reports whether the JSON part carries a valid signature by pub.
func (p *Parsed) Verify(pub ed25519.PublicKey) bool {
	return len(pub) == ed25519.PublicKeySize && p.JSON != nil && p.Signature != nil && ed25519.Verify(pub, p.JSON, p.Signature)
}

// ErrFormat marks a mail that is not a readable signed message.
var ErrFormat = errors.New("signedmail: not a readable message")

// Parse reads raw and picks the part named jsonName (by the name parameter
// of Content-Type or the file name of Content-Disposition). A mail that
// cannot be read returns an error wrapping ErrFormat.
func Parse(raw []byte, jsonName string) (*Parsed, error) {
	e, err := message.Read(bytes.NewReader(raw))
	if err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err) {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	p := &Parsed{Header: mail.Header{Header: e.Header}}
	if id, err := p.Header.MessageID(); err == nil {
		p.MessageID = id
	}
	if v, ok := strings.CutPrefix(p.Field(SignatureHeader), "ed25519="); ok {
		if sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v)); err == nil && len(sig) == ed25519.SignatureSize {
			p.Signature = sig
		}
	}
	mr := e.MultipartReader()
	if mr == nil {
		return nil, fmt.Errorf("%w: not multipart", ErrFormat)
	}
	for n := 0; ; n++ {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err) {
			return nil, fmt.Errorf("%w: part %d: %v", ErrFormat, n+1, err)
		}
		if n >= MaxParts {
			return nil, fmt.Errorf("%w: more than %d parts", ErrFormat, MaxParts)
		}
		typ, params, _ := part.Header.ContentType()
		name := params["name"]
		if _, dp, err := mime.ParseMediaType(part.Header.Get("Content-Disposition")); err == nil && dp["filename"] != "" {
			name = dp["filename"]
		}
		data, err := io.ReadAll(part.Body)
		if err != nil {
			return nil, fmt.Errorf("%w: part %d: %v", ErrFormat, n+1, err)
		}
		switch {
		case name == jsonName && p.JSON == nil:
			p.JSON = data
		case typ == "text/plain" && name == "" && p.Summary == "":
			p.Summary = string(data)
		default:
			p.Parts = append(p.Parts, Part{Type: typ, Name: name, Data: data})
		}
	}
	return p, nil
}
