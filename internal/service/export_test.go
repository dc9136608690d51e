package service

// HashedByBuilds is how many bytes of index files builds have hashed.
func (s *Service) HashedByBuilds() int64 { return s.hashes.hashed.Load() }

// RenderedByBuilds is how many packages builds have written into new
// index chunks.
func (s *Service) RenderedByBuilds() int64 { return s.rendered.Load() }

// WaitBackground waits for the work started in the background so far.
func (s *Service) WaitBackground() { s.warm.wg.Wait() }
