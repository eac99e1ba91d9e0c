package main

import "net/http"

// newServer routes the service's endpoints: add yours next to /status.
func newServer() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/status", statusHandler)
	return mux
}
