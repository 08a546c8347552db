package gateway

import (
	"context"
	"errors"
	"net/http"

	"github.com/mogilefs-go/mogilefs/client"
	"github.com/mogilefs-go/mogilefs/internal/wire"
)

// errNoCopy: the key exists but none of its copies could be read.
var errNoCopy = errors.New("no copy of the file could be read")

// errBody: reading the request body failed (the client went away or sent
// less than it announced).
type errBody struct{ err error }

func (e *errBody) Error() string { return "reading the request body: " + e.err.Error() }
func (e *errBody) Unwrap() error { return e.err }

// httpStatus is the one table from errors to HTTP statuses, with the
// reason given to the client (tracker codes are safe to show; transport
// details, which name internal hosts, are not).
func httpStatus(err error) (int, string) {
	var be *errBody
	var fe *client.FetchError
	var pe *client.PathError
	var te *client.TrackerError
	var we *wire.Error
	switch {
	case errors.As(err, &be):
		return http.StatusBadRequest, "request body incomplete"
	case errors.Is(err, client.ErrUnregDomain), errors.Is(err, client.ErrNoDomain):
		return http.StatusNotFound, "unknown domain"
	case client.IsUnknownKey(err):
		return http.StatusNotFound, "unknown key"
	case errors.Is(err, client.ErrNoKey):
		return http.StatusBadRequest, "no key"
	case errors.Is(err, client.ErrUnregClass), errors.Is(err, client.ErrClassNotFound):
		return http.StatusBadRequest, "unknown class"
	case errors.Is(err, client.ErrNoDevices):
		return http.StatusServiceUnavailable, "no storage device can take the file"
	case errors.Is(err, errNoCopy), errors.Is(err, client.ErrNoPaths), errors.As(err, &fe):
		return http.StatusServiceUnavailable, "no copy of the file is reachable"
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout, "timed out"
	case errors.As(err, &te):
		return http.StatusServiceUnavailable, "no tracker is reachable"
	case errors.As(err, &we):
		// Any other tracker refusal (size_mismatch, checksum_mismatch,
		// key_exists…): the request was understood, the upstream said
		// no.
		return http.StatusBadGateway, "tracker: " + we.Code
	case errors.As(err, &pe):
		return http.StatusBadGateway, "storage node failed"
	}
	return http.StatusInternalServerError, ""
}

// fail answers err with its status and records it for the log line.
func (g *Gateway) fail(rec *request, err error) {
	rec.err = err
	status, reason := httpStatus(err)
	if status == http.StatusServiceUnavailable {
		rec.rp.set("Retry-After", "1")
	}
	textError(&rec.rp, status, reason)
}
