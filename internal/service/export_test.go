package service

// HashedByBuilds is how many bytes of index files builds have hashed.
func (s *Service) HashedByBuilds() int64 { return s.hashes.hashed.Load() }

// RenderedByBuilds is how many packages builds have written into new
// index chunks.
func (s *Service) RenderedByBuilds() int64 { return s.rendered.Load() }

// GuessedFiles is how many index files have hashed guesses waiting for
// the next build.
func (s *Service) GuessedFiles() int {
	s.hashes.mu.Lock()
	defer s.hashes.mu.Unlock()
	return len(s.hashes.guessed)
}

// WaitBackground waits for the work started in the background so far.
func (s *Service) WaitBackground() { s.warm.wg.Wait() }
