package client

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/mogilefs-go/mogilefs/internal/wire"
)

// Tracker error codes, for errors.Is. A *wire.Error matches one of these
// when its code is the same, whatever its text.
var (
	ErrUnknownKey    error = &wire.Error{Code: "unknown_key"}
	ErrInvalidKey    error = &wire.Error{Code: "invalid_key"} // updateclass's "unknown key"
	ErrNoKey         error = &wire.Error{Code: "no_key"}
	ErrKeyExists     error = &wire.Error{Code: "key_exists"}
	ErrNoneMatch     error = &wire.Error{Code: "none_match"}
	ErrNoDomain      error = &wire.Error{Code: "no_domain"}
	ErrUnregDomain   error = &wire.Error{Code: "unreg_domain"}
	ErrUnregClass    error = &wire.Error{Code: "unreg_class"}
	ErrClassNotFound error = &wire.Error{Code: "class_not_found"}
	ErrNoDevices     error = &wire.Error{Code: "no_devices"}
	ErrUnknownCmd    error = &wire.Error{Code: "unknown_command"}
)

// Client-side failures.
var (
	// ErrNoTracker: no tracker could be reached.
	ErrNoTracker = errors.New("could not connect to any tracker")
	// ErrTimeout: a tracker did not answer within the timeout.
	ErrTimeout = errors.New("timed out waiting for the tracker")
	// ErrBadReply: a tracker sent something that is not a reply line.
	ErrBadReply = errors.New("malformed reply from tracker")
	// ErrNoPaths: the tracker knows the key but returned no readable path.
	ErrNoPaths = errors.New("no paths found")
	// ErrClosed: the client was closed.
	ErrClosed = errors.New("client is closed")
)

// IsUnknownKey reports whether err is the tracker's unknown_key (or
// updateclass's invalid_key) answer.
func IsUnknownKey(err error) bool {
	return errors.Is(err, ErrUnknownKey) || errors.Is(err, ErrInvalidKey)
}

// IsNoneMatch reports whether err is list_keys' none_match answer.
func IsNoneMatch(err error) bool { return errors.Is(err, ErrNoneMatch) }

// IsUnknownDomain reports whether err says the domain does not exist.
func IsUnknownDomain(err error) bool { return errors.Is(err, ErrUnregDomain) }

// Code returns the tracker error code carried by err ("unknown_key"), or
// "" if err is not a tracker ERR reply.
func Code(err error) string {
	var we *wire.Error
	if errors.As(err, &we) {
		return we.Code
	}
	return ""
}

// IsCode reports whether err is a tracker ERR reply with this code.
func IsCode(err error, code string) bool { return Code(err) == code }

// TrackerError is a failure to get a reply from a tracker (as opposed to
// an ERR reply, which is a *wire.Error).
type TrackerError struct {
	Addr string // tracker address, "" when none could be tried
	Cmd  string
	Err  error
}

func (e *TrackerError) Error() string {
	if e.Addr == "" {
		return fmt.Sprintf("%s: %v", e.Cmd, e.Err)
	}
	return fmt.Sprintf("%s on tracker %s: %v", e.Cmd, e.Addr, e.Err)
}

func (e *TrackerError) Unwrap() error { return e.Err }

// PathError is a failed HTTP request to a storage node.
type PathError struct {
	Method string
	URL    string
	Status int    // HTTP status, 0 if no response was received
	Msg    string // response body excerpt or transport error text
	Err    error  // transport error, nil for an HTTP status failure
}

func (e *PathError) Error() string {
	if e.Status == 0 {
		return fmt.Sprintf("%s %s: %v", e.Method, e.URL, e.Err)
	}
	s := fmt.Sprintf("%s %s: HTTP %d %s", e.Method, e.URL, e.Status, http.StatusText(e.Status))
	if m := strings.TrimSpace(e.Msg); m != "" {
		s += ": " + m
	}
	return s
}

func (e *PathError) Unwrap() error { return e.Err }

// StatusLine renders the failure like an HTTP client's status line: the
// response's "404 Not Found", or "500 <transport error>" when no response
// arrived (as LWP reports connection failures).
func (e *PathError) StatusLine() string {
	if e.Status == 0 {
		return "500 " + e.Err.Error()
	}
	return fmt.Sprintf("%d %s", e.Status, http.StatusText(e.Status))
}

// FetchError reports that no path of a key could be read.
type FetchError struct {
	Key  string
	Errs []*PathError
}

func (e *FetchError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "could not read %q from any of %d path(s)", e.Key, len(e.Errs))
	for i, pe := range e.Errs {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(pe.Error())
	}
	return b.String()
}

// Unwrap gives the individual path errors to errors.Is/As.
func (e *FetchError) Unwrap() []error {
	out := make([]error, len(e.Errs))
	for i, pe := range e.Errs {
		out[i] = pe
	}
	return out
}
