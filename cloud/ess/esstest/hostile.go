package esstest

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
)

// Middleware wraps the emulated API to make it misbehave: it sees every
// request after authentication (so it may change r.Form freely without
// breaking the signature) and may rewrite, replace or drop the response.
// Action(r) names the call. The helpers below build the common hostile
// behaviours; write your own for anything else.
type Middleware func(next http.Handler) http.Handler

// Use adds middleware; the first added is the outermost. Faults, latency
// and RAM enforcement still apply inside it.
// Each middleware is called once here to wrap the API, so state it keeps
// across requests belongs in its closure.
func (s *Server) Use(m ...Middleware) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.middleware = append(s.middleware, m...)
	var h http.Handler = http.HandlerFunc(s.serveAction)
	for i := len(s.middleware) - 1; i >= 0; i-- {
		h = s.middleware[i](h)
	}
	s.chain = h
}

// ClearMiddleware removes every middleware added with Use.
func (s *Server) ClearMiddleware() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.middleware, s.chain = nil, nil
}

// only applies m to requests for action ("" for every action).
func only(action string, m func(w http.ResponseWriter, r *http.Request, next http.Handler)) Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if action != "" && Action(r) != action {
				next.ServeHTTP(w, r)
				return
			}
			m(w, r, next)
		})
	}
}

// RewriteJSON lets edit change the JSON object of every successful (2xx)
// response to action ("" for every action) before it is sent. Numbers
// arrive as json.Number; set any JSON value, e.g. body["TotalCount"] = -1.
func RewriteJSON(action string, edit func(r *http.Request, body map[string]any)) Middleware {
	return only(action, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		out := rec.Body.Bytes()
		if rec.Code/100 == 2 {
			var body map[string]any
			dec := json.NewDecoder(bytes.NewReader(out))
			dec.UseNumber()
			if dec.Decode(&body) == nil && body != nil {
				edit(r, body)
				out, _ = json.Marshal(body)
			}
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		w.WriteHeader(rec.Code)
		_, _ = w.Write(out)
	})
}

// IgnorePageNumber serves the first page whatever PageNumber a request for
// action asks for, while echoing the requested PageNumber in the response:
// a listing longer than one page then returns the same full page forever,
// as a broken server can.
func IgnorePageNumber(action string) Middleware {
	rewrite := RewriteJSON(action, func(r *http.Request, body map[string]any) {
		if asked, ok := r.Context().Value(askedPage{}).(string); ok && asked != "" {
			if n, err := strconv.Atoi(asked); err == nil {
				body["PageNumber"] = n
			}
		}
	})
	return func(next http.Handler) http.Handler {
		inner := rewrite(next)
		return only(action, func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
			r = r.WithContext(context.WithValue(r.Context(), askedPage{}, r.Form.Get("PageNumber")))
			r.Form.Set("PageNumber", "1")
			inner.ServeHTTP(w, r)
		})(next)
	}
}

// askedPage carries the PageNumber a request asked for past
// IgnorePageNumber.
type askedPage struct{}

// EmptyBody answers requests for action with HTTP 200 and no body.
func EmptyBody(action string) Middleware {
	return only(action, func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
		w.Header().Set("Content-Type", "application/json;charset=utf-8")
		w.WriteHeader(http.StatusOK)
	})
}

// ErrorIn200 answers requests for action with HTTP 200 and a JSON body
// carrying an error Code and Message, as some gateways do.
func ErrorIn200(action, code, message string) Middleware {
	return only(action, func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
		w.Header().Set("Content-Type", "application/json;charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_ = json.NewEncoder(w).Encode(map[string]string{"RequestId": requestID(formParams(r)), "Code": code, "Message": message})
	})
}
