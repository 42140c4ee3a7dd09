package postgres

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"amtstresen/app"
)

// Over the network only TLS with a verified certificate and host name;
// without, a server on this machine only. No password in the address.
func TestParseURL(t *testing.T) {
	ca := filepath.Join(t.TempDir(), "ca.pem")
	writeCA(t, ca)
	for _, tc := range []struct {
		url  string
		want string // "" accepted, else part of the German refusal
	}{
		{"postgres://mm@db.cochem-zell.local/amtstresen?sslmode=verify-full", ""},
		{"postgres://mm@db.cochem-zell.local/amtstresen?sslmode=verify-full&sslrootcert=" + ca, ""},
		{"postgres://mm@db1.cochem-zell.local,db2.cochem-zell.local:5433/amtstresen?sslmode=verify-full&target_session_attrs=read-write", ""},
		{"host=db.cochem-zell.local user=mm dbname=amtstresen sslmode=verify-full", ""},
		{"postgres://mm@127.0.0.1:5432/amtstresen?sslmode=disable", ""},
		{"postgres://mm@[::1]/amtstresen?sslmode=disable", ""},
		{"postgres://mm@localhost/amtstresen", ""},
		{"host=/var/run/postgresql user=mm dbname=amtstresen", ""},
		{"postgres://mm@db.cochem-zell.local/amtstresen", "sslmode=verify-full"},
		{"postgres://mm@db.cochem-zell.local/amtstresen?sslmode=require", "sslmode=verify-full"},
		{"postgres://mm@db.cochem-zell.local/amtstresen?sslmode=verify-ca&sslrootcert=" + ca, "sslmode=verify-full"},
		{"postgres://mm@db.cochem-zell.local/amtstresen?sslmode=prefer", "sslmode=verify-full"},
		{"postgres://mm@127.0.0.1,db.cochem-zell.local/amtstresen?sslmode=disable&target_session_attrs=read-write", "db.cochem-zell.local"},
		{"postgres://mm:geheim@db.cochem-zell.local/amtstresen?sslmode=verify-full", "Kennwort"},
		{"postgres://mm@db.cochem-zell.local/amtstresen?sslmode=verify-full&password=geheim", "Kennwort"},
		{"host=db.cochem-zell.local user=mm password=geheim sslmode=verify-full", "Kennwort"},
		{"postgres://mm@db.cochem-zell.local/amtstresen?sslmode=verify-full&sslrootcert=/gibt/es/nicht.pem", "ungültig"},
	} {
		_, err := ParseURL(tc.url)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.url, err)
		case tc.want != "" && (app.ErrorCode(err) != app.EINVALID || !strings.Contains(app.ErrorMessage(err), tc.want)):
			t.Errorf("%s: %v; want EINVALID with %q", tc.url, err, tc.want)
		}
	}
}

// A real TLS connection to the private server: verify-full with the
// office's own CA works (by name and by address), a server whose
// certificate another CA signed is refused in German. Several hosts with
// target_session_attrs=read-write: the first one that answers and takes
// writes.
func TestOpenTLSAndHosts(t *testing.T) {
	ctx := context.Background()
	tdb := newDB(t)
	l := tdb.serviceLogin("abgleich", "sync")
	ca := enableSSL(t)
	for _, host := range []string{"localhost", "127.0.0.1"} {
		u := fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=verify-full&sslrootcert=%s", l.Account, host, cluster.Port, tdb.name, ca)
		db, err := Open(ctx, u, l.Password, testReg)
		if err != nil {
			t.Fatalf("verify-full to %s: %v", host, err)
		}
		var ssl bool
		if err := db.pool.QueryRow(ctx, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").Scan(&ssl); err != nil || !ssl {
			t.Errorf("%s: ssl=%v, %v", host, ssl, err)
		}
		db.Close()
	}
	other := filepath.Join(t.TempDir(), "other-ca.pem")
	writeCA(t, other)
	u := fmt.Sprintf("postgres://%s@localhost:%d/%s?sslmode=verify-full&sslrootcert=%s", l.Account, cluster.Port, tdb.name, other)
	if db, err := Open(ctx, u, l.Password, testReg); err == nil {
		db.Close()
		t.Error("a certificate of another CA was accepted")
	} else if !strings.Contains(app.ErrorMessage(err), "Zertifikat") {
		t.Errorf("refusal: %v", err)
	}
	// A wrong password, in German.
	u = fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", l.Account, cluster.Port, tdb.name)
	if _, err := Open(ctx, u, "falsch", testReg); app.ErrorCode(err) != app.EFORBIDDEN || !strings.Contains(app.ErrorMessage(err), "Anmeldung") {
		t.Errorf("wrong password: %v", err)
	}

	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadPort := dead.Addr().(*net.TCPAddr).Port
	dead.Close()
	u = fmt.Sprintf("postgres://%s@127.0.0.1:%d,127.0.0.1:%d/%s?sslmode=disable&target_session_attrs=read-write&connect_timeout=5",
		l.Account, deadPort, cluster.Port, tdb.name)
	db, err := Open(ctx, u, l.Password, testReg)
	if err != nil {
		t.Fatalf("two hosts, the first down: %v", err)
	}
	defer db.Close()
	if _, _, err := db.CreateCase(ctx, newDogCase(t, "ha-1", "Hanna", "Hochverfuegbar", app.OfficeZell, storeNow), nil); err != nil {
		t.Errorf("write through the second host: %v", err)
	}
	// A window keeps few connections, unless the address says otherwise.
	if n := db.pool.Config().MaxConns; n != 4 {
		t.Errorf("pool of %d connections, want 4", n)
	}
	u = fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable&pool_max_conns=9", l.Account, cluster.Port, tdb.name)
	big, err := Open(ctx, u, l.Password, testReg)
	if err != nil {
		t.Fatal(err)
	}
	defer big.Close()
	if n := big.pool.Config().MaxConns; n != 9 {
		t.Errorf("pool_max_conns=9 gives %d", n)
	}
}

// enableSSL turns TLS on in the private cluster with a certificate for
// localhost and 127.0.0.1 signed by a test CA, and returns the CA's file.
// The setting is taken back when t ends.
func enableSSL(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	caKey, caCert := newCA(t)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	crt, keyf := filepath.Join(cluster.Dir, "server.crt"), filepath.Join(cluster.Dir, "server.key")
	pg, err := user.Lookup("postgres")
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(pg.Uid)
	gid, _ := strconv.Atoi(pg.Gid)
	for f, b := range map[string][]byte{crt: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), keyf: pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})} {
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(f, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []string{
		fmt.Sprintf("ALTER SYSTEM SET ssl_cert_file = '%s'", crt), fmt.Sprintf("ALTER SYSTEM SET ssl_key_file = '%s'", keyf),
		"ALTER SYSTEM SET ssl = on", "SELECT pg_reload_conf()",
	} {
		if err := cluster.Exec(ctx, "postgres", q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() {
		for _, q := range []string{"ALTER SYSTEM RESET ssl", "ALTER SYSTEM RESET ssl_cert_file", "ALTER SYSTEM RESET ssl_key_file", "SELECT pg_reload_conf()"} {
			cluster.Exec(context.Background(), "postgres", q)
		}
	})
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caCert.Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	// The reload takes effect with the next connection.
	time.Sleep(200 * time.Millisecond)
	return ca
}

func newCA(t *testing.T) (*ecdsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test-CA Kreisverwaltung"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return key, cert
}

func writeCA(t *testing.T, path string) {
	t.Helper()
	_, cert := newCA(t)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
}
