package postgres

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	gosync "sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"amtstresen/app"
)

// 20 clerks create cases of one office and year at the same moment, while
// 5 more transactions take a number and roll back: the cases get the
// numbers 1 to 20, without gaps and without duplicates.
func TestRefNumbersGapFreeUnderConcurrency(t *testing.T) {
	db := newDB(t)
	ctx := context.Background()
	const created, aborted = 20, 5
	var conns []*pgx.Conn
	var clerks []*login
	for i := 0; i < created+aborted; i++ {
		l := db.newLogin("ulm", "clerk", "vg-ulmen")
		clerks = append(clerks, l)
		conns = append(conns, l.conn())
	}
	start := make(chan struct{})
	errs := make(chan error, len(conns))
	var wg gosync.WaitGroup
	for i, conn := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs <- func() error {
				tx, err := conn.Begin(ctx)
				if err != nil {
					return err
				}
				defer tx.Rollback(ctx)
				var n int
				if err := tx.QueryRow(ctx, "SELECT amtstresen.next_ref_number('ULM', 2026)").Scan(&n); err != nil {
					return fmt.Errorf("next number: %w", err)
				}
				// Hold the number a moment, as a transaction writing
				// documents and attachments does.
				time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond)
				if i >= created {
					return tx.Rollback(ctx)
				}
				c := testCase{Ref: app.FormatRef("ULM", 2026, n), Office: "vg-ulmen", Channel: "counter", Name: "Karl Ulmer", Author: clerks[i].Account}
				if _, err := insertCaseTx(ctx, tx, c); err != nil {
					return err
				}
				return tx.Commit(ctx)
			}()
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	rows, err := db.newLogin("ulm", "lead", "vg-ulmen").conn().Query(ctx, "SELECT ref FROM amtstresen.cases ORDER BY ref")
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for n := 1; n <= created; n++ {
		want = append(want, app.FormatRef("ULM", 2026, n))
	}
	if !slices.Equal(got, want) {
		t.Errorf("references:\n got %v\nwant %v", got, want)
	}
	// Another prefix and another year count on their own.
	for _, tc := range []struct {
		prefix string
		year   int
	}{{"ZEL", 2026}, {"ULM", 2027}} {
		var n int
		if err := conns[0].QueryRow(ctx, "SELECT amtstresen.next_ref_number($1, $2)", tc.prefix, tc.year).Scan(&n); err != nil || n != 1 {
			t.Errorf("%s %d: first number %d, %v", tc.prefix, tc.year, n, err)
		}
	}
}
