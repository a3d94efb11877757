package store

import (
	"container/list"
	"context"
	"database/sql/driver"
	"errors"
	"reflect"
)

// SQLite statement cache.
//
// database/sql hands a query string to the driver on every Exec and Query,
// and modernc.org/sqlite compiles it to SQLite byte code each time. The queue
// (river) and the store run the same few dozen statements over and over, and
// under webhook load compiling them was a quarter of the process's CPU. The
// connector below keeps, per connection, the most recently used prepared
// statements keyed by their text and runs a query on its cached statement;
// SQLite re-prepares a cached statement by itself if the schema changes.

// stmtCacheSize bounds the statements kept per connection. Queries built with
// a variable number of placeholders (IN lists) take a slot per shape and fall
// out of the cache when not reused.
const stmtCacheSize = 256

// cachingConnector opens connections through base and wraps each in a
// cachingConn.
type cachingConnector struct {
	base driver.Connector
	size int
}

func (c *cachingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.base.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return newCachingConn(conn, c.size)
}

func (c *cachingConnector) Driver() driver.Driver { return c.base.Driver() }

// sqliteConn is what every modernc.org/sqlite connection implements.
type sqliteConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// stmtContext is what every modernc.org/sqlite statement implements.
type stmtContext interface {
	driver.Stmt
	driver.StmtExecContext
	driver.StmtQueryContext
}

// cachingConn runs Exec and Query on cached prepared statements. database/sql
// uses a connection from one goroutine at a time, so it needs no lock.
type cachingConn struct {
	sqliteConn
	size  int
	order *list.List // of *cachedStmt, most recently used first
	byKey map[string]*list.Element
}

type cachedStmt struct {
	query string
	stmt  stmtContext
	// busy is set while a Rows from this statement is open: the statement's
	// cursor belongs to it, so another use of the same text gets a statement
	// of its own.
	busy bool
	// evicted is set when the cache dropped the statement while it was busy;
	// closing the Rows then closes the statement.
	evicted bool
}

func newCachingConn(conn driver.Conn, size int) (driver.Conn, error) {
	sc, ok := conn.(sqliteConn)
	if !ok {
		conn.Close()
		return nil, errors.New("sqlite statement cache: the driver's connection lacks the context interfaces")
	}
	return &cachingConn{sqliteConn: sc, size: size, order: list.New(), byKey: map[string]*list.Element{}}, nil
}

// Unwrap returns the driver's own connection.
func (c *cachingConn) Unwrap() driver.Conn { return c.sqliteConn }

// cached returns the statement for query, preparing and caching it on first
// use, or nil with no error when the cached one is busy.
func (c *cachingConn) cached(ctx context.Context, query string) (*cachedStmt, error) {
	if e, ok := c.byKey[query]; ok {
		cs := e.Value.(*cachedStmt)
		if cs.busy {
			return nil, nil
		}
		c.order.MoveToFront(e)
		return cs, nil
	}
	st, err := c.sqliteConn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	sc, ok := st.(stmtContext)
	if !ok {
		st.Close()
		return nil, errors.New("sqlite statement cache: the driver's statement lacks the context interfaces")
	}
	cs := &cachedStmt{query: query, stmt: sc}
	c.byKey[query] = c.order.PushFront(cs)
	for c.order.Len() > c.size {
		old := c.order.Back()
		c.order.Remove(old)
		ocs := old.Value.(*cachedStmt)
		delete(c.byKey, ocs.query)
		if ocs.busy {
			ocs.evicted = true
		} else {
			ocs.stmt.Close()
		}
	}
	return cs, nil
}

// ExecContext runs query on its cached statement.
func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	cs, err := c.cached(ctx, query)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.sqliteConn.ExecContext(ctx, query, args)
	}
	return cs.stmt.ExecContext(ctx, args)
}

// QueryContext runs query on its cached statement; the statement is busy
// until the returned Rows is closed.
func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	cs, err := c.cached(ctx, query)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.sqliteConn.QueryContext(ctx, query, args)
	}
	rows, err := cs.stmt.QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	cs.busy = true
	return &cachedRows{Rows: rows, cs: cs}, nil
}

// Close closes every cached statement, then the connection.
func (c *cachingConn) Close() error {
	for e := c.order.Front(); e != nil; e = e.Next() {
		if cs := e.Value.(*cachedStmt); !cs.busy {
			cs.stmt.Close()
		}
	}
	c.order.Init()
	clear(c.byKey)
	return c.sqliteConn.Close()
}

// cachedRows releases its statement when closed.
type cachedRows struct {
	driver.Rows
	cs     *cachedStmt
	closed bool
}

func (r *cachedRows) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	err := r.Rows.Close()
	r.cs.busy = false
	if r.cs.evicted {
		if cerr := r.cs.stmt.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// The column type methods are forwarded so sql.Rows.ColumnTypes keeps working.

func (r *cachedRows) ColumnTypeDatabaseTypeName(i int) string {
	if t, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}

func (r *cachedRows) ColumnTypeNullable(i int) (nullable, ok bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeNullable); ok {
		return t.ColumnTypeNullable(i)
	}
	return false, false
}

func (r *cachedRows) ColumnTypeScanType(i int) reflect.Type {
	if t, ok := r.Rows.(driver.RowsColumnTypeScanType); ok {
		return t.ColumnTypeScanType(i)
	}
	return reflect.TypeFor[any]()
}

func (r *cachedRows) ColumnTypeLength(i int) (length int64, ok bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeLength); ok {
		return t.ColumnTypeLength(i)
	}
	return 0, false
}

func (r *cachedRows) ColumnTypePrecisionScale(i int) (precision, scale int64, ok bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypePrecisionScale); ok {
		return t.ColumnTypePrecisionScale(i)
	}
	return 0, 0, false
}
