package engine

import (
	"errors"
	"fmt"

	"github.com/spotcast/spotcast/recommend"
	"github.com/spotcast/spotcast/storage"
)

// Error codes. They are part of the contract: the HTTP API returns them as
// the "code" of an error response, gRPC maps them onto its status codes,
// and clients branch on them.
const (
	CodeInvalidArgument = "invalid_argument" // a parameter is missing or malformed
	CodeMalformedBody   = "malformed_body"   // the request body does not parse
	CodeUnauthenticated = "unauthenticated"  // missing or wrong bearer token
	CodeNotFound        = "not_found"        // the pool (or route) does not exist
	CodeMethodNotAllow  = "method_not_allowed"
	CodeTooLarge        = "payload_too_large"
	CodeUnprocessable   = "unprocessable" // a valid request the data cannot answer
	CodeUnavailable     = "unavailable"   // not ready, timed out
	CodeInternal        = "internal"
	// CodeForbidden: a request refused for where it comes from (a
	// foreign Host, a cross-site Origin) or a route behind the token.
	CodeForbidden = "forbidden"
	// CodeUnsupportedMedia: a body whose Content-Type the route does not
	// take.
	CodeUnsupportedMedia = "unsupported_media_type"
	// CodeOverloaded: the server is at its cap of expensive requests;
	// retry after the time the response says.
	CodeOverloaded = "overloaded"
)

// Error is what the engine returns for anything a caller did or can act
// on. Param names the offending parameter, when there is one.
type Error struct {
	Code    string
	Message string
	Param   string
	Err     error // the cause, if any
}

func (e *Error) Error() string { return e.Message }

func (e *Error) Unwrap() error { return e.Err }

// Invalid reports a bad or missing parameter, naming it first in the
// message so a caller sees at once what to fix.
func Invalid(param, format string, args ...any) *Error {
	return &Error{Code: CodeInvalidArgument, Param: param, Message: param + ": " + fmt.Sprintf(format, args...)}
}

// NotFound reports a pool (or other thing) that does not exist.
func NotFound(format string, args ...any) *Error {
	return &Error{Code: CodeNotFound, Message: fmt.Sprintf(format, args...)}
}

// Unprocessable reports a valid request the data cannot answer.
func Unprocessable(err error, format string, args ...any) *Error {
	return &Error{Code: CodeUnprocessable, Message: fmt.Sprintf(format, args...), Err: err}
}

// AsError turns any error into an *Error: errors already classified keep
// their code, everything else is internal.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: CodeInternal, Message: "internal error", Err: err}
}

// isNotFound reports a storage miss, to turn into a not_found error.
func isNotFound(err error) bool { return errors.Is(err, storage.ErrNotFound) }

// errorf adds context to an unclassified error; classified ones pass as is.
func errorf(err error, format string, args ...any) error {
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}

// recommendError classifies the errors of the recommend and launch
// packages (launch reports bad input as a *recommend.ParamError).
func recommendError(err error) error {
	var nf *recommend.NoFitError
	var pe *recommend.ParamError
	var de *recommend.DeadlineError
	switch {
	case errors.As(err, &nf):
		return Unprocessable(err, "%v", err)
	case errors.As(err, &de):
		return &Error{Code: CodeInvalidArgument, Param: "deadline", Message: err.Error(), Err: err}
	case errors.As(err, &pe):
		code := CodeInvalidArgument
		if errors.Is(err, recommend.ErrNoFit) {
			code = CodeUnprocessable // valid, but nothing stored fits
		}
		return &Error{Code: code, Param: pe.Param, Message: err.Error(), Err: err}
	case errors.Is(err, recommend.ErrInvalidInput):
		return &Error{Code: CodeInvalidArgument, Message: err.Error(), Err: err}
	case errors.Is(err, recommend.ErrUnanswerable), errors.Is(err, recommend.ErrNoProgress), errors.Is(err, recommend.ErrNoFit):
		return Unprocessable(err, "%v", err)
	}
	return err
}
