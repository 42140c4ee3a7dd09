package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"amtstresen/app"
	"amtstresen/storage"
	"amtstresen/storage/postgres"
	"amtstresen/storage/postgres/pgtest"
	"amtstresen/storage/postgres/pgtest/pgsetup"
	"amtstresen/sync"
)

// openStore opens the store the sync writes into: the SQLite file in tmp,
// or (kind "postgres") a fresh database on a private PostgreSQL 15 with
// durable commits (fsync and full-page writes on, unlike the tests'
// clusters), as the sync's service account (amtstresen_sync), over TCP on
// loopback as a server on the network would be reached.
func openStore(kind, tmp string) (st sync.Store, name string, closeFn func(), err error) {
	serverCPU = func() time.Duration { return 0 }
	if kind != "postgres" {
		db, err := storage.Open(context.Background(), filepath.Join(tmp, "bench.db"), app.Default())
		if err != nil {
			return nil, "", nil, err
		}
		return db, "Speicher: SQLite (storage, WAL)", func() { db.Close() }, nil
	}
	// A folder of its own: the postgres user cannot enter tmp (0700).
	dir, err := os.MkdirTemp("", "amtstresen-pg-syncbench-")
	if err != nil {
		return nil, "", nil, err
	}
	settings := map[string]string{
		"fsync": "on", "full_page_writes": "on", "synchronous_commit": "on",
		"shared_buffers": "256MB", "max_wal_size": "2GB",
	}
	if os.Getenv("BENCH_PGSTAT") != "" {
		settings["shared_preload_libraries"] = "'pg_stat_statements'"
		settings["pg_stat_statements.track"] = "all"
	}
	c, _, err := pgtest.StartKept(dir, settings)
	if err != nil {
		return nil, "", nil, err
	}
	stop := func() { c.Stop(); os.RemoveAll(dir) }
	d, err := pgsetup.Create(c)
	if err != nil {
		stop()
		return nil, "", nil, err
	}
	// BENCH_SQL: statements run as superuser before the sync, to try a
	// change of the schema (an index, a storage setting) on this run only.
	if q := os.Getenv("BENCH_SQL"); q != "" {
		for _, stmt := range strings.Split(q, ";") {
			if strings.TrimSpace(stmt) == "" {
				continue
			}
			if err := c.Exec(context.Background(), d.Name, stmt); err != nil {
				stop()
				return nil, "", nil, fmt.Errorf("BENCH_SQL %q: %w", stmt, err)
			}
		}
	}
	l, err := d.CreateService("bench_abgleich", "sync")
	if err != nil {
		stop()
		return nil, "", nil, err
	}
	db, err := postgres.Open(context.Background(), l.URL, l.Password, app.Default())
	if err != nil {
		stop()
		return nil, "", nil, err
	}
	serverCPU = func() time.Duration { return clusterCPU(c.Data) }
	name = fmt.Sprintf("Speicher: PostgreSQL 15 (storage/postgres, privater Server auf 127.0.0.1:%d, fsync an, als Dienstkonto amtstresen_sync)", c.Port)
	return db, name, func() {
		if os.Getenv("BENCH_PGSTAT") != "" {
			printStatements(c.SuperURL(d.Name))
		}
		db.Close()
		stop()
	}, nil
}

// serverCPU is the CPU time the database server used so far (0 for
// SQLite, which runs inside the program).
var serverCPU func() time.Duration

// clusterCPU is the CPU time of the PostgreSQL server whose data
// directory is data: the postmaster, its ended children and the running
// ones (from /proc).
func clusterCPU(data string) time.Duration {
	b, err := os.ReadFile(filepath.Join(data, "postmaster.pid"))
	if err != nil {
		return 0
	}
	pid, _, _ := strings.Cut(string(b), "\n")
	ticks := func(stat string, fields ...int) int64 {
		// After the command in parentheses: state is field 3.
		i := strings.LastIndexByte(stat, ')')
		f := strings.Fields(stat[i+2:])
		var n int64
		for _, k := range fields {
			v, _ := strconv.ParseInt(f[k-3], 10, 64)
			n += v
		}
		return n
	}
	var total int64
	if st, err := os.ReadFile("/proc/" + strings.TrimSpace(pid) + "/stat"); err == nil {
		total += ticks(string(st), 14, 15, 16, 17) // utime, stime, cutime, cstime
	}
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		st, err := os.ReadFile("/proc/" + p.Name() + "/stat")
		if err != nil {
			continue
		}
		i := strings.LastIndexByte(string(st), ')')
		if i < 0 || i+2 >= len(st) {
			continue
		}
		if f := strings.Fields(string(st[i+2:])); len(f) > 1 && f[1] == strings.TrimSpace(pid) {
			total += ticks(string(st), 14, 15)
		}
	}
	return time.Duration(total) * (time.Second / 100) // USER_HZ
}

// printStatements shows the statements that took the server's time
// (BENCH_PGSTAT=1).
func printStatements(url string) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		fmt.Println("pg_stat_statements:", err)
		return
	}
	defer conn.Close(ctx)
	conn.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
	rows, err := conn.Query(ctx, `SELECT calls, round(total_exec_time)::bigint, left(regexp_replace(query, '\s+', ' ', 'g'), 110)
		FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 25`)
	if err != nil {
		fmt.Println("pg_stat_statements:", err)
		return
	}
	defer rows.Close()
	for rows.Next() {
		var calls, ms int64
		var q string
		rows.Scan(&calls, &ms, &q)
		fmt.Printf("%8d %8d ms  %s\n", calls, ms, q)
	}
}
