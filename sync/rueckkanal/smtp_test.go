package rueckkanal

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/zalando/go-keyring"

	"amtstresen/app"
)

// relay is an in-process SMTP server (go-smtp's own server) standing in
// for the office's mail server in the fast tests; the integration tests
// use a real Postfix.
type relay struct {
	Addr string
	srv  *smtp.Server

	user, pass string // AUTH PLAIN required when set
	// rcpt and data may refuse: n counts the calls, from 1.
	rcpt func(n int, to string) error
	data func(n int, raw []byte) error

	mu              gosync.Mutex
	nRcpt, nData    int
	got             [][]byte
	from, to        []string
	sessions, auths int
}

type relayMode int

const (
	plain relayMode = iota
	implicitTLS
	startTLS
)

func startRelay(t testing.TB, mode relayMode, cert *tls.Certificate, setup func(*relay)) *relay {
	t.Helper()
	r := &relay{}
	if setup != nil {
		setup(r)
	}
	r.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		r.mu.Lock()
		r.sessions++
		r.mu.Unlock()
		return &relaySession{r: r}, nil
	}))
	r.srv.Domain = "relay.test"
	r.srv.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are expected
	r.srv.AllowInsecureAuth = true
	r.srv.MaxMessageBytes = 20 << 20
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if cert != nil {
		r.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{*cert}}
	}
	if mode == implicitTLS {
		ln = tls.NewListener(ln, r.srv.TLSConfig)
	}
	r.Addr = ln.Addr().String()
	go r.srv.Serve(ln)
	t.Cleanup(func() { r.srv.Close() })
	return r
}

func (r *relay) received() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.got...)
}

type relaySession struct {
	r      *relay
	authed bool
	from   string
	to     []string
}

func (s *relaySession) AuthMechanisms() []string {
	if s.r.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *relaySession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		s.r.mu.Lock()
		s.r.auths++
		s.r.mu.Unlock()
		if user != s.r.user || pass != s.r.pass {
			return smtp.ErrAuthFailed
		}
		s.authed = true
		return nil
	}), nil
}

func (s *relaySession) Reset()        { s.from, s.to = "", nil }
func (s *relaySession) Logout() error { return nil }
func (s *relaySession) Mail(from string, _ *smtp.MailOptions) error {
	if s.r.user != "" && !s.authed {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	}
	s.from = from
	return nil
}

func (s *relaySession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.r.mu.Lock()
	s.r.nRcpt++
	n := s.r.nRcpt
	s.r.mu.Unlock()
	if s.r.rcpt != nil {
		if err := s.r.rcpt(n, to); err != nil {
			return err
		}
	}
	s.to = append(s.to, to)
	return nil
}

func (s *relaySession) Data(rd io.Reader) error {
	raw, err := io.ReadAll(rd)
	if err != nil {
		return err
	}
	s.r.mu.Lock()
	s.r.nData++
	n := s.r.nData
	s.r.mu.Unlock()
	if s.r.data != nil {
		if err := s.r.data(n, raw); err != nil {
			return err
		}
	}
	s.r.mu.Lock()
	s.r.got = append(s.r.got, raw)
	s.r.from = append(s.r.from, s.from)
	s.r.to = append(s.r.to, s.to...)
	s.r.mu.Unlock()
	return nil
}

// testCert makes a self-signed certificate for 127.0.0.1 and localhost and
// writes its PEM to a file (the CA file of the config).
func testCert(t testing.TB) (*tls.Certificate, string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "relay.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k}, p
}

func testConfig(addr, mode string) Config {
	return Config{SMTP: SMTPConfig{Address: addr, TLS: mode, From: testFrom}, ReturnAddress: "rueckkanal@portal.test"}
}

func testSubmitter(t testing.TB, c Config, pw string) *Submitter {
	t.Helper()
	s, err := NewSubmitter(c, pw)
	if err != nil {
		t.Fatal(err)
	}
	s.DialTimeout, s.CommandTimeout, s.DataTimeout = 2*time.Second, 2*time.Second, 5*time.Second
	return s
}

func composeN(t testing.TB, n int, key []byte) []*Message {
	t.Helper()
	var out []*Message
	for i := 0; i < n; i++ {
		m, err := Compose(validStatus(StatusCodes[i%len(StatusCodes)]), nil, testFrom, "rueckkanal@portal.test", key)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func sendOne(t testing.TB, s *Submitter, raw []byte) error {
	t.Helper()
	ss, err := s.Open(context.Background())
	if err != nil {
		return err
	}
	defer ss.Close()
	return ss.Send(context.Background(), raw)
}

func TestSubmitPlainLoopback(t *testing.T) {
	r := startRelay(t, plain, nil, nil)
	s := testSubmitter(t, testConfig(r.Addr, TLSNone), "")
	msgs := composeN(t, 3, testKey(t))
	ss, err := s.Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if err := ss.Send(context.Background(), m.Raw); err != nil {
			t.Fatal(err)
		}
	}
	ss.Close()
	got := r.received()
	if len(got) != 3 || r.sessions != 1 {
		t.Fatalf("%d messages in %d sessions, want 3 in 1", len(got), r.sessions)
	}
	for i, m := range msgs {
		if !bytes.Equal(got[i], m.Raw) {
			t.Fatalf("message %d changed on the way", i)
		}
	}
	if r.from[0] != "buergerportal@cochem.example" || r.to[0] != "rueckkanal@portal.test" {
		t.Fatalf("envelope %v → %v", r.from, r.to)
	}
}

func TestSubmitTLS(t *testing.T) {
	cert, caFile := testCert(t)
	for _, mode := range []struct {
		name string
		m    relayMode
		tls  string
	}{{"implicit", implicitTLS, TLSImplicit}, {"starttls", startTLS, TLSStart}} {
		t.Run(mode.name, func(t *testing.T) {
			r := startRelay(t, mode.m, cert, func(r *relay) { r.user, r.pass = "vg-cochem", "geheim-123" })
			raw := composeN(t, 1, testKey(t))[0].Raw
			// Not trusted without the CA file: nothing sent, ClassTLS.
			c := testConfig(r.Addr, mode.tls)
			c.SMTP.Username = "vg-cochem"
			err := sendOne(t, testSubmitter(t, c, "geheim-123"), raw)
			f, ok := AsFailure(err)
			if !ok || f.Class != ClassTLS || !f.RelayWide() || !strings.Contains(f.Reason, "Zertifikat") {
				t.Fatalf("untrusted certificate: %v", err)
			}
			if r.auths != 0 || len(r.received()) != 0 {
				t.Fatal("the password or the message went to an untrusted server")
			}
			// With the CA file it goes through, with login.
			c.SMTP.CAFile = caFile
			if err := sendOne(t, testSubmitter(t, c, "geheim-123"), raw); err != nil {
				t.Fatal(err)
			}
			if len(r.received()) != 1 || r.auths != 1 {
				t.Fatalf("received %d, logins %d", len(r.received()), r.auths)
			}
			// Wrong password: 535, ClassLogin, German reason, no password in it.
			err = sendOne(t, testSubmitter(t, c, "falsch-456"), raw)
			f, ok = AsFailure(err)
			if !ok || f.Class != ClassLogin || f.Code != 535 || !strings.Contains(f.Reason, "Anmeldung") || f.Retry() == false {
				t.Fatalf("wrong password: %v", err)
			}
			if strings.Contains(f.Reason+err.Error(), "falsch-456") {
				t.Fatal("the password appears in the error")
			}
		})
	}
	// A STARTTLS config against a server without STARTTLS sends nothing.
	r := startRelay(t, plain, nil, nil)
	c := testConfig(r.Addr, TLSStart)
	c.SMTP.CAFile = caFile
	err := sendOne(t, testSubmitter(t, c, ""), composeN(t, 1, testKey(t))[0].Raw)
	if f, ok := AsFailure(err); !ok || f.Class != ClassTLS || len(r.received()) != 0 {
		t.Fatalf("no STARTTLS offered: %v", err)
	}
}

func TestSubmitFailures(t *testing.T) {
	raw := composeN(t, 1, testKey(t))[0].Raw
	refuse := func(code int, enh smtp.EnhancedCode) error {
		return &smtp.SMTPError{Code: code, EnhancedCode: enh, Message: "test"}
	}
	tests := []struct {
		name   string
		setup  func(*relay)
		class  Class
		code   int
		reason string
	}{
		{"recipient refused", func(r *relay) {
			r.rcpt = func(int, string) error { return refuse(550, smtp.EnhancedCode{5, 1, 1}) }
		}, ClassPermanent, 550, "return_address"},
		{"recipient deferred", func(r *relay) {
			r.rcpt = func(int, string) error { return refuse(450, smtp.EnhancedCode{4, 2, 0}) }
		}, ClassTemporary, 450, "automatisch erneut"},
		{"too large", func(r *relay) {
			r.data = func(int, []byte) error { return refuse(552, smtp.EnhancedCode{5, 3, 4}) }
		}, ClassPermanent, 552, "zu groß"},
		{"content refused", func(r *relay) {
			r.data = func(int, []byte) error { return refuse(554, smtp.EnhancedCode{5, 7, 1}) }
		}, ClassPermanent, 554, "endgültig"},
		{"login required", func(r *relay) { r.user, r.pass = "u", "p" }, ClassLogin, 530, "verlangt eine Anmeldung"},
	}
	for _, tt := range tests {
		r := startRelay(t, plain, nil, tt.setup)
		err := sendOne(t, testSubmitter(t, testConfig(r.Addr, TLSNone), ""), raw)
		f, ok := AsFailure(err)
		if !ok || f.Class != tt.class || f.Code != tt.code || !strings.Contains(f.Reason, tt.reason) {
			t.Errorf("%s: got %v (%+v), want class %s code %d", tt.name, err, f, tt.class, tt.code)
		}
		if len(r.received()) != 0 {
			t.Errorf("%s: message taken", tt.name)
		}
	}

	// After a refused recipient the session takes the next message.
	r := startRelay(t, plain, nil, func(r *relay) {
		r.rcpt = func(n int, _ string) error {
			if n == 1 {
				return refuse(450, smtp.EnhancedCode{4, 2, 0})
			}
			return nil
		}
	})
	ss, err := testSubmitter(t, testConfig(r.Addr, TLSNone), "").Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := ss.Send(context.Background(), raw); err == nil {
		t.Fatal("first send should be deferred")
	}
	if err := ss.Send(context.Background(), raw); err != nil {
		t.Fatalf("second send on the same session: %v", err)
	}
	ss.Close()

	// Nobody listening: unreachable, relay-wide, retried.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	err = sendOne(t, testSubmitter(t, testConfig(addr, TLSNone), ""), raw)
	if f, ok := AsFailure(err); !ok || f.Class != ClassUnreachable || !f.RelayWide() || !f.Retry() || !strings.Contains(f.Reason, "nicht erreichbar") {
		t.Fatalf("refused connection: %v", err)
	}

	// A server that accepts and never greets: the command deadline ends it.
	ln, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	s := testSubmitter(t, testConfig(ln.Addr().String(), TLSNone), "")
	s.CommandTimeout = 300 * time.Millisecond
	start := time.Now()
	err = sendOne(t, s, raw)
	if f, ok := AsFailure(err); !ok || f.Class != ClassUnreachable || !strings.Contains(f.Reason, "antwortet nicht") {
		t.Fatalf("silent server: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("silent server took %v", d)
	}
}

func TestConfigCheck(t *testing.T) {
	ok := testConfig("mail.example.de:587", TLSStart)
	if err := ok.Check(); err != nil {
		t.Fatal(err)
	}
	var d Config
	d.SMTP = SMTPConfig{Address: "mail.example.de:465", From: testFrom}
	d.Defaults()
	if d.SMTP.TLS != TLSImplicit || d.ReturnAddress != DefaultReturnAddress || d.Check() != nil {
		t.Fatalf("defaults %+v", d)
	}
	bad := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"no address", func(c *Config) { c.SMTP.Address = "" }, "[smtp] address"},
		{"no port", func(c *Config) { c.SMTP.Address = "mail.example.de" }, "Port"},
		{"none remote", func(c *Config) { c.SMTP.TLS = TLSNone }, "nur für einen Server auf diesem Rechner"},
		{"none by name", func(c *Config) { c.SMTP.Address, c.SMTP.TLS = "mail.local:25", TLSNone }, "nur für"},
		{"unknown tls", func(c *Config) { c.SMTP.TLS = "ssl" }, "unbekannt"},
		{"skip verify is no mode", func(c *Config) { c.SMTP.TLS = "tls-insecure" }, "unbekannt"},
		{"no from", func(c *Config) { c.SMTP.From = "" }, "[smtp] from"},
		{"bad return", func(c *Config) { c.ReturnAddress = "portal" }, "return_address"},
	}
	for _, b := range bad {
		c := testConfig("mail.example.de:587", TLSStart)
		b.edit(&c)
		err := c.Check()
		if err == nil || app.ErrorCode(err) != app.EINVALID || !strings.Contains(app.ErrorMessage(err), b.want) {
			t.Errorf("%s: %v", b.name, err)
		}
	}
	for _, h := range []string{"127.0.0.1:25", "[::1]:25", "localhost:25"} {
		c := testConfig(h, TLSNone)
		if err := c.Check(); err != nil {
			t.Errorf("%s: %v", h, err)
		}
	}
	if _, err := NewSubmitter(Config{SMTP: SMTPConfig{Address: "127.0.0.1:25", TLS: TLSNone, From: testFrom, Username: "u"}}, ""); err == nil {
		t.Error("a username without password was accepted")
	}
	c := testConfig("127.0.0.1:25", TLSNone)
	c.SMTP.CAFile = filepath.Join(t.TempDir(), "fehlt.pem")
	if _, err := NewSubmitter(c, ""); err == nil || !strings.Contains(app.ErrorMessage(err), "ca_file") {
		t.Errorf("missing CA file: %v", err)
	}
}

func TestPassword(t *testing.T) {
	keyring.MockInit() // go-keyring's in-memory keyring: no Secret Service in the test
	c := SMTPConfig{Username: "vg-cochem", PasswordEnv: "AMTSTRESEN_TEST_SMTP_PW"}
	t.Setenv("AMTSTRESEN_TEST_SMTP_PW", "aus-der-umgebung")
	if pw, err := Password(c); err != nil || pw != "aus-der-umgebung" {
		t.Fatalf("env: %q %v", pw, err)
	}
	t.Setenv("AMTSTRESEN_TEST_SMTP_PW", "")
	_, err := Password(c)
	if err == nil || !strings.Contains(app.ErrorMessage(err), KeyringServiceSMTP) || !strings.Contains(app.ErrorMessage(err), "AMTSTRESEN_TEST_SMTP_PW") {
		t.Fatalf("nothing found: %v", err)
	}
	if err := keyring.Set(KeyringServiceSMTP, "vg-cochem", "aus-dem-schluesselbund"); err != nil {
		t.Fatal(err)
	}
	if pw, err := Password(c); err != nil || pw != "aus-dem-schluesselbund" {
		t.Fatalf("keyring: %q %v", pw, err)
	}
	if pw, err := Password(SMTPConfig{}); err != nil || pw != "" {
		t.Fatalf("no username: %q %v", pw, err)
	}
}

func TestFailureUnwrap(t *testing.T) {
	f := &Failure{Class: ClassTemporary, Err: context.DeadlineExceeded}
	if !errors.Is(f, context.DeadlineExceeded) {
		t.Fatal("unwrap")
	}
}
