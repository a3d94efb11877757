package store

import (
	"context"
	"database/sql"
	"fmt"
)

// Installation is one installation of the GitHub App.
type Installation struct {
	ID           int64
	Account      string
	Suspended    bool
	Repositories []string
}

// UpsertInstallation records an installation and, when repos is not nil,
// replaces its repository list.
func (s *Store) UpsertInstallation(ctx context.Context, id int64, account string, suspended bool, repos []string) error {
	return s.Tx(ctx, func(tx *sql.Tx) error {
		susp := 0
		if suspended {
			susp = 1
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO installations (id, account, suspended, updated_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (id) DO UPDATE SET account = excluded.account, suspended = excluded.suspended, updated_at = excluded.updated_at`,
			id, account, susp, now()); err != nil {
			return fmt.Errorf("installation %d: %w", id, err)
		}
		if repos == nil {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM installation_repositories WHERE installation_id = $1`, id); err != nil {
			return err
		}
		return addRepos(ctx, tx, id, repos)
	})
}

func addRepos(ctx context.Context, tx *sql.Tx, id int64, repos []string) error {
	for _, r := range repos {
		if _, err := tx.ExecContext(ctx, `INSERT INTO installation_repositories (installation_id, repository) VALUES ($1, $2) ON CONFLICT DO NOTHING`, id, r); err != nil {
			return fmt.Errorf("installation %d repository %s: %w", id, r, err)
		}
	}
	return nil
}

// ChangeInstallationRepositories adds and removes repositories of an installation.
func (s *Store) ChangeInstallationRepositories(ctx context.Context, id int64, added, removed []string) error {
	return s.Tx(ctx, func(tx *sql.Tx) error {
		if err := addRepos(ctx, tx, id, added); err != nil {
			return err
		}
		for _, r := range removed {
			if _, err := tx.ExecContext(ctx, `DELETE FROM installation_repositories WHERE installation_id = $1 AND repository = $2`, id, r); err != nil {
				return err
			}
		}
		return nil
	})
}

// DeleteInstallation forgets an uninstalled installation.
func (s *Store) DeleteInstallation(ctx context.Context, id int64) error {
	return s.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM installation_repositories WHERE installation_id = $1`, id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM installations WHERE id = $1`, id)
		return err
	})
}

// Installation loads one installation with its repositories.
func (s *Store) Installation(ctx context.Context, id int64) (*Installation, error) {
	in := &Installation{ID: id}
	var susp int
	err := s.DB.QueryRowContext(ctx, `SELECT account, suspended FROM installations WHERE id = $1`, id).Scan(&in.Account, &susp)
	if err == sql.ErrNoRows {
		return nil, fmt.Errorf("installation %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	in.Suspended = susp == 1
	rows, err := s.DB.QueryContext(ctx, `SELECT repository FROM installation_repositories WHERE installation_id = $1 ORDER BY repository`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var r string
		if err := rows.Scan(&r); err != nil {
			return nil, err
		}
		in.Repositories = append(in.Repositories, r)
	}
	return in, rows.Err()
}
