package telegramtest

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Fault is a way a Bot API call can go wrong on the network, where
// Server.FailNext cannot reach: below HTTP.
type Fault int

// Faults a Front injects.
const (
	// Hang holds the request without an answer until the client gives up
	// (its timeout) or the front closes; the API never sees the request.
	Hang Fault = iota + 1
	// Reset closes the connection without an answer before the request
	// reaches the API: nothing was sent.
	Reset
	// LoseAnswer passes the request to the API, then closes the connection
	// instead of answering: the API acted on it, the client never learns.
	LoseAnswer
)

func (f Fault) String() string {
	switch f {
	case Hang:
		return "hang"
	case Reset:
		return "reset"
	case LoseAnswer:
		return "lose-answer"
	}
	return "none"
}

// FrontCall is one request that went through a Front.
type FrontCall struct {
	Method string
	// Params are the request's parameters, as Server.Calls records them.
	Params map[string]string
	// Fault is the fault injected into the call, 0 for none.
	Fault Fault
	// Status is the API's answer, 0 when the API was not asked or did not
	// answer.
	Status int
	// Start is when the request arrived, End when the front finished with
	// it: answered it, closed the connection or gave up holding it.
	Start, End time.Time
}

// Front is a proxy in front of a Server that injects network faults into
// the next calls of a method, and records every call with its timing.
// Point the bot's API base at Front.URL instead of Server.URL.
type Front struct {
	// URL is the base URL to use as the Bot API server.
	URL string

	api       *Server
	srv       *httptest.Server
	closing   chan struct{}
	closeOnce sync.Once

	mu     sync.Mutex
	faults map[string][]Fault
	calls  []FrontCall
}

// NewFront starts a proxy in front of api. Close it when done (before
// api, since a held request keeps the front open until then).
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

// FailNext injects fault into the next call of method; several calls queue
// several faults.
func (f *Front) FailNext(method string, fault Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults[method] = append(f.faults[method], fault)
}

// Calls returns the calls of method that went through the front, in the
// order they finished; "" means all.
func (f *Front) Calls(method string) []FrontCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []FrontCall
	for _, c := range f.calls {
		if method == "" || c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

func (f *Front) serve(w http.ResponseWriter, r *http.Request) {
	call := FrontCall{Start: time.Now()}
	body, err := io.ReadAll(io.LimitReader(r.Body, 10<<20))
	if err != nil {
		http.Error(w, "cannot read request", http.StatusBadRequest)
		return
	}
	if rest, ok := strings.CutPrefix(r.URL.Path, "/bot"); ok {
		_, call.Method, _ = strings.Cut(rest, "/")
	}
	parse := r.Clone(r.Context())
	parse.Body = io.NopCloser(bytes.NewReader(body))
	call.Params, _ = readParams(parse)

	f.mu.Lock()
	if q := f.faults[call.Method]; len(q) > 0 {
		call.Fault, f.faults[call.Method] = q[0], q[1:]
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
