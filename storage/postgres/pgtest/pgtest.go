// Package pgtest starts a private PostgreSQL cluster for tests, the way
// sync/dovecottest starts Dovecot: Debian's PostgreSQL 15
// (`postgresql`, installed by `make deps-test`), initdb into a temp folder
// owned by the postgres user, the server on a free loopback port with its
// socket in that folder, stopped and removed on cleanup.
//
// One cluster per test binary (started in TestMain) and one database per
// test keeps the tests fast: a database copied from a template that was
// migrated once takes a few milliseconds.
//
// Authentication: the superuser "postgres" connects through the socket
// without a password (trust); every TCP login needs its password
// (scram-sha-256), as on a real server.
//
// When PostgreSQL is missing, Start fails with a message saying so:
// integration tests never skip silently.
package pgtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	gosync "sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// BinDir holds initdb, pg_ctl, postgres, pg_basebackup and psql.
const BinDir = "/usr/lib/postgresql/15/bin"

// SuperUser is the cluster's superuser; it connects through the socket.
const SuperUser = "postgres"

// Cluster is a running private PostgreSQL.
type Cluster struct {
	Dir       string // everything lives below; removed by Stop
	Data      string // the data directory
	Port      int    // on 127.0.0.1; the socket is in Dir too
	Name      string // cluster_name, "primary" or "standby"
	SocketDir string

	uid, gid int
	cmd      *exec.Cmd
	exited   chan struct{}
	logPath  string
	keep     bool              // Stop keeps the files (StartKept)
	settings map[string]string // more settings of postgresql.conf

	mu        gosync.Mutex
	templates map[string]*template
	dbs       atomic.Int64
}

type template struct {
	once gosync.Once
	err  error
}

// Start starts a cluster and registers its stop with t.Cleanup.
func Start(t testing.TB) *Cluster {
	t.Helper()
	c, err := StartCluster()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	return c
}

// StartCluster starts a cluster; the caller must Stop it (TestMain).
func StartCluster() (*Cluster, error) {
	u, err := checkInstalled()
	if err != nil {
		return nil, err
	}
	c, err := newCluster("primary", u)
	if err != nil {
		return nil, err
	}
	if err := c.initdb(); err != nil {
		c.Stop()
		return nil, err
	}
	if err := c.start(); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

func checkInstalled() (*user.User, error) {
	if _, err := os.Stat(filepath.Join(BinDir, "initdb")); err != nil {
		return nil, fmt.Errorf("PostgreSQL 15 fehlt (%s): die Integrationstests brauchen einen echten PostgreSQL. Installieren mit `apt-get install -y postgresql` oder `make deps-test`", BinDir)
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("der private PostgreSQL der Tests wird als root gestartet (er läuft dann als Benutzer postgres)")
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("Benutzer postgres fehlt (legt das Paket postgresql an): %w", err)
	}
	return u, nil
}

func (c *Cluster) initdb() error {
	return c.run(filepath.Join(BinDir, "initdb"), "-D", c.Data, "-U", SuperUser, "-E", "UTF8", "--locale=C",
		"--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync")
}

// StartKept starts the cluster whose files are in dir (a benchmark's data,
// kept between runs), on a free port, with the given settings of
// postgresql.conf on top of the tests' (e.g. fsync = on for measuring
// commits). With no cluster in dir yet it runs initdb there first
// (created = true). Stop shuts the server down and keeps the files.
func StartKept(dir string, settings map[string]string) (c *Cluster, created bool, err error) {
	u, err := checkInstalled()
	if err != nil {
		return nil, false, err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, false, err
	}
	if err := os.Chown(dir, uid, gid); err != nil {
		return nil, false, err
	}
	c = &Cluster{Dir: dir, Data: filepath.Join(dir, "data"), SocketDir: dir, Name: "kept", uid: uid, gid: gid,
		logPath: filepath.Join(dir, "postgres.log"), templates: map[string]*template{}, keep: true, settings: settings}
	if c.Port, err = freePort(); err != nil {
		return nil, false, err
	}
	if _, err := os.Stat(filepath.Join(c.Data, "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		os.RemoveAll(c.Data)
		if err := c.initdb(); err != nil {
			return nil, false, err
		}
		created = true
	}
	if err := c.start(); err != nil {
		return nil, false, err
	}
	return c, created, nil
}

func newCluster(name string, u *user.User) (*Cluster, error) {
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	dir, err := os.MkdirTemp("", "amtstresen-pg-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{Dir: dir, Data: filepath.Join(dir, "data"), SocketDir: dir, Name: name, uid: uid, gid: gid,
		logPath: filepath.Join(dir, "postgres.log"), templates: map[string]*template{}}
	if err := os.Chown(dir, uid, gid); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if c.Port, err = freePort(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return c, nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// testConf is the file of the test settings in the data directory,
// written at every start; postgresql.conf includes it.
const testConf = "amtstresen-test.conf"

// configure writes the test settings: loopback only, the socket in Dir,
// and no waiting for the disk (a test cluster is thrown away; durability
// is not what these tests are about), then the cluster's own settings.
func (c *Cluster) configure() error {
	conf := fmt.Sprintf(`# amtstresen pgtest, written at every start
listen_addresses = '127.0.0.1'
port = %d
unix_socket_directories = '%s'
cluster_name = '%s'
fsync = off
full_page_writes = off
shared_buffers = 32MB
max_connections = 100
jit = off
log_min_messages = warning
log_line_prefix = '%%m [%%p] %%u@%%d '
`, c.Port, c.SocketDir, c.Name)
	keys := make([]string, 0, len(c.settings))
	for k := range c.settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		conf += k + " = " + c.settings[k] + "\n"
	}
	if err := os.WriteFile(filepath.Join(c.Data, testConf), []byte(conf), 0o600); err != nil {
		return err
	}
	if err := os.Chown(filepath.Join(c.Data, testConf), c.uid, c.gid); err != nil {
		return err
	}
	main := filepath.Join(c.Data, "postgresql.conf")
	b, err := os.ReadFile(main)
	if err != nil {
		return err
	}
	include := "include '" + testConf + "'\n"
	if strings.Contains(string(b), include) {
		return nil
	}
	f, err := os.OpenFile(main, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString("\n" + include); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// run runs a PostgreSQL program as the postgres user.
func (c *Cluster) run(name string, args ...string) error {
	cmd := c.command(name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %v: %s", filepath.Base(name), strings.Join(args, " "), err, out.String())
	}
	return nil
}

func (c *Cluster) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Dir = c.Dir
	cmd.Env = []string{"PATH=" + BinDir + ":/usr/bin:/bin", "HOME=" + c.Dir, "LC_ALL=C", "PGTZ=UTC"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(c.uid), Gid: uint32(c.gid)}, Setpgid: true}
	return cmd
}

// start runs the postmaster as a child of the test binary (not detached by
// pg_ctl): if the test binary dies, the server gets SIGQUIT (immediate
// shutdown) instead of staying behind.
func (c *Cluster) start() error {
	if err := c.configure(); err != nil {
		return err
	}
	logf, err := os.OpenFile(c.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	cmd := c.command(filepath.Join(BinDir, "postgres"), "-D", c.Data)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr.Pdeathsig = syscall.SIGQUIT
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start postgres: %w", err)
	}
	c.cmd, c.exited = cmd, make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(c.exited) }()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		conn, err := pgx.Connect(ctx, c.SuperURL("postgres"))
		if err == nil {
			conn.Close(ctx)
			return nil
		}
		select {
		case <-c.exited:
			return fmt.Errorf("postgres did not start: %s", c.Log())
		case <-ctx.Done():
			return fmt.Errorf("postgres did not start within 30 s: %v: %s", err, c.Log())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Kill stops the server at once (SIGQUIT, immediate shutdown: like a power
// cut for the clients) and keeps its files.
func (c *Cluster) Kill() { c.signal(syscall.SIGQUIT) }

// Shutdown stops the server cleanly (SIGINT, fast shutdown) and keeps its files.
func (c *Cluster) Shutdown() { c.signal(syscall.SIGINT) }

// Restart starts a server stopped by Kill or Shutdown again, on the same
// port and files (clients reconnect to the same address).
func (c *Cluster) Restart() error {
	if c.cmd != nil {
		return errors.New("restart: the server is running")
	}
	return c.start()
}

func (c *Cluster) signal(sig syscall.Signal) {
	if c.cmd == nil {
		return
	}
	c.cmd.Process.Signal(sig)
	select {
	case <-c.exited:
	case <-time.After(10 * time.Second):
		syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
		<-c.exited
	}
	c.cmd = nil
}

// Stop stops the server and removes its files (a kept cluster's stay).
func (c *Cluster) Stop() {
	c.Shutdown()
	if !c.keep {
		os.RemoveAll(c.Dir)
	}
}

// Log returns the server log.
func (c *Cluster) Log() string {
	b, _ := os.ReadFile(c.logPath)
	return string(b)
}

// SuperURL is the superuser's connection to db through the socket.
func (c *Cluster) SuperURL(db string) string {
	return fmt.Sprintf("host=%s port=%d user=%s dbname=%s sslmode=disable", c.SocketDir, c.Port, SuperUser, quoteKV(db))
}

// URL is a TCP connection (127.0.0.1) to db as user with password.
func (c *Cluster) URL(db, user, password string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(user, password), Host: fmt.Sprintf("127.0.0.1:%d", c.Port), Path: "/" + db, RawQuery: "sslmode=disable"}
	return u.String()
}

func quoteKV(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// Connect opens a connection that t's cleanup closes.
func Connect(t testing.TB, connString string) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, connString)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// Exec runs SQL as superuser in db.
func (c *Cluster) Exec(ctx context.Context, db, sql string, args ...any) error {
	conn, err := pgx.Connect(ctx, c.SuperURL(db))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql, args...)
	return err
}

// Ident quotes a name for SQL.
func Ident(s string) string { return pgx.Identifier{s}.Sanitize() }

// Template makes sure the template database name exists: created once
// per cluster, owned by owner, filled by setup (which gets the superuser's
// connection string of the new database), then marked as template. A
// failed setup is reported to every later caller.
func (c *Cluster) Template(name, owner string, setup func(ctx context.Context, superURL string) error) error {
	c.mu.Lock()
	tp := c.templates[name]
	if tp == nil {
		tp = &template{}
		c.templates[name] = tp
	}
	c.mu.Unlock()
	tp.once.Do(func() {
		ctx := context.Background()
		if tp.err = c.Exec(ctx, "postgres", "CREATE DATABASE "+Ident(name)+" OWNER "+Ident(owner)); tp.err != nil {
			return
		}
		if tp.err = setup(ctx, c.SuperURL(name)); tp.err != nil {
			return
		}
		tp.err = c.Exec(ctx, "postgres", "ALTER DATABASE "+Ident(name)+" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false")
	})
	return tp.err
}

// CreateDatabase creates a new database owned by owner, a copy of
// template ("" for an empty one from template0), and drops it when t ends.
// It returns the name.
func (c *Cluster) CreateDatabase(t testing.TB, owner, template string) string {
	t.Helper()
	name, err := c.NewDatabase(owner, template)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Exec(context.Background(), "postgres", "DROP DATABASE IF EXISTS "+Ident(name)+" WITH (FORCE)")
	})
	return name
}

// NewDatabase is CreateDatabase without a test; nothing drops it.
func (c *Cluster) NewDatabase(owner, template string) (string, error) {
	if template == "" {
		template = "template0"
	}
	name := fmt.Sprintf("t%d_%s", c.dbs.Add(1), randomHex(3))
	// Copying a template needs it without sessions; copies one at a time.
	c.mu.Lock()
	defer c.mu.Unlock()
	err := c.Exec(context.Background(), "postgres", fmt.Sprintf("CREATE DATABASE %s OWNER %s TEMPLATE %s STRATEGY WAL_LOG",
		Ident(name), Ident(owner), Ident(template)))
	if err != nil {
		return "", fmt.Errorf("create database: %w", err)
	}
	return name, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Password returns a random password for a test role.
func Password() string { return randomHex(12) }

// Psql runs the psql binary as user over TCP (with password) against db,
// with ON_ERROR_STOP; it returns psql's output.
func (c *Cluster) Psql(db, user, password, sql string) (string, error) {
	cmd := exec.Command(filepath.Join(BinDir, "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
		"-h", "127.0.0.1", "-p", strconv.Itoa(c.Port), "-U", user, "-d", db, "-c", sql)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "PGPASSWORD=" + password, "PGSSLMODE=disable", "LC_ALL=C.UTF-8"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("psql: %v: %s", err, out)
	}
	return string(out), nil
}

// StandbyName is the application_name of the standby that
// StartSyncStandby starts; the primary waits for it on every commit.
const StandbyName = "standby"

// StartSyncStandby copies the running cluster with pg_basebackup -R into a
// new cluster, starts it as a streaming standby on its own port, and makes
// the primary wait for it on every commit (synchronous_standby_names,
// remote_apply: what the primary has committed is visible on the standby).
// It returns when the standby is connected as the synchronous one. The
// standby stops when t ends.
func (c *Cluster) StartSyncStandby(t testing.TB) *Cluster {
	t.Helper()
	u, err := user.LookupId(strconv.Itoa(c.uid))
	if err != nil {
		t.Fatal(err)
	}
	s, err := newCluster(StandbyName, u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	if err := c.run(filepath.Join(BinDir, "pg_basebackup"), "-D", s.Data, "-h", c.SocketDir, "-p", strconv.Itoa(c.Port),
		"-U", SuperUser, "-R", "-X", "stream", "-c", "fast", "--no-sync"); err != nil {
		t.Fatal(err)
	}
	if err := s.start(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, q := range []string{
		"ALTER SYSTEM SET synchronous_standby_names = " + quoteKV(StandbyName),
		"ALTER SYSTEM SET synchronous_commit = 'remote_apply'",
		"SELECT pg_reload_conf()",
	} {
		if err := c.Exec(ctx, "postgres", q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	conn := Connect(t, c.SuperURL("postgres"))
	deadline := time.Now().Add(30 * time.Second)
	for {
		var state string
		err := conn.QueryRow(ctx, "SELECT sync_state FROM pg_stat_replication WHERE application_name = $1", StandbyName).Scan(&state)
		if err == nil && state == "sync" {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("standby not synchronous after 30 s (state %q, %v): %s", state, err, s.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Promote makes a standby the primary and waits until it accepts writes.
func (c *Cluster) Promote() error {
	if err := c.run(filepath.Join(BinDir, "pg_ctl"), "promote", "-D", c.Data, "-w", "-t", "30"); err != nil {
		return err
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, c.SuperURL("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	var recovering bool
	if err := conn.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&recovering); err != nil {
		return err
	}
	if recovering {
		return errors.New("promote: still in recovery")
	}
	return nil
}
