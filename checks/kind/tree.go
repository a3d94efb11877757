package kind

// Tree is the repository at one ref, as Spec.Validate reads it.
type Tree interface {
	// Has reports whether the file exists.
	Has(path string) bool
	ReadFile(path string) ([]byte, error)
}
