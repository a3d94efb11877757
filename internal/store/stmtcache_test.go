package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"

	"modernc.org/sqlite"
)

// countingConnector counts the statements the driver compiles.
type countingConnector struct {
	driver.Connector
	prepares atomic.Int64
}

func (c *countingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &countingConn{sqliteConn: conn.(sqliteConn), n: &c.prepares}, nil
}

type countingConn struct {
	sqliteConn
	n *atomic.Int64
}

func (c *countingConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	c.n.Add(1)
	return c.sqliteConn.PrepareContext(ctx, q)
}

func openCached(t *testing.T, size int) (*sql.DB, *countingConnector) {
	t.Helper()
	base, err := sqlite.NewConnector("file:" + filepath.Join(t.TempDir(), "c.db") + "?_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	cc := &countingConnector{Connector: base}
	db := sql.OpenDB(&cachingConnector{base: cc, size: size})
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec(`CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	return db, cc
}

func TestStatementCacheCompilesOnce(t *testing.T) {
	db, cc := openCached(t, 16)
	before := cc.prepares.Load()
	for i := range 50 {
		if _, err := db.Exec(`INSERT INTO kv (k, v) VALUES ($1, $2)`, fmt.Sprint("k", i), i); err != nil {
			t.Fatal(err)
		}
		var v int
		if err := db.QueryRow(`SELECT v FROM kv WHERE k = $1`, fmt.Sprint("k", i)).Scan(&v); err != nil || v != i {
			t.Fatalf("read back %d: %d %v", i, v, err)
		}
	}
	if n := cc.prepares.Load() - before; n != 2 {
		t.Fatalf("compiled %d statements for 100 calls of 2 texts, want 2", n)
	}
	// Errors come through and leave the statement usable.
	if _, err := db.Exec(`INSERT INTO kv (k, v) VALUES ($1, $2)`, "k1", 1); err == nil {
		t.Fatal("duplicate key accepted")
	}
	if _, err := db.Exec(`INSERT INTO kv (k, v) VALUES ($1, $2)`, "new", 7); err != nil {
		t.Fatalf("statement unusable after an error: %v", err)
	}
}

// The same text run while a Rows of it is still open gets its own statement,
// and both cursors read correct rows.
func TestStatementCacheNestedSameQuery(t *testing.T) {
	db, _ := openCached(t, 16)
	for i := range 3 {
		db.Exec(`INSERT INTO kv (k, v) VALUES ($1, $2)`, fmt.Sprint("k", i), i)
	}
	const q = `SELECT k, v FROM kv WHERE v >= $1 ORDER BY v`
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	outer, err := conn.QueryContext(ctx, q, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for outer.Next() {
		var k string
		var v int
		outer.Scan(&k, &v)
		inner, err := conn.QueryContext(ctx, q, v)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for inner.Next() {
			n++
		}
		inner.Close()
		got = append(got, fmt.Sprintf("%s:%d", k, n))
	}
	if err := outer.Close(); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[k0:3 k1:2 k2:1]" {
		t.Fatalf("nested reads = %v", got)
	}
	// The cached statement is free again.
	var n int
	if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM kv WHERE v >= $1`, 1).Scan(&n); err != nil || n != 2 {
		t.Fatalf("count = %d %v", n, err)
	}
}

// A small cache evicts, also a statement whose Rows is still open, and every
// query still answers correctly.
func TestStatementCacheEviction(t *testing.T) {
	db, cc := openCached(t, 2)
	db.Exec(`INSERT INTO kv (k, v) VALUES ('a', 1), ('b', 2)`)
	ctx := context.Background()
	conn, _ := db.Conn(ctx)
	defer conn.Close()
	open, err := conn.QueryContext(ctx, `SELECT k FROM kv ORDER BY k`)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		var v int
		if err := conn.QueryRowContext(ctx, fmt.Sprintf(`SELECT v + %d FROM kv WHERE k = 'a'`, i)).Scan(&v); err != nil || v != 1+i {
			t.Fatalf("query %d: %d %v", i, v, err)
		}
	}
	var keys []string
	for open.Next() {
		var k string
		open.Scan(&k)
		keys = append(keys, k)
	}
	if err := open.Close(); err != nil || fmt.Sprint(keys) != "[a b]" {
		t.Fatalf("rows of an evicted statement = %v, %v", keys, err)
	}
	before := cc.prepares.Load()
	conn.QueryRowContext(ctx, `SELECT k FROM kv ORDER BY k`).Scan(new(string))
	if cc.prepares.Load() != before+1 {
		t.Fatal("an evicted statement was not compiled again")
	}
}

// SQLite re-prepares a cached statement when the schema changes under it.
func TestStatementCacheSchemaChange(t *testing.T) {
	db, _ := openCached(t, 16)
	db.Exec(`INSERT INTO kv (k, v) VALUES ('a', 1)`)
	cols := func() int {
		rows, err := db.Query(`SELECT * FROM kv`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		c, _ := rows.Columns()
		return len(c)
	}
	if n := cols(); n != 2 {
		t.Fatalf("columns = %d", n)
	}
	if _, err := db.Exec(`ALTER TABLE kv ADD COLUMN note TEXT NOT NULL DEFAULT ''`); err != nil {
		t.Fatal(err)
	}
	if n := cols(); n != 3 {
		t.Fatalf("columns after ALTER = %d, want 3", n)
	}
	// Column types come through the cached statement's rows.
	rows, err := db.Query(`SELECT k, v FROM kv`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	types, err := rows.ColumnTypes()
	if err != nil || len(types) != 2 || types[0].DatabaseTypeName() != "TEXT" || types[1].DatabaseTypeName() != "INTEGER" {
		t.Fatalf("column types = %v, %v", types, err)
	}
}

// A rolled back transaction leaves nothing behind and the statements it used
// keep working.
func TestStatementCacheTransactions(t *testing.T) {
	db, _ := openCached(t, 16)
	tx, _ := db.Begin()
	if _, err := tx.Exec(`INSERT INTO kv (k, v) VALUES ($1, $2)`, "t", 1); err != nil {
		t.Fatal(err)
	}
	tx.Rollback()
	tx, _ = db.Begin()
	tx.Exec(`INSERT INTO kv (k, v) VALUES ($1, $2)`, "u", 2)
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	var n int
	db.QueryRow(`SELECT count(*) FROM kv`).Scan(&n)
	if n != 1 {
		t.Fatalf("rows = %d, want 1 (the rolled back insert is gone)", n)
	}
}
