package api

import (
	"net/http"

	"github.com/spotcast/spotcast/engine"
)

// httpStatus is the HTTP status of an engine error code.
func httpStatus(code string) int {
	switch code {
	case engine.CodeInvalidArgument, engine.CodeMalformedBody:
		return http.StatusBadRequest
	case engine.CodeUnauthenticated:
		return http.StatusUnauthorized
	case engine.CodeNotFound:
		return http.StatusNotFound
	case engine.CodeMethodNotAllow:
		return http.StatusMethodNotAllowed
	case engine.CodeTooLarge:
		return http.StatusRequestEntityTooLarge
	case engine.CodeUnprocessable:
		return http.StatusUnprocessableEntity
	case engine.CodeUnavailable, engine.CodeOverloaded:
		return http.StatusServiceUnavailable
	case engine.CodeForbidden:
		return http.StatusForbidden
	case engine.CodeUnsupportedMedia:
		return http.StatusUnsupportedMediaType
	}
	return http.StatusInternalServerError
}
