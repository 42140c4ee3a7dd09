package postgres

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"amtstresen/storage/postgres/pgtest"
)

// An administrator makes, moves and removes clerks' login roles with
// set_clerk_role and remove_clerk_role; a move or a removal takes effect
// at once, also in the clerk's open session.
func TestSetClerkRole(t *testing.T) {
	db := newDB(t)
	ctx := context.Background()
	sync := db.serviceLogin("abgleich", "sync").conn()
	insertCase(t, sync, testCase{Ref: "ULM-2026-00001", Office: "vg-ulmen", Name: "Karl Ulmer", Author: "portal"})
	insertCase(t, sync, testCase{Ref: "ZEL-2026-00001", Office: "vg-zell", Name: "Anna Zöller", Author: "portal"})
	adm := db.newLogin("adm", "admin", "")
	admin := adm.conn()

	account := fmt.Sprintf("mmueller%d", accounts.Add(1))
	pw := "Geheim-" + pgtest.Password()
	v, err := ScramVerifier(pw)
	if err != nil {
		t.Fatal(err)
	}
	set := func(conn *pgx.Conn, account, kind, office, verifier any) error {
		_, err := conn.Exec(ctx, "SELECT amtstresen.set_clerk_role($1, $2, $3, 'Martina Müller', $4)", account, kind, office, verifier)
		return err
	}
	if err := set(admin, account, "clerk", "vg-ulmen", v); err != nil {
		t.Fatal(err)
	}
	clerk := &login{db: db, Account: account, Password: pw}
	conn := clerk.conn() // the password works
	refs := func() string {
		var s string
		if err := conn.QueryRow(ctx, "SELECT coalesce(string_agg(ref, ',' ORDER BY ref), '') FROM amtstresen.cases").Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	if got := refs(); got != "ULM-2026-00001" {
		t.Fatalf("clerk of Ulmen sees %q", got)
	}
	// Moved to Zell, without a new password: the open session sees Zell's.
	if err := set(admin, account, "clerk", "vg-zell", nil); err != nil {
		t.Fatal(err)
	}
	if got := refs(); got != "ZEL-2026-00001" {
		t.Fatalf("after the move the open session sees %q", got)
	}
	var role, office, by string
	if err := admin.QueryRow(ctx, "SELECT role, office, updated_by FROM amtstresen.roles WHERE clerk = $1", account).Scan(&role, &office, &by); err != nil ||
		role != "clerk" || office != "vg-zell" || by != adm.Account {
		t.Errorf("roles row: %s %s %s, %v", role, office, by, err)
	}
	var detail string
	if err := admin.QueryRow(ctx, "SELECT detail FROM amtstresen.audit_log WHERE action = 'role.set' AND ref = $1 AND clerk = $2 ORDER BY id DESC LIMIT 1", account, adm.Account).Scan(&detail); err != nil ||
		detail != "clerk@vg-zell<-clerk@vg-ulmen" {
		t.Errorf("audit of the move: %q, %v", detail, err)
	}
	// Exactly one kind and one office.
	var memberships []string
	rows, err := admin.Query(ctx, `SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
		JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = $1 ORDER BY 1`, account)
	if err != nil {
		t.Fatal(err)
	}
	memberships, _ = pgx.CollectRows(rows, pgx.RowTo[string])
	if strings.Join(memberships, " ") != "amtstresen_clerk amtstresen_konto amtstresen_vg_zell" {
		t.Errorf("memberships: %v", memberships)
	}

	// Refused, with a German reason.
	other := fmt.Sprintf("fremd%d", accounts.Add(1))
	if err := cluster.Exec(ctx, "postgres", "CREATE ROLE "+other+" LOGIN"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		account, kind, office string
		verifier              any
		want                  string
	}{
		{account, "clerk", "vg-zell", pw, "nie im Klartext"},
		{"MMueller", "clerk", "vg-zell", nil, "Kleinbuchstaben"},
		{"m mueller", "clerk", "vg-zell", nil, "Kleinbuchstaben"},
		{"", "clerk", "vg-zell", nil, "Kleinbuchstaben"},
		{"pg_monitor", "clerk", "vg-zell", nil, "Kleinbuchstaben"},
		{"amtstresen_admin", "clerk", "vg-zell", nil, "Kleinbuchstaben"},
		{account, "chef", "vg-zell", nil, "Unbekannte Rolle"},
		{account, "clerk", "", nil, "brauchen eine Dienststelle"},
		{account, "clerk", "vg-mayen", nil, "Unbekannte Dienststelle"},
		{other, "clerk", "vg-zell", nil, "nicht als Konto von Amtstresen"},
		{"postgres", "admin", "", nil, "nicht als Konto von Amtstresen"},
		{migrator, "admin", "", nil, "Kleinbuchstaben"}, // amtstresen_…
	} {
		err := set(admin, tc.account, tc.kind, tc.office, tc.verifier)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("set_clerk_role(%q, %q, %q): %v; want %q", tc.account, tc.kind, tc.office, err, tc.want)
		}
	}
	// Only administrators make roles.
	for _, f := range []string{"SELECT amtstresen.set_clerk_role($1, 'admin', '', '', NULL)", "SELECT amtstresen.remove_clerk_role($1)"} {
		if _, err := conn.Exec(ctx, f, account); pgCode(err) != "42501" {
			t.Errorf("clerk: %s: %v", f, err)
		}
	}

	// Removed: the open session sees nothing more, a new login fails.
	if _, err := admin.Exec(ctx, "SELECT amtstresen.remove_clerk_role($1)", account); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM amtstresen.cases").Scan(&n); err == nil {
		t.Errorf("removed clerk's session still reads %d cases", n)
	}
	if c, err := pgx.Connect(ctx, clerk.url()); err == nil {
		c.Close(ctx)
		t.Error("removed clerk can still log in")
	}
	if n := count(t, admin, "SELECT count(*) FROM amtstresen.roles WHERE clerk = $1", account); n != 0 {
		t.Error("roles row still there")
	}
	if n := count(t, admin, "SELECT count(*) FROM amtstresen.audit_log WHERE action = 'role.remove' AND ref = $1", account); n != 1 {
		t.Error("removal not audited")
	}
	// And set again: a login once more.
	if err := set(admin, account, "lead", "vg-ulmen", v); err != nil {
		t.Fatal(err)
	}
	if got := count(t, clerk.conn(), "SELECT count(*) FROM amtstresen.cases"); got != 1 {
		t.Errorf("back as lead of Ulmen: %d cases", got)
	}

	// The last administrator stays while others have roles.
	if _, err := admin.Exec(ctx, "SELECT amtstresen.remove_clerk_role($1)", adm.Account); err == nil || !strings.Contains(err.Error(), "letzte Administration") {
		t.Errorf("remove the last admin: %v", err)
	}
}

func TestScramVerifier(t *testing.T) {
	a, err := ScramVerifier("geheim")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := ScramVerifier("geheim")
	if a == b || !strings.HasPrefix(a, "SCRAM-SHA-256$4096:") || strings.Contains(a, "geheim") {
		t.Errorf("verifiers %s %s", a, b)
	}
}
