// Package postgres is the PostgreSQL adapter of Amtstresen: the shared
// work queue of an office network (github.com/jackc/pgx/v5). SQLite
// (package storage) stays the embedded default.
//
// The store is DB (db.go, Open): app.PortalStore and the other ports with
// the semantics of the SQLite store.
//
//   - migrations/: the schema in schema amtstresen, applied by Migrate as
//     the migration role (owner of the database, CREATEROLE), refusing a
//     newer schema.
//   - Need-to-know is enforced by the server: each clerk connects as their
//     own login role (named after the OS account), a member of
//     amtstresen_konto, of one kind (amtstresen_clerk, amtstresen_lead,
//     amtstresen_admin) and of their office's role (amtstresen_vg_ulmen,
//     …). Row-level security limits cases and what belongs to them, the
//     appointments and the audit log to the role's offices (0001_init.sql
//     says who sees what). Roles are made by amtstresen.set_clerk_role
//     with a SCRAM verifier from ScramVerifier.
//   - Reference numbers: amtstresen.next_ref_number, gap-free per prefix
//     and year under concurrency.
//   - Search: SearchWords in Go, amtstresen.search_vector and
//     amtstresen.search_query in the database (unaccent, prefix matching),
//     with the results of SQLite's FTS5 search.
//   - Live updates: NOTIFY on the channels below with ids and offices only.
package postgres

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"

	"golang.org/x/text/unicode/norm"

	"amtstresen/app"
	"amtstresen/storage/internal/casetext"
)

// scramIterations is PostgreSQL's default (scram_iterations).
const scramIterations = 4096

// ScramVerifier returns the SCRAM-SHA-256 verifier of a password in the
// form PostgreSQL stores it (RFC 5802, RFC 7677). set_clerk_role takes the
// verifier, so that the password itself never reaches the server or its log.
func ScramVerifier(password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	// PostgreSQL runs SASLprep on the password; for the passwords it
	// changes (unnormalised Unicode) NFKC is the part that matters.
	salted, err := pbkdf2.Key(sha256.New, norm.NFKC.String(password), salt, scramIterations, sha256.Size)
	if err != nil {
		return "", err
	}
	mac := func(key []byte, msg string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(msg))
		return h.Sum(nil)
	}
	stored := sha256.Sum256(mac(salted, "Client Key"))
	server := mac(salted, "Server Key")
	b64 := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("SCRAM-SHA-256$%d:%s$%s:%s", scramIterations, b64(salt), b64(stored[:]), b64(server)), nil
}

// SearchWords splits text into the words of the search, as SQLite's
// unicode61 tokenizer does (letters, numbers and private-use characters
// make words; anything else separates them), composed (NFC) and lower
// case. The adapter indexes strings.Join(SearchWords(doc), " ") with
// amtstresen.search_vector and asks amtstresen.search_query(SearchWords(q)).
func SearchWords(s string) []string {
	words := strings.FieldsFunc(norm.NFC.String(s), casetext.Separator)
	for i, w := range words {
		words[i] = strings.ToLower(w)
	}
	return words
}

// Channels of LISTEN/NOTIFY. The payload is JSON with ids and office keys
// only, never personal data: any session of the database may listen.
const (
	// ChannelCase: {"id": 42, "office": "vg-zell", "routing_open": false}
	// for every case written (a forward announces the old office too).
	ChannelCase = "amtstresen_case"
	// ChannelAppointment: {"uid": "…", "office": "vg-zell"}
	ChannelAppointment = "amtstresen_appointment"
	// ChannelReview: {"id": 7}
	ChannelReview = "amtstresen_review"
	// ChannelOutbox: {"case": 42, "office": "vg-zell", "state": "queued"}
	// for every message to a citizen queued or changing state (migration 5).
	ChannelOutbox = "amtstresen_outbox"
)

// OutboxChange is the payload on ChannelOutbox; Office is the sending office.
type OutboxChange struct {
	Case   int64  `json:"case"`
	Office string `json:"office"`
	State  string `json:"state"`
}

// CaseChange is the payload on ChannelCase.
type CaseChange struct {
	ID          int64  `json:"id"`
	Office      string `json:"office"`
	RoutingOpen bool   `json:"routing_open"`
	// Before and After: the case's place in the queue (schema 12); nil
	// before it was created, after it was deleted.
	Before *CaseKeys `json:"before"`
	After  *CaseKeys `json:"after"`
}

// CaseKeys are a case's office, status and routing question in a
// CaseChange.
type CaseKeys struct {
	Office      string `json:"office"`
	Status      string `json:"status"`
	RoutingOpen bool   `json:"routing_open"`
}

func (k *CaseKeys) app() app.CaseKeys {
	if k == nil {
		return app.CaseKeys{}
	}
	return app.CaseKeys{Exists: true, Office: app.OfficeKey(k.Office), Status: app.Status(k.Status), RoutingOpen: k.RoutingOpen}
}

// SearchText is the text of a case's search row as the store writes it
// (amtstresen.search_vector takes it): the words of the case's search
// document (reference, names, address, service, field values). The copy of
// an SQLite queue (storage/migratedb) builds the search rows with it.
func SearchText(reg *app.Registry, ref string, c *app.Case) string {
	return txt(strings.Join(SearchWords(casetext.NewDoc(reg, ref, c).Text()), " "))
}
