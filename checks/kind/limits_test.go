package kind

import (
	"fmt"
	"testing"
)

func TestTooLargeErrorSaysTheSizeAndTheLimit(t *testing.T) {
	err := fmt.Errorf("read: %w", &TooLargeError{Path: "models/fraud.yaml", Size: 20 << 20})
	tl, ok := IsTooLarge(err)
	if !ok || tl.Path != "models/fraud.yaml" {
		t.Fatalf("IsTooLarge(%v) = %v, %v", err, tl, ok)
	}
	if got, want := tl.Error(), "models/fraud.yaml is 20 MiB; the limit is 1 MiB"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if got := (&TooLargeError{Path: "x"}).Error(); got != "x is larger than 1 MiB, the limit for a file Conveyor reads" {
		t.Errorf("unknown size: %q", got)
	}
	for n, want := range map[int64]string{12: "12 bytes", 1536: "1.5 KiB", 1 << 20: "1 MiB", 3 << 30: "3 GiB"} {
		if got := Size(n); got != want {
			t.Errorf("Size(%d) = %q, want %q", n, got, want)
		}
	}
}
