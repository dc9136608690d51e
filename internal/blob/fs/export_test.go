package fs

// WithoutUnnamed makes s use named temporary files, as it does where the
// system has no unnamed ones, so that tests cover both ways.
func WithoutUnnamed(s *Store) *Store {
	s.unnamed = false
	return s
}
