package check

// HTTPS is the "https" check: an http check (HTTP's fields) over TLS (the
// tls check's fields, verifying the certificate for ServerName, else
// Host, else the target's address). It reads what HTTP reads, after a
// handshake that TLS bounds.
type HTTPS struct {
	HTTP
	TLS
}

// Type is "https".
func (HTTPS) Type() string { return "https" }

// Compile checks the fields, as HTTP and TLS do, and reads the files they
// name.
func (s HTTPS) Compile() (Checker, error) {
	p, err := s.HTTP.compile("https")
	if err != nil {
		return nil, err
	}
	if p.tls, err = s.TLS.config(s.Host); err != nil {
		return nil, err
	}
	return p, nil
}
