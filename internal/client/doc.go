// Package client is a typed HTTP client for the packhouse API described in
// docs/api.md. It knows the wire format and the retry rules; it holds no
// push logic (that is internal/push) and prints nothing.
package client
