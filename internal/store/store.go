// Package store is the one place that knows SQL. It owns the database
// (SQLite, the embedded default, or PostgreSQL for several replicas), the
// schema migrations, and the durable job queue (river) that lives beside the
// tables, so a webhook delivery and its job are written in one transaction.
// It must not call GitHub, Slack or any other service.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"modernc.org/sqlite"

	"github.com/conveyor-dev/conveyor/internal/secretmask"
)

// Dialect names the SQL database behind a Store.
type Dialect string

// The supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DefaultSQLitePath is the database file used when DATABASE_URL is empty.
const DefaultSQLitePath = "conveyor.db"

//go:embed migrations
var migrationsFS embed.FS

// Store is an open database with its job queue driver.
type Store struct {
	DB      *sql.DB
	Dialect Dialect
	driver  riverdriver.Driver[*sql.Tx]
	where   string // redacted location, safe to log
	// pool is PostgreSQL's native connection pool for the webhook intake's
	// writes (see StoreDeliveries); nil on SQLite.
	pool *pgxpool.Pool
}

// Open connects to the database named by url: "" or "sqlite:PATH" (also
// "file:PATH") for SQLite, "postgres://..." or "postgresql://..." for
// PostgreSQL. It does not migrate; call Migrate.
func Open(ctx context.Context, rawURL string) (*Store, error) {
	switch {
	case rawURL == "" || strings.HasPrefix(rawURL, "sqlite:") || strings.HasPrefix(rawURL, "file:"):
		return openSQLite(ctx, sqlitePath(rawURL))
	case strings.HasPrefix(rawURL, "postgres://") || strings.HasPrefix(rawURL, "postgresql://"):
		return openPostgres(ctx, rawURL)
	default:
		return nil, fmt.Errorf("DATABASE_URL: %q is not a database URL (write sqlite:conveyor.db or postgres://user@host/db)", Redact(rawURL))
	}
}

func openSQLite(ctx context.Context, p string) (*Store, error) {
	q := p
	if i := strings.IndexByte(q, '?'); i >= 0 {
		q = q[:i]
	}
	// SQLite reads a file: URI: "%" escapes and "#" starts a fragment, so a
	// path holding them must be escaped to name the file it says
	// (https://www.sqlite.org/uri.html).
	dsn := "file:" + strings.NewReplacer("%", "%25", "#", "%23").Replace(q) + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_txlock=immediate"
	if q == ":memory:" {
		return nil, errors.New("DATABASE_URL: an in-memory SQLite database cannot be shared by the queue; name a file")
	}
	base, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", q, err)
	}
	// Statements are compiled once per connection (stmtcache.go).
	db := sql.OpenDB(&cachingConnector{base: base, size: stmtCacheSize})
	// SQLite allows one writer at a time; one connection avoids SQLITE_BUSY
	// between the queue and the store (the river driver's own advice).
	db.SetMaxOpenConns(1)
	db.SetConnMaxIdleTime(0)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", q, err)
	}
	return &Store{DB: db, Dialect: SQLite, driver: riversqlite.New(db), where: "sqlite:" + q}, nil
}

func openPostgres(ctx context.Context, rawURL string) (*Store, error) {
	db, err := sql.Open("pgx", rawURL)
	if err != nil {
		return nil, fmt.Errorf("open postgres %s: %w", Redact(rawURL), err)
	}
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(16)
	db.SetConnMaxIdleTime(5 * time.Minute)
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to postgres %s: %s", Redact(rawURL), redactErr(err, rawURL))
	}
	pcfg, err := pgxpool.ParseConfig(rawURL)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open postgres %s: %s", Redact(rawURL), redactErr(err, rawURL))
	}
	// The intake's writers (four by default) and a margin; the pool
	// connects lazily.
	pcfg.MaxConns = 8
	pcfg.MaxConnIdleTime = 5 * time.Minute
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open postgres %s: %s", Redact(rawURL), redactErr(err, rawURL))
	}
	return &Store{DB: db, Dialect: Postgres, driver: riverdatabasesql.New(db), where: Redact(rawURL), pool: pool}, nil
}

// Redact removes passwords from a database URL so it can be logged: the
// user info's and a DSN query's (?password=, which pgx accepts too).
func Redact(raw string) string { return secretmask.URL(raw) }

// redactErr is err's message without the URL's passwords, wherever the
// driver quoted them.
func redactErr(err error, raw string) string {
	msg := err.Error()
	if u, perr := url.Parse(raw); perr == nil {
		pws := []string{u.Query().Get("password")}
		if pw, ok := u.User.Password(); ok {
			pws = append(pws, pw)
		}
		for _, pw := range pws {
			if pw != "" {
				msg = strings.ReplaceAll(msg, pw, "xxxxx")
			}
		}
	}
	return secretmask.New().String(msg)
}

// Where says which database this is, without secrets.
func (s *Store) Where() string { return s.where }

// Driver is the river driver for this database.
func (s *Store) Driver() riverdriver.Driver[*sql.Tx] { return s.driver }

// Close closes the database.
func (s *Store) Close() error {
	if s.pool != nil {
		s.pool.Close()
	}
	return s.DB.Close()
}

// Tx runs fn in a transaction, committing when it returns nil.
func (s *Store) Tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.DB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

type migration struct {
	version int
	name    string
	sql     string
}

func (s *Store) migrations() ([]migration, error) {
	dir := path.Join("migrations", string(s.Dialect))
	entries, err := fs.ReadDir(migrationsFS, dir)
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: name must start with a number", e.Name())
		}
		b, err := fs.ReadFile(migrationsFS, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

// Migrate applies the queue's and Conveyor's migrations that are missing. It
// is safe to run from several processes at once.
func (s *Store) Migrate(ctx context.Context) error {
	if s.Dialect == Postgres {
		conn, err := s.DB.Conn(ctx)
		if err != nil {
			return err
		}
		defer conn.Close()
		// Serialize concurrent migrators (several replicas starting at once).
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(7311091)"); err != nil {
			return fmt.Errorf("migrate: lock: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(7311091)")
	}
	m, err := rivermigrate.New(s.driver, nil)
	if err != nil {
		return fmt.Errorf("migrate queue: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("migrate queue: %w", err)
	}
	if _, err := s.DB.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS conveyor_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	ms, err := s.migrations()
	if err != nil {
		return err
	}
	for _, mg := range ms {
		err := s.Tx(ctx, func(tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM conveyor_migrations WHERE version = $1`, mg.version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			for _, stmt := range splitStatements(mg.sql) {
				if _, err := tx.ExecContext(ctx, stmt); err != nil {
					return fmt.Errorf("%s: %w", mg.name, err)
				}
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO conveyor_migrations (version, name, applied_at) VALUES ($1, $2, $3)`, mg.version, mg.name, time.Now().UnixMilli())
			return err
		})
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
	}
	if s.Dialect == Postgres {
		s.compressPayloadsWithLZ4(ctx)
	}
	return nil
}

// compressPayloadsWithLZ4 has PostgreSQL compress new webhook payloads with
// lz4 instead of its default pglz: storing 3,200 real-shaped 25 KB
// pull_request payloads took 2.3-2.7 s with lz4 against 6.0-9.5 s with
// pglz on the two-core test machine (and 13.6 against 20.2 MB), CPU the
// database shares with the intake. Servers before 14, or built without
// lz4, keep pglz: the setting is an optimization, never a requirement.
// Rows already stored keep their compression.
func (s *Store) compressPayloadsWithLZ4(ctx context.Context) {
	var method string
	err := s.DB.QueryRowContext(ctx, `SELECT attcompression::text FROM pg_attribute WHERE attrelid = 'deliveries'::regclass AND attname = 'payload'`).Scan(&method)
	if err != nil || method == "l" {
		return // no attcompression before PostgreSQL 14, or done already
	}
	// Changing it takes a brief exclusive lock on deliveries, so only once.
	s.DB.ExecContext(ctx, `ALTER TABLE deliveries ALTER COLUMN payload SET COMPRESSION lz4`)
}

// Pending returns how many of Conveyor's migrations are not applied yet.
func (s *Store) Pending(ctx context.Context) (int, error) {
	ms, err := s.migrations()
	if err != nil {
		return 0, err
	}
	var applied int
	if err := s.DB.QueryRowContext(ctx, `SELECT count(*) FROM conveyor_migrations`).Scan(&applied); err != nil {
		return len(ms), fmt.Errorf("migrations not applied: %w", err)
	}
	return len(ms) - applied, nil
}

// Ready reports whether the database answers and every migration is applied.
func (s *Store) Ready(ctx context.Context) error {
	if err := s.DB.PingContext(ctx); err != nil {
		return fmt.Errorf("database unreachable: %w", err)
	}
	n, err := s.Pending(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		return fmt.Errorf("%d migrations pending (run conveyor migrate)", n)
	}
	return nil
}

// splitStatements splits a migration into statements. Migrations hold no
// string literals with "--" or ";", so comments are dropped first and a ";"
// in a comment cannot split a statement.
func splitStatements(src string) []string {
	var b strings.Builder
	for _, line := range strings.Split(src, "\n") {
		if i := strings.Index(line, "--"); i >= 0 {
			line = line[:i]
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	var out []string
	for _, part := range strings.Split(b.String(), ";") {
		if strings.TrimSpace(part) != "" {
			out = append(out, part)
		}
	}
	return out
}

// now is the store's clock in Unix milliseconds.
func now() int64 { return time.Now().UnixMilli() }
