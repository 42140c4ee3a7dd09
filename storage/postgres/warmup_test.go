package postgres

import (
	"context"
	"fmt"
	"testing"
)

// The warm-up of a new pooled connection (warmUpSQL) runs without error
// for clerks and leads, whose windows search, and does nothing for a
// service account; an error would go unnoticed at connect (warmUp is a
// help, not a condition).
func TestWarmUp(t *testing.T) {
	db := newDB(t)
	ctx := context.Background()
	insertCase(t, db.serviceLogin("abgleich", "sync").conn(), testCase{Ref: "ZEL-2026-00001", Office: "vg-zell", Name: "Anna Zöller", Author: "portal"})
	for _, l := range []*login{db.newLogin("zel", "clerk", "vg-zell"), db.newLogin("kre", "clerk", "kreis"), db.newLogin("lead", "lead", "vg-ulmen")} {
		var n *int64
		if err := l.conn().QueryRow(ctx, warmUpSQL).Scan(&n); err != nil || n == nil || *n != 0 {
			t.Errorf("%s: warm-up %v, %v", l.Account, n, err)
		}
	}
	var n *int64
	if err := db.serviceLogin("abgleich", "sync").conn().QueryRow(ctx, warmUpSQL).Scan(&n); err != nil || n != nil {
		t.Errorf("sync: warm-up %v, %v; want nothing done", n, err)
	}
	// Open sets it on the pool.
	ulm := db.newLogin("ulm", "clerk", "vg-ulmen")
	st, err := Open(ctx, fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", ulm.Account, cluster.Port, db.name), ulm.Password, testReg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if st.pool.Config().AfterConnect == nil {
		t.Error("no warm-up after connect")
	}
}
