package kind

import (
	"errors"
	"fmt"
	"strings"
)

// MaxFileBytes is the largest single file Conveyor reads to evaluate a change
// (the repository config, a model pointer). It is GitHub's own limit for the
// contents API, which answers larger files with 403 "too_large" (docs: "Get
// repository content", 1 MB); such files have no business being this big.
const MaxFileBytes = 1 << 20

// TooLargeError says a file is over MaxFileBytes. Facts return it from
// ReadFile so kinds can tell the user which file and what the limit is.
type TooLargeError struct {
	Path string
	Size int64 // bytes; 0 when only "too large" is known
}

func (e *TooLargeError) Error() string {
	if e.Size <= 0 {
		return fmt.Sprintf("%s is larger than %s, the limit for a file Conveyor reads", e.Path, Size(MaxFileBytes))
	}
	return fmt.Sprintf("%s is %s; the limit is %s", e.Path, Size(e.Size), Size(MaxFileBytes))
}

// IsTooLarge reports whether err is (or wraps) a *TooLargeError, and returns it.
func IsTooLarge(err error) (*TooLargeError, bool) {
	var tl *TooLargeError
	ok := errors.As(err, &tl)
	return tl, ok
}

// Size formats a byte count the way people read file sizes ("20 MiB",
// "1.5 KiB", "12 bytes").
func Size(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d bytes", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	s := strings.TrimSuffix(fmt.Sprintf("%.1f", float64(n)/float64(div)), ".0")
	return s + " " + []string{"KiB", "MiB", "GiB", "TiB"}[exp]
}
