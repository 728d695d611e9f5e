package recommend

import "errors"

// ParamError is bad input in one named parameter ("deadline", "nodes",
// "cloud", ...), so that every transport can say which parameter to fix.
// It wraps Err, or ErrInvalidInput when Err is nil.
type ParamError struct {
	Param string
	Msg   string
	Err   error
}

func (e *ParamError) Error() string { return e.Param + ": " + e.Msg }

func (e *ParamError) Unwrap() []error {
	if e.Err == nil || errors.Is(e.Err, ErrInvalidInput) {
		return []error{ErrInvalidInput}
	}
	return []error{e.Err, ErrInvalidInput}
}

func paramErr(param, msg string) error { return &ParamError{Param: param, Msg: msg} }
