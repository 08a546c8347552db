package s3

import (
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"

	"github.com/mogilefs-go/mogilefs/client"
	"github.com/mogilefs-go/mogilefs/gateway/sigv4"
)

// apiError is an S3 error answer.
type apiError struct {
	Code    string
	Message string
	Status  int
	// extra elements of the XML (StringToSign for SignatureDoesNotMatch)
	StringToSign string
	err          error // the cause, for the log
}

func (e *apiError) Error() string {
	if e.err != nil {
		return e.Code + ": " + e.Message + ": " + e.err.Error()
	}
	return e.Code + ": " + e.Message
}

func (e *apiError) Unwrap() error { return e.err }

func s3err(status int, code, msg string) *apiError {
	return &apiError{Code: code, Message: msg, Status: status}
}

var (
	errNoSuchBucket    = s3err(http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist")
	errNoSuchKey       = s3err(http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
	errAccessDenied    = s3err(http.StatusForbidden, "AccessDenied", "Access Denied")
	errBucketNotEmpty  = s3err(http.StatusConflict, "BucketNotEmpty", "The bucket you tried to delete is not empty")
	errBucketOwned     = s3err(http.StatusConflict, "BucketAlreadyOwnedByYou", "Your previous request to create the named bucket succeeded and you already own it.")
	errInvalidRange    = s3err(http.StatusRequestedRangeNotSatisfiable, "InvalidRange", "The requested range is not satisfiable")
	errPrecondition    = s3err(http.StatusPreconditionFailed, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold")
	errKeyTooLong      = s3err(http.StatusBadRequest, "KeyTooLongError", "Your key is too long")
	errMalformedXML    = s3err(http.StatusBadRequest, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
	errBadDigest       = s3err(http.StatusBadRequest, "BadDigest", "The Content-MD5 you specified did not match what we received.")
	errInvalidDigest   = s3err(http.StatusBadRequest, "InvalidDigest", "The Content-MD5 you specified is not valid.")
	errInvalidBucket   = s3err(http.StatusBadRequest, "InvalidBucketName", "The specified bucket is not valid.")
	errMissingLength   = s3err(http.StatusLengthRequired, "MissingContentLength", "You must provide the Content-Length HTTP header.")
	errTooLarge        = s3err(http.StatusBadRequest, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed object size.")
	errMethodNotAllow  = s3err(http.StatusMethodNotAllowed, "MethodNotAllowed", "The specified method is not allowed against this resource.")
	errNotImplementedS = "A header or query you provided implies functionality that is not implemented"
)

func notImplemented(what string) *apiError {
	return s3err(http.StatusNotImplemented, "NotImplemented", errNotImplementedS+": "+what)
}

func invalidArgument(msg string) *apiError {
	return s3err(http.StatusBadRequest, "InvalidArgument", msg)
}

// internal wraps a failure of the cluster.
func internal(err error) *apiError {
	e := s3err(http.StatusInternalServerError, "InternalError", "We encountered an internal error. Please try again.")
	var se *client.StoreError
	if errors.As(err, &se) && se.Op == client.OpPut || errors.Is(err, client.ErrNoTracker) || errors.Is(err, client.ErrTimeout) {
		e = s3err(http.StatusServiceUnavailable, "ServiceUnavailable", "Please reduce your request rate.")
	}
	e.err = err
	return e
}

// toAPIError turns any error into the S3 error to answer.
func toAPIError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	var se *sigv4.Error
	if errors.As(err, &se) {
		return &apiError{Code: se.Code, Message: se.Message, Status: se.Status, StringToSign: se.StringToSign, err: err}
	}
	if client.IsUnknownDomain(err) {
		return withCause(errNoSuchBucket, err)
	}
	if client.IsUnknownKey(err) {
		return withCause(errNoSuchKey, err)
	}
	return internal(err)
}

func withCause(e *apiError, err error) *apiError {
	c := *e
	c.err = err
	return &c
}

// errorXML is S3's error document.
type errorXML struct {
	XMLName      xml.Name `xml:"Error"`
	Code         string
	Message      string
	Resource     string `xml:",omitempty"`
	RequestID    string `xml:"RequestId"`
	StringToSign string `xml:",omitempty"`
	BucketName   string `xml:",omitempty"`
	Key          string `xml:",omitempty"`
}

func (e *apiError) String() string { return fmt.Sprintf("%d %s", e.Status, e.Code) }
