package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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

const insertDelivery = `INSERT INTO deliveries (id, event, action, installation_id, repository, payload, received_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING`

// InsertDelivery stores d inside tx. It reports false, without error, when a
// delivery with the same ID is already stored (a redelivery).
func InsertDelivery(ctx context.Context, tx *sql.Tx, d *Delivery) (bool, error) {
	ins, err := InsertDeliveries(ctx, tx, []*Delivery{d})
	if err != nil {
		return false, err
	}
	return ins[0], nil
}

// InsertDeliveries stores ds inside tx with one prepared statement and
// reports, for each, whether it was new (false: a redelivery).
func InsertDeliveries(ctx context.Context, tx *sql.Tx, ds []*Delivery) ([]bool, error) {
	stmt, err := tx.PrepareContext(ctx, insertDelivery)
	if err != nil {
		return nil, fmt.Errorf("store deliveries: %w", err)
	}
	defer stmt.Close()
	out := make([]bool, len(ds))
	for i, d := range ds {
		if out[i], err = insertOne(ctx, stmt, d); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func insertOne(ctx context.Context, stmt *sql.Stmt, d *Delivery) (bool, error) {
	res, err := stmt.ExecContext(ctx, d.ID, d.Event, d.Action, d.InstallationID, d.Repository, d.Payload, d.ReceivedAt)
	if err != nil {
		return false, fmt.Errorf("store delivery %s: %w", d.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, err
	}
	return n == 1, nil
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

// DeliveryHeader loads a delivery without its payload: enough to tell whether
// anyone handles it and whether it was processed.
func (s *Store) DeliveryHeader(ctx context.Context, id string) (*Delivery, error) {
	d := &Delivery{}
	var processed sql.NullInt64
	err := s.DB.QueryRowContext(ctx, `SELECT id, event, action, installation_id, repository, received_at, processed_at
		FROM deliveries WHERE id = $1`, id).Scan(&d.ID, &d.Event, &d.Action, &d.InstallationID, &d.Repository, &d.ReceivedAt, &processed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("delivery %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("delivery %s: %w", id, err)
	}
	d.ProcessedAt = processed.Int64
	return d, nil
}
