package api

import (
	"errors"
	"fmt"
	"net/http"
)

// Error codes, the "code" of an error response. They are part of the
// contract: clients branch on them, and gRPC maps them onto its status codes.
const (
	CodeInvalidArgument = "invalid_argument" // 400: a parameter is missing or malformed
	CodeMalformedBody   = "malformed_body"   // 400: the request body does not parse
	CodeUnauthenticated = "unauthenticated"  // 401: missing or wrong bearer token
	CodeNotFound        = "not_found"        // 404: the pool (or route) does not exist
	CodeMethodNotAllow  = "method_not_allowed"
	CodeTooLarge        = "payload_too_large" // 413
	CodeUnprocessable   = "unprocessable"     // 422: valid request the data cannot answer
	CodeUnavailable     = "unavailable"       // 503: not ready (store closed, still loading)
	CodeInternal        = "internal"          // 500
)

// Error is what the service layer returns for anything a caller did or can
// act on. Param names the offending parameter, when there is one.
type Error struct {
	Code    string
	Message string
	Param   string
	Err     error // the cause, if any
}

func (e *Error) Error() string { return e.Message }

func (e *Error) Unwrap() error { return e.Err }

// Status is the HTTP status of the error's code.
func (e *Error) Status() int {
	switch e.Code {
	case CodeInvalidArgument, CodeMalformedBody:
		return http.StatusBadRequest
	case CodeUnauthenticated:
		return http.StatusUnauthorized
	case CodeNotFound:
		return http.StatusNotFound
	case CodeMethodNotAllow:
		return http.StatusMethodNotAllowed
	case CodeTooLarge:
		return http.StatusRequestEntityTooLarge
	case CodeUnprocessable:
		return http.StatusUnprocessableEntity
	case CodeUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// invalid reports a bad or missing parameter, naming it first in the
// message so a caller sees at once what to fix.
func invalid(param, format string, args ...any) *Error {
	return &Error{Code: CodeInvalidArgument, Param: param, Message: param + ": " + fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) *Error {
	return &Error{Code: CodeNotFound, Message: fmt.Sprintf(format, args...)}
}

func unprocessable(err error, format string, args ...any) *Error {
	return &Error{Code: CodeUnprocessable, Message: fmt.Sprintf(format, args...), Err: err}
}

// asError turns any error into an *Error: errors already classified keep
// their code, everything else is internal.
func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: CodeInternal, Message: "internal error", Err: err}
}
