// Command memprobe measures the memory the portal sync needs for the worst
// mails the caps let through: a child process builds one hostile delivery
// (signed with the test key) into a file, doveadm puts it into a private
// Dovecot (as root, like the integration tests), and this process syncs
// it into a new SQLite database and prints its own peak resident memory:
// the sync's, since the mail reached this process only through IMAP.
//
//	go build -tags sqlite_fts5 -o /tmp/memprobe ./ui/cli/internal/memprobe
//	/tmp/memprobe -case nested        (also: array, name, announced, parts, plain)
//	/usr/bin/time -v /tmp/memprobe -case nested
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"amtstresen/app"
	"amtstresen/storage"
	"amtstresen/sync"
	"amtstresen/sync/dovecottest"
	"amtstresen/sync/mailbox"
	"amtstresen/sync/portaltest"
	"amtstresen/ui/cli/internal/gctune"
)

func main() {
	which := flag.String("case", "nested", "nested | array | name | announced | parts | plain")
	write := flag.String("write", "", "only build the mail into this file (the child process)")
	flag.Parse()
	if *write == "" {
		if err := measure(*which); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	g := portaltest.New(1)
	var m *portaltest.Mail
	switch *which {
	case "nested": // a 23 MB mail: an object of empty objects
		m = fit(func(n int) *portaltest.Mail {
			var b strings.Builder
			b.WriteString("{")
			for i := 0; b.Len() < n; i++ {
				if i > 0 {
					b.WriteString(",")
				}
				fmt.Fprintf(&b, `"k%d":{}`, i)
			}
			b.WriteString("}")
			return g.Antrag(portaltest.AntragSpec{NoFiles: true, Extra: map[string]any{"angaben": json.RawMessage(b.String())}})
		})
	case "array": // a 23 MB mail: a list of empty objects
		m = fit(func(n int) *portaltest.Mail {
			return g.Antrag(portaltest.AntragSpec{NoFiles: true, Extra: map[string]any{"angaben": json.RawMessage(`{"x":[` + strings.Repeat(`{},`, n/3) + `{}]}`)}})
		})
	case "name": // a 10 MB name
		a := g.Applicant()
		a.LastName = strings.Repeat("x", 10<<20)
		m = g.Antrag(portaltest.AntragSpec{Applicant: &a, NoFiles: true})
	case "announced": // 100,000 announced attachments
		list := make([]any, 100000)
		for i := range list {
			list[i] = map[string]any{"datei": fmt.Sprintf("a%d.jpg", i), "typ": "image/jpeg", "groesse": 1, "sha256": strings.Repeat("0", 64)}
		}
		m = g.Antrag(portaltest.AntragSpec{NoFiles: true, Extra: map[string]any{"anlagen": list}})
	case "parts": // 24 MB of tiny MIME parts (over the part limit)
		var files []portaltest.File
		for i := 0; i < 60000; i++ {
			files = append(files, portaltest.File{Name: fmt.Sprintf("s%d.jpg", i), Type: "image/jpeg", Data: []byte{1}})
		}
		m = g.Antrag(portaltest.AntragSpec{Files: files})
	case "plain": // a genuine application with a 15 MB photo, for comparison
		m = g.Antrag(portaltest.AntragSpec{Files: []portaltest.File{{Name: "foto.jpg", Type: "image/jpeg", Data: g.JPEG(15 << 20)}}})
	default:
		fmt.Fprintln(os.Stderr, "unknown case")
		os.Exit(2)
	}
	if err := os.WriteFile(*write, m.Raw, 0o600); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// fit builds the mail with a JSON part of n bytes, n chosen so that the
// mail is about 23 MB (under the 25 MB limit, so it is downloaded whole).
func fit(build func(n int) *portaltest.Mail) *portaltest.Mail {
	n := 8 << 20
	for {
		m := build(n)
		size := len(m.Raw)
		if size > 22<<20 && size < 24<<20 {
			return m
		}
		n = int(float64(n) * float64(23<<20) / float64(size))
	}
}

func measure(which string) error {
	dir, err := os.MkdirTemp("", "memprobe-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "mail.eml")
	child := exec.Command(os.Args[0], "-case", which, "-write", file)
	child.Stderr = os.Stderr
	if err := child.Run(); err != nil {
		return fmt.Errorf("build the mail: %w", err)
	}
	st, err := os.Stat(file)
	if err != nil {
		return err
	}
	size := st.Size()
	d, err := dovecottest.StartServer()
	if err != nil {
		return err
	}
	defer d.Stop()
	save := exec.Command("doveadm", "-c", d.Conf, "save", "-u", d.User, "-m", "INBOX")
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	save.Stdin = f
	out, err := save.CombinedOutput()
	f.Close()
	if err != nil {
		return fmt.Errorf("doveadm save: %v: %s", err, out)
	}
	ctx := context.Background()
	reg := app.Default()
	db, err := storage.Open(ctx, filepath.Join(dir, "a.db"), reg)
	if err != nil {
		return err
	}
	defer db.Close()
	cfg := &app.Config{IMAP: app.IMAPConfig{Address: d.Addr, TLS: mailbox.TLSNone, Username: d.User},
		Portal: app.PortalConfig{PublicKey: portaltest.TestPublicKeyBase64()}}
	s, err := sync.New(cfg, db, reg, nil)
	if err != nil {
		return err
	}
	pw := d.Password
	s.Password = func() (string, error) { return pw, nil }
	s.OnRun = gctune.Relax
	var before syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	t0 := time.Now()
	res, err := s.Sync(ctx, nil)
	if err != nil {
		return err
	}
	took := time.Since(t0)
	items, _ := db.ReviewItems(ctx, true)
	outcome := res.Summary()
	if len(items) > 0 {
		outcome = string(items[0].Reason) + ": " + items[0].Detail
	}
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	fmt.Printf("mail %.1f MB; %s; sync %v; peak RSS %.0f MB (before the sync %.0f MB)\n",
		float64(size)/(1<<20), outcome, took.Round(time.Millisecond), float64(ru.Maxrss)/1024, float64(before.Maxrss)/1024)
	return nil
}
