package apierr

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"syscall"
)

// Failure turns an error that ended a request without a response (an upstream that
// could not be reached, a body over a server limit, a handler's plain error) into the
// refusal the client gets. The message is chosen from the status and the kind of cause,
// never taken from cause itself: Go's and Caddy's error texts carry upstream addresses,
// resolver details and sometimes request values.
//
// Whether the SDKs should retry is said explicitly (x-should-retry), because their own
// rule (retry 408, 409, 429 and every 5xx) would also retry 501 and would not know that a
// 4xx here is final.
func Failure(status int, cause error) *Error {
	if status < 400 || status > 599 {
		status = http.StatusInternalServerError
	}
	e := &Error{Status: status}
	e.Code, e.Message = failureText(status, cause)
	switch status {
	case http.StatusRequestTimeout, http.StatusConflict, http.StatusTooManyRequests,
		http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		e.Retry = true
	default:
		e.NoRetry = true
	}
	return e
}

// Internal is the answer to a failure inside the gateway itself (a handler panicked): 500
// internal_error, retryable, with the request id the gateway logged it under, so that a
// caller can quote it to the administrator.
func Internal(requestID string) *Error {
	e := Failure(http.StatusInternalServerError, nil)
	e.Message = "The gateway failed to handle the request (request id " + requestID + "); retry later, and quote the request id to the gateway's administrator if it keeps failing."
	return e
}

func failureText(status int, cause error) (code, message string) {
	switch status {
	case http.StatusBadGateway:
		switch {
		case errors.Is(cause, syscall.ECONNREFUSED):
			return "upstream_connection_refused", "The upstream API refused the connection; retry later."
		case isTLSFailure(cause):
			return "upstream_tls_error", "The gateway could not establish a trusted TLS connection to the upstream API; retry later or tell the gateway's administrator."
		case isDNSFailure(cause):
			return "upstream_unresolvable", "The gateway could not resolve the upstream API's address; retry later or tell the gateway's administrator."
		}
		return "upstream_unavailable", "The upstream API could not be reached or sent an invalid response; retry later."
	case http.StatusGatewayTimeout:
		return "upstream_timeout", "The upstream API did not answer in time; retry later."
	case http.StatusServiceUnavailable:
		return "service_unavailable", "The service is temporarily unavailable (no upstream is available); retry later."
	case http.StatusRequestEntityTooLarge:
		return "request_too_large", "The request body is larger than the gateway accepts; send a shorter request."
	case http.StatusRequestURITooLong:
		return "uri_too_long", "The request URL is longer than the gateway accepts."
	case http.StatusRequestHeaderFieldsTooLarge:
		return "request_headers_too_large", "The request headers are larger than the gateway accepts."
	case http.StatusRequestTimeout:
		return "request_timeout", "The request was not received in time; retry."
	case http.StatusUnauthorized:
		return "unauthorized", "Authentication is required for this request."
	case http.StatusForbidden:
		return "forbidden", "This request is not allowed."
	case http.StatusNotFound:
		return "not_found", "The requested resource does not exist on this gateway."
	case http.StatusMethodNotAllowed:
		return "method_not_allowed", "This HTTP method is not allowed here."
	case http.StatusTooManyRequests:
		return "rate_limit_exceeded", "Too many requests; retry later."
	case 499:
		return "client_closed_request", "The client closed the request."
	}
	if status >= 500 {
		return "internal_error", "The gateway failed to handle the request; retry later."
	}
	return "invalid_request", "The gateway could not accept this request (" + http.StatusText(status) + ")."
}

func isTLSFailure(err error) bool {
	var (
		verify   *tls.CertificateVerificationError
		record   tls.RecordHeaderError
		alert    tls.AlertError
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
	)
	return errors.As(err, &verify) || errors.As(err, &record) || errors.As(err, &alert) ||
		errors.As(err, &unknown) || errors.As(err, &hostname) || errors.As(err, &invalid)
}

func isDNSFailure(err error) bool {
	var dns *net.DNSError
	return errors.As(err, &dns)
}
