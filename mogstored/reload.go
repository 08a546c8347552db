package mogstored

// Rescan asks for a usage refresh now, as the periodic one does: device
// directories added to or removed from the docroot show in the usage
// files, the device states and the metrics without waiting for the next
// interval (mogstored does this on SIGHUP). It does not wait.
func (s *Server) Rescan() {
	select {
	case s.usage.kick <- struct{}{}:
	default: // a refresh is already due
	}
}

// Config returns the configuration the server runs with (after Check
// filled in the derived values).
func (s *Server) Config() Config { return s.cfg }
