package linetest

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"
)

// Fault is a way a Messaging API request can go wrong on the network,
// where Server.Fail (an HTTP answer) cannot reach.
type Fault int

// Faults a Front injects.
const (
	// Hang holds the request without an answer until the client gives up
	// (its timeout) or the front closes; LINE never sees the request.
	Hang Fault = iota + 1
	// Reset closes the connection without an answer before the request
	// reaches LINE: nothing was sent.
	Reset
	// LoseAnswer passes the request to LINE, then closes the connection
	// instead of answering: LINE acted on it, the client never learns.
	LoseAnswer
)

// FrontCall is one request that went through a Front.
type FrontCall struct {
	Path string
	// RetryKey is the request's X-Line-Retry-Key header.
	RetryKey string
	// Fault is the fault injected into the request, 0 for none.
	Fault Fault
	// Status is LINE's answer, 0 when LINE was not asked or did not answer.
	Status int
	// Start is when the request arrived, End when the front finished with
	// it.
	Start, End time.Time
}

// Front is a proxy in front of a Server that injects network faults into
// the next requests to a path (PathReply, PathPush …) and records every
// request. Point the channel's API base at Front.URL instead of Server.URL.
type Front struct {
	// URL is the base URL to use as the Messaging API.
	URL string

	api       *Server
	srv       *httptest.Server
	closing   chan struct{}
	closeOnce sync.Once

	mu     sync.Mutex
	faults map[string][]Fault
	calls  []FrontCall
}

// NewFront starts a proxy in front of api. Close it when done.
func NewFront(api *Server) *Front {
	f := &Front{api: api, closing: make(chan struct{}), faults: make(map[string][]Fault)}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	f.URL = f.srv.URL
	return f
}

// Close releases held requests and stops the proxy.
func (f *Front) Close() {
	f.closeOnce.Do(func() {
		close(f.closing)
		f.srv.CloseClientConnections()
		f.srv.Close()
	})
}

// FailNext injects fault into the next request to path; several calls
// queue several faults.
func (f *Front) FailNext(path string, fault Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults[path] = append(f.faults[path], fault)
}

// Calls returns the requests to path ("" for all) that went through the
// front, in the order they finished.
func (f *Front) Calls(path string) []FrontCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []FrontCall
	for _, c := range f.calls {
		if path == "" || c.Path == path {
			out = append(out, c)
		}
	}
	return out
}

func (f *Front) serve(w http.ResponseWriter, r *http.Request) {
	call := FrontCall{Path: r.URL.Path, RetryKey: r.Header.Get("X-Line-Retry-Key"), Start: time.Now()}
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		http.Error(w, "cannot read request", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	if q := f.faults[call.Path]; len(q) > 0 {
		call.Fault, f.faults[call.Path] = q[0], q[1:]
	}
	f.mu.Unlock()
	defer func() {
		call.End = time.Now()
		f.mu.Lock()
		f.calls = append(f.calls, call)
		f.mu.Unlock()
	}()

	switch call.Fault {
	case Hang:
		select {
		case <-r.Context().Done():
		case <-f.closing:
		}
		return
	case Reset:
		hangUp(w)
		return
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, f.api.URL+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		hangUp(w)
		return
	}
	req.Header = r.Header.Clone()
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		hangUp(w)
		return
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	if err != nil {
		hangUp(w)
		return
	}
	call.Status = resp.StatusCode
	if call.Fault == LoseAnswer {
		hangUp(w)
		return
	}
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(answer)
}

// hangUp closes the client's connection without an answer.
func hangUp(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	// Not hijackable (HTTP/2): abort the handler, which resets the stream.
	panic(http.ErrAbortHandler)
}
