package sync

import (
	"context"
	"io"
	"net"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"amtstresen/app"
	"amtstresen/sync/mailbox"
	"amtstresen/sync/portaltest"
)

// freezer is a TCP proxy in front of an IMAP server that can freeze like
// a server under SIGSTOP: the connection stays open, nothing more comes.
type freezer struct {
	ln      net.Listener
	target  string
	sent    atomic.Int64 // bytes from the server
	after   atomic.Int64 // freeze once this many bytes went through (0: never)
	frozen  atomic.Bool
	delay   time.Duration // per chunk from the server (a slow server)
	mu      gosync.Mutex
	conns   []net.Conn
	thawed  chan struct{}
	stopped chan struct{}
}

func startFreezer(t *testing.T, target string) *freezer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &freezer{ln: ln, target: target, thawed: make(chan struct{}), stopped: make(chan struct{})}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			f.mu.Lock()
			f.conns = append(f.conns, c, s)
			f.mu.Unlock()
			go io.Copy(s, c)
			go f.pipe(c, s)
		}
	}()
	t.Cleanup(func() {
		close(f.stopped)
		ln.Close()
		f.mu.Lock()
		for _, c := range f.conns {
			c.Close()
		}
		f.mu.Unlock()
	})
	return f
}

// pipe copies the server's bytes to the client until frozen; then it
// holds them back (the connection stays open) until the proxy stops.
func (f *freezer) pipe(client, server net.Conn) {
	buf := make([]byte, 4096)
	for {
		n, err := server.Read(buf)
		if n > 0 {
			if a := f.after.Load(); a > 0 && f.sent.Load()+int64(n) > a {
				f.frozen.Store(true)
			}
			if f.frozen.Load() {
				<-f.stopped
				return
			}
			if f.delay > 0 {
				time.Sleep(f.delay)
			}
			f.sent.Add(int64(n))
			if _, err := client.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			client.Close()
			return
		}
	}
}

func (f *freezer) addr() string { return f.ln.Addr().String() }

// TestFrozenServer (point 6): the server stops answering in the middle of
// a sync (as under SIGSTOP). The run ends after the command timeout with
// a German message; what it committed is complete (each case with its
// receipt) and the rest is taken in, exactly once, when the server is
// back.
func TestFrozenServer(t *testing.T) {
	srv := startMem(t, nil)
	g := portaltest.New(52)
	var total int64
	for range 30 {
		m := g.Antrag(portaltest.AntragSpec{})
		total += int64(len(m.Raw))
		appendAll(t, srv, m.Raw)
	}
	f := startFreezer(t, srv.Addr)
	f.after.Store(total / 2)
	st := openSQLite(t)
	cfg := memConfig(srv)
	cfg.IMAP.Address = f.addr()
	s := newMemSyncer(t, srv, st, cfg)
	s.BatchSize = 5
	s.CommandTimeout = time.Second
	start := time.Now()
	res, err := s.Sync(context.Background(), nil)
	took := time.Since(start)
	msg := app.ErrorMessage(err)
	if err == nil || !strings.Contains(msg, "hat 1 Sekunde lang nicht geantwortet") || !strings.Contains(msg, "nichts wurde halb geschrieben") {
		t.Fatalf("frozen server: %v (%s)", err, msg)
	}
	if took > 10*time.Second {
		t.Errorf("the run took %v", took)
	}
	if !f.frozen.Load() {
		t.Fatal("the proxy never froze")
	}
	ctx := context.Background()
	n, _ := st.CountCases(ctx, app.CaseFilter{})
	t.Logf("frozen after %d of %d bytes; %d cases committed before, %v", f.sent.Load(), total, n, took)
	state, _ := st.SyncState(ctx, "INBOX")
	if state == nil || !strings.Contains(state.LastError, "nicht geantwortet") {
		t.Errorf("state %+v", state)
	}
	_ = res
	// The server is back (direct): everything once.
	s2 := newMemSyncer(t, srv, st, nil)
	if _, err := s2.Sync(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if n, _ := st.CountCases(ctx, app.CaseFilter{}); n != 30 || srv.Count("INBOX") != 0 || srv.Count("Übernommen") != 30 {
		t.Errorf("after the server is back: %d cases, inbox %d, Übernommen %d", n, srv.Count("INBOX"), srv.Count("Übernommen"))
	}
}

// TestRunDeadline (point 6): a server that answers, but too slowly for
// the run's time limit ([sync] max_minutes), ends the run with a German
// message; the next run completes what is left.
func TestRunDeadline(t *testing.T) {
	srv := startMem(t, nil)
	g := portaltest.New(53)
	for range 20 {
		appendAll(t, srv, g.Antrag(portaltest.AntragSpec{}).Raw)
	}
	f := startFreezer(t, srv.Addr)
	f.delay = 150 * time.Millisecond
	st := openSQLite(t)
	cfg := memConfig(srv)
	cfg.IMAP.Address = f.addr()
	s := newMemSyncer(t, srv, st, cfg)
	s.BatchSize = 5
	s.RunTimeout = time.Second
	start := time.Now()
	_, err := s.Sync(context.Background(), nil)
	if msg := app.ErrorMessage(err); err == nil || !strings.Contains(msg, "Zeitgrenze von 1 Sekunde erreicht") {
		t.Fatalf("slow server: %v (%s)", err, msg)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the run took %v", took)
	}
	if _, err := newMemSyncer(t, srv, st, nil).Sync(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if n, _ := st.CountCases(context.Background(), app.CaseFilter{}); n != 20 || srv.Count("INBOX") != 0 || srv.Count("Übernommen") != 20 {
		t.Errorf("after the next run: %d cases, inbox %d, Übernommen %d", n, srv.Count("INBOX"), srv.Count("Übernommen"))
	}
}

// TestStartTLSRefusedMessage (point 7): starttls against a server that
// offers no STARTTLS says so and what to set, instead of "Netzwerk
// prüfen".
func TestStartTLSRefusedMessage(t *testing.T) {
	srv := startMem(t, nil)
	cfg := memConfig(srv)
	cfg.IMAP.TLS = mailbox.TLSStart
	_, err := newMemSyncer(t, srv, openSQLite(t), cfg).Sync(context.Background(), nil)
	msg := app.ErrorMessage(err)
	if !strings.Contains(msg, "keine Verschlüsselung per STARTTLS") || !strings.Contains(msg, `tls = "tls"`) || strings.Contains(msg, "Netzwerk") {
		t.Errorf("message %q", msg)
	}
}
