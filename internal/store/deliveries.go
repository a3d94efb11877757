package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Delivery is one stored GitHub webhook delivery.
type Delivery struct {
	ID             string // X-GitHub-Delivery
	Event          string // X-GitHub-Event
	Action         string
	InstallationID int64
	Repository     string
	Payload        []byte
	ReceivedAt     int64 // Unix ms
	ProcessedAt    int64 // Unix ms, 0 while not processed
	Outcome        string
	Error          string
}

// ErrNotFound is returned when a row does not exist.
var ErrNotFound = errors.New("not found")

const insertDelivery = `INSERT INTO deliveries (id, event, action, installation_id, repository, payload, received_at, processed_at, outcome)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING`

// InsertDelivery stores d inside tx. It reports false, without error, when a
// delivery with the same ID is already stored (a redelivery).
func (s *Store) InsertDelivery(ctx context.Context, tx *sql.Tx, d *Delivery) (bool, error) {
	ins, err := s.InsertDeliveries(ctx, tx, []*Delivery{d})
	if err != nil {
		return false, err
	}
	return ins[0], nil
}

// InsertDeliveries stores ds inside tx and reports, for each, whether it was
// new (false: a redelivery, or an ID repeated earlier in ds). A delivery
// with ProcessedAt set is stored as already processed with its Outcome (the
// intake does this for events no handler acts on). SQLite runs one prepared
// statement per row in process; PostgreSQL gets the whole batch in one
// statement, one round trip.
func (s *Store) InsertDeliveries(ctx context.Context, tx *sql.Tx, ds []*Delivery) ([]bool, error) {
	if s.Dialect == Postgres {
		return insertDeliveriesPostgres(ctx, tx, ds)
	}
	// The connection's statement cache compiles the insert once.
	out := make([]bool, len(ds))
	for i, d := range ds {
		processed := sql.NullInt64{Int64: d.ProcessedAt, Valid: d.ProcessedAt != 0}
		res, err := tx.ExecContext(ctx, insertDelivery, d.ID, d.Event, d.Action, d.InstallationID, d.Repository, d.Payload, d.ReceivedAt, processed, d.Outcome)
		if err != nil {
			return nil, fmt.Errorf("store delivery %s: %w", d.ID, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return nil, err
		}
		out[i] = n == 1
	}
	return out, nil
}

const insertDeliveriesUnnest = `INSERT INTO deliveries (id, event, action, installation_id, repository, payload, received_at, processed_at, outcome)
	SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::bytea[], $7::bigint[], $8::bigint[], $9::text[])
	ON CONFLICT (id) DO NOTHING RETURNING id`

func insertDeliveriesPostgres(ctx context.Context, tx *sql.Tx, ds []*Delivery) ([]bool, error) {
	rows, err := tx.QueryContext(ctx, insertDeliveriesUnnest, deliveryColumns(ds)...)
	if err != nil {
		return nil, fmt.Errorf("store deliveries: %w", err)
	}
	defer rows.Close()
	inserted := make(map[string]bool, len(ds))
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("store deliveries: %w", err)
		}
		inserted[id] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store deliveries: %w", err)
	}
	return insertedFlags(ds, inserted), nil
}

// insertDeliveriesPgx is insertDeliveriesPostgres on a pgx transaction.
func insertDeliveriesPgx(ctx context.Context, tx pgx.Tx, ds []*Delivery) ([]bool, error) {
	rows, err := tx.Query(ctx, insertDeliveriesUnnest, deliveryColumns(ds)...)
	if err != nil {
		return nil, fmt.Errorf("store deliveries: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("store deliveries: %w", err)
	}
	inserted := make(map[string]bool, len(ids))
	for _, id := range ids {
		inserted[id] = true
	}
	return insertedFlags(ds, inserted), nil
}

// deliveryColumns is ds as the arrays insertDeliveriesUnnest takes.
func deliveryColumns(ds []*Delivery) []any {
	n := len(ds)
	ids, events, actions, repos, outcomes := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	insts, received := make([]int64, n), make([]int64, n)
	processed := make([]*int64, n)
	payloads := make([][]byte, n)
	for i, d := range ds {
		ids[i], events[i], actions[i], repos[i], outcomes[i] = d.ID, d.Event, d.Action, d.Repository, d.Outcome
		insts[i], received[i], payloads[i] = d.InstallationID, d.ReceivedAt, d.Payload
		if d.ProcessedAt != 0 {
			processed[i] = &d.ProcessedAt
		}
	}
	return []any{ids, events, actions, insts, repos, payloads, received, processed, outcomes}
}

// insertedFlags says, for each of ds, whether its ID is among the inserted;
// of repeated IDs, the first is the one that was stored.
func insertedFlags(ds []*Delivery, inserted map[string]bool) []bool {
	out := make([]bool, len(ds))
	for i, d := range ds {
		out[i] = inserted[d.ID]
		delete(inserted, d.ID)
	}
	return out
}

// Delivery loads a stored delivery.
func (s *Store) Delivery(ctx context.Context, id string) (*Delivery, error) {
	d := &Delivery{}
	var processed sql.NullInt64
	err := s.DB.QueryRowContext(ctx, `SELECT id, event, action, installation_id, repository, payload, received_at, processed_at, outcome, error
		FROM deliveries WHERE id = $1`, id).Scan(&d.ID, &d.Event, &d.Action, &d.InstallationID, &d.Repository, &d.Payload, &d.ReceivedAt, &processed, &d.Outcome, &d.Error)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("delivery %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("delivery %s: %w", id, err)
	}
	d.ProcessedAt = processed.Int64
	return d, nil
}

// MarkProcessed records the outcome of processing a delivery. It reports
// false when the delivery was already marked processed by someone else.
func (s *Store) MarkProcessed(ctx context.Context, id, outcome, errText string) (bool, error) {
	res, err := s.DB.ExecContext(ctx, `UPDATE deliveries SET processed_at = $1, outcome = $2, error = $3 WHERE id = $4 AND processed_at IS NULL`,
		now(), outcome, errText, id)
	if err != nil {
		return false, fmt.Errorf("mark delivery %s: %w", id, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// RecordFailure notes the last error of a delivery that will be retried.
func (s *Store) RecordFailure(ctx context.Context, id, errText string) error {
	_, err := s.DB.ExecContext(ctx, `UPDATE deliveries SET error = $1 WHERE id = $2`, errText, id)
	return err
}

// KnownDeliveries returns which of ids are stored.
func (s *Store) KnownDeliveries(ctx context.Context, ids []string) (map[string]bool, error) {
	known := make(map[string]bool, len(ids))
	const chunk = 200
	for start := 0; start < len(ids); start += chunk {
		part := ids[start:min(start+chunk, len(ids))]
		q := "SELECT id FROM deliveries WHERE id IN ("
		args := make([]any, len(part))
		for i, id := range part {
			if i > 0 {
				q += ","
			}
			q += fmt.Sprintf("$%d", i+1)
			args[i] = id
		}
		rows, err := s.DB.QueryContext(ctx, q+")", args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, err
			}
			known[id] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return known, nil
}

// DeliveryCounts returns how many deliveries are stored and how many processed.
func (s *Store) DeliveryCounts(ctx context.Context) (stored, processed int, err error) {
	err = s.DB.QueryRowContext(ctx, `SELECT count(*), count(processed_at) FROM deliveries`).Scan(&stored, &processed)
	return
}

// PendingDeliveries loads, in one query, those of ids that are stored and
// not yet processed, in the order of ids.
func (s *Store) PendingDeliveries(ctx context.Context, ids []string) ([]*Delivery, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var q strings.Builder
	q.WriteString(`SELECT id, event, action, installation_id, repository, payload, received_at, outcome, error
		FROM deliveries WHERE processed_at IS NULL AND id IN (`)
	args := make([]any, len(ids))
	for i, id := range ids {
		if i > 0 {
			q.WriteByte(',')
		}
		fmt.Fprintf(&q, "$%d", i+1)
		args[i] = id
	}
	q.WriteByte(')')
	rows, err := s.DB.QueryContext(ctx, q.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("load deliveries: %w", err)
	}
	defer rows.Close()
	byID := make(map[string]*Delivery, len(ids))
	for rows.Next() {
		d := &Delivery{}
		if err := rows.Scan(&d.ID, &d.Event, &d.Action, &d.InstallationID, &d.Repository, &d.Payload, &d.ReceivedAt, &d.Outcome, &d.Error); err != nil {
			return nil, fmt.Errorf("load deliveries: %w", err)
		}
		byID[d.ID] = d
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load deliveries: %w", err)
	}
	out := make([]*Delivery, 0, len(byID))
	for _, id := range ids {
		if d, ok := byID[id]; ok {
			out = append(out, d)
			delete(byID, id) // a repeated id is returned once
		}
	}
	return out, nil
}

// Mark is the outcome of processing one delivery.
type Mark struct {
	ID      string
	Outcome string
	Error   string
}

// MarkProcessedMany records several outcomes in one transaction (one
// statement on PostgreSQL). A delivery already marked processed keeps its
// first outcome.
func (s *Store) MarkProcessedMany(ctx context.Context, marks []Mark) error {
	if len(marks) == 0 {
		return nil
	}
	at := now()
	if s.Dialect == Postgres {
		ids, outcomes, errs := make([]string, len(marks)), make([]string, len(marks)), make([]string, len(marks))
		for i, m := range marks {
			ids[i], outcomes[i], errs[i] = m.ID, m.Outcome, m.Error
		}
		_, err := s.DB.ExecContext(ctx, `UPDATE deliveries AS d SET processed_at = $1, outcome = m.outcome, error = m.error
			FROM unnest($2::text[], $3::text[], $4::text[]) AS m(id, outcome, error)
			WHERE d.id = m.id AND d.processed_at IS NULL`, at, ids, outcomes, errs)
		if err != nil {
			return fmt.Errorf("mark deliveries: %w", err)
		}
		return nil
	}
	return s.Tx(ctx, func(tx *sql.Tx) error {
		for _, m := range marks {
			if _, err := tx.ExecContext(ctx, `UPDATE deliveries SET processed_at = $1, outcome = $2, error = $3 WHERE id = $4 AND processed_at IS NULL`, at, m.Outcome, m.Error, m.ID); err != nil {
				return fmt.Errorf("mark delivery %s: %w", m.ID, err)
			}
		}
		return nil
	})
}
