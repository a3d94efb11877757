// Package retry marks errors that no retry can fix, such as a malformed
// webhook payload, so the job queue stops retrying them at once. It holds no
// retry loop of its own.
package retry

// permanent wraps an error that a retry cannot fix.
type permanent struct{ err error }

func (p permanent) Error() string   { return p.err.Error() }
func (p permanent) Unwrap() error   { return p.err }
func (p permanent) Permanent() bool { return true }

// Permanent marks err as one that retrying cannot fix; nil stays nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanent{err}
}
