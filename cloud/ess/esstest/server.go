// Package esstest is an in-process emulator of the Alibaba Cloud ESS (Auto
// Scaling) and ECS APIs for tests, in the way net/http/httptest is one of an
// HTTP server: NewServer listens on loopback, the real
// alibaba-cloud-sdk-go clients are pointed at its Host with static
// credentials, and the server keeps state (scaling groups, configurations,
// instances with a lifecycle on a virtual clock, scaling activities,
// scaling rules) that tests set up and inspect through methods.
//
// It speaks the RPC wire format: Action, Version, Format and the signature
// parameters in the query string or a POST form, JSON responses shaped like
// the SDK's response structs, and errors as HTTP 4xx/5xx with a JSON body
// {"RequestId","HostId","Code","Message"} carrying the real error codes
// (Throttling, Throttling.User, ServiceUnavailable, Forbidden.RAM,
// IncorrectCapacity.MaxSize, ...).
//
// With Config.AccessKeys set it authenticates as Alibaba Cloud's gateway
// does: the HMAC-SHA1 signature (SignatureDoesNotMatch), the Timestamp
// within 15 minutes of Config.Now (InvalidTimeStamp.Expired) and a
// SignatureNonce not seen in that window (SignatureNonceUsed), all HTTP
// 400. Nonces are forgotten when their Timestamp leaves the window.
//
// Faults: throttling, 5xx (optionally after the action took effect, a lost
// response), latency, stock-outs per instance type and zone, and enforcement
// of a RAM policy document. A per-action call counter shows how many calls a
// client made. A Server is safe for concurrent use.
//
// Hostile mode: Use adds Middleware that sees each authenticated request
// and may rewrite or replace its response, to test how a client copes with
// a broken or lying API. RewriteJSON edits response bodies (absurd sizes,
// wrong TotalCount), IgnorePageNumber serves the same full page forever,
// EmptyBody answers 200 with nothing, ErrorIn200 answers 200 with an error
// Code. Responses are checked against the SDK's response types
// (shape_test.go), so the SDK reads every field the emulator sends.
package esstest

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/kscale/kscale/internal/emulator"
)

// Config configures a Server; every field is optional.
type Config struct {
	// Region is the region the server emulates, default "cn-hangzhou".
	Region string
	// Start is the virtual clock's start, default 2026-01-01T00:00:00Z.
	Start time.Time
	// LaunchDelay is how long an instance stays Pending, default 0
	// (instances are InService at once).
	LaunchDelay time.Duration
	// RemoveDelay is how long an instance stays Removing, default 0 (it
	// disappears at the next Advance or Settle).
	RemoveDelay time.Duration
	// AccessKeys maps AccessKeyId to AccessKeySecret. When set, requests
	// must carry a valid HMAC-SHA1 signature from one of them
	// (InvalidAccessKeyId.NotFound, SignatureDoesNotMatch otherwise), a
	// Timestamp within SignatureWindow of Now (InvalidTimeStamp.Expired)
	// and a SignatureNonce not used in that window (SignatureNonceUsed);
	// when empty, none of this is checked.
	AccessKeys map[string]string
	// InstanceTypes are known from the start; default DefaultInstanceTypes.
	InstanceTypes []InstanceType
	// Now is the clock that signed requests' Timestamps are checked
	// against and that SignatureNonces expire on, default time.Now. It is
	// not the virtual clock of instance lifecycles (Start, Advance): the
	// SDK stamps its requests with the wall clock.
	Now func() time.Time
}

// SignatureWindow is how far a signed request's Timestamp may be from the
// server's clock, either way, and so how long a SignatureNonce is
// remembered (Alibaba Cloud's RPC gateway allows 15 minutes).
const SignatureWindow = 15 * time.Minute

// DefaultInstanceTypes are a few ECS types plus m5.large and m5.xlarge
// aliases (2 vCPU / 8 GiB and 4 vCPU / 16 GiB) so fixtures written for AWS
// names work unchanged.
var DefaultInstanceTypes = []InstanceType{
	{ID: "ecs.g7.large", CPU: 2, MemoryGiB: 8},
	{ID: "ecs.g7.xlarge", CPU: 4, MemoryGiB: 16},
	{ID: "ecs.g7.2xlarge", CPU: 8, MemoryGiB: 32},
	{ID: "ecs.c7.large", CPU: 2, MemoryGiB: 4},
	{ID: "ecs.g8y.large", CPU: 2, MemoryGiB: 8, Arch: "ARM"},
	{ID: "ecs.gn7i-c8g1.2xlarge", CPU: 8, MemoryGiB: 30, GPU: 1},
	{ID: "m5.large", CPU: 2, MemoryGiB: 8},
	{ID: "m5.xlarge", CPU: 4, MemoryGiB: 16},
}

// Server is the emulator.
type Server struct {
	// URL is http://127.0.0.1:port; Host is 127.0.0.1:port, what the SDK
	// client's Domain takes.
	URL, Host string

	ts  *httptest.Server
	cfg Config

	mu         sync.Mutex
	now        time.Time
	seq        int
	groups     map[string]*group
	order      []string
	instGroup  map[string]string
	types      map[string]InstanceType
	stockOut   map[[2]string]bool
	activities []*Activity
	rules      map[string]*rule // by id
	tokens     map[string][]byte
	calls      emulator.Calls
	faults     []*Fault
	latency    time.Duration
	policy     *Policy
	middleware []Middleware
	chain      http.Handler // the middleware around serveAction; nil without
	nonces     nonceSet
}

// NewServer starts a server; the caller must Close it.
func NewServer(cfg Config) *Server {
	s := NewUnstartedServer(cfg)
	s.Start()
	return s
}

// NewUnstartedServer builds a server without listening; call Start.
func NewUnstartedServer(cfg Config) *Server {
	if cfg.Region == "" {
		cfg.Region = "cn-hangzhou"
	}
	if cfg.Start.IsZero() {
		cfg.Start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if cfg.InstanceTypes == nil {
		cfg.InstanceTypes = DefaultInstanceTypes
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{cfg: cfg, now: cfg.Start, groups: map[string]*group{}, instGroup: map[string]string{},
		types: map[string]InstanceType{}, stockOut: map[[2]string]bool{}, rules: map[string]*rule{},
		tokens: map[string][]byte{}}
	for _, t := range cfg.InstanceTypes {
		if t.Arch == "" {
			t.Arch = "X86"
		}
		s.types[t.ID] = t
	}
	return s
}

// Start listens on a loopback port.
func (s *Server) Start() {
	s.ts = httptest.NewServer(s)
	s.URL = s.ts.URL
	s.Host = strings.TrimPrefix(s.ts.URL, "http://")
}

// Close shuts the server down.
func (s *Server) Close() {
	if s.ts != nil {
		s.ts.Close()
	}
}

// Region is the emulated region.
func (s *Server) Region() string { return s.cfg.Region }

// Calls is a copy of the per-action call counter ("ess:DescribeScalingGroups"
// → n), counting every request that named an action, failed or not.
func (s *Server) Calls() map[string]int {
	return s.calls.Snapshot()
}

// TotalCalls is the sum of Calls.
func (s *Server) TotalCalls() int {
	return s.calls.Total()
}

// ResetCalls zeroes the call counter.
func (s *Server) ResetCalls() {
	s.calls.Reset()
}

// apiError is an error response.
type apiError struct {
	status        int
	code, message string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func errf(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

// params are a request's parameters, query and form merged.
type params map[string]string

func (p params) list(name string) []string {
	var out []string
	for i := 1; ; i++ {
		v, ok := p[fmt.Sprintf("%s.%d", name, i)]
		if !ok {
			return out
		}
		out = append(out, v)
	}
}

// ServeHTTP handles one RPC request: it parses and authenticates it
// (signature, Timestamp, SignatureNonce), counts it, then passes it through
// the middleware added with Use to the emulated API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.writeErr(w, "", errf(400, "InvalidParameter", "malformed request: %v", err))
		return
	}
	p := formParams(r)
	reqID := requestID(p)
	action := Action(r)
	if action == "" {
		s.writeErr(w, reqID, errf(400, "MissingParameter", "Action and a supported Version (2014-08-28 ess, 2014-05-26 ecs) are required"))
		return
	}
	if f := p["Format"]; f != "" && !strings.EqualFold(f, "JSON") {
		s.writeErr(w, reqID, errf(400, "InvalidParameter.Format", "only Format=JSON is emulated"))
		return
	}

	s.mu.Lock()
	s.calls.Add(action)
	lat := s.latency
	h := s.chain
	s.mu.Unlock()
	if lat > 0 {
		time.Sleep(lat)
	}

	if err := s.authenticate(r.Method, p); err != nil {
		s.writeErr(w, reqID, err)
		return
	}
	if h == nil {
		s.serve(w, action, p)
		return
	}
	h.ServeHTTP(w, r)
}

// serveAction runs the authenticated request, as middleware left it,
// against the emulated API.
func (s *Server) serveAction(w http.ResponseWriter, r *http.Request) {
	s.serve(w, Action(r), formParams(r))
}

func (s *Server) serve(w http.ResponseWriter, action string, p params) {
	reqID := requestID(p)
	s.mu.Lock()
	body, err := s.handle(action, p)
	s.mu.Unlock()
	if err != nil {
		s.writeErr(w, reqID, err)
		return
	}
	body["RequestId"] = reqID
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	_ = json.NewEncoder(w).Encode(body)
}

// formParams are a parsed request's parameters, query and form merged.
func formParams(r *http.Request) params {
	p := params{}
	for k, v := range r.Form {
		if len(v) > 0 {
			p[k] = v[0]
		}
	}
	return p
}

func requestID(p params) string {
	return fmt.Sprintf("%08X-0000-4000-8000-%012d", time.Now().UnixNano()&0xffffffff, len(p))
}

// Action is the "<product>:<Action>" a request calls, e.g.
// "ess:DescribeScalingGroups", or "" when it names no action of a
// supported product version. It parses the request's form if needed.
func Action(r *http.Request) string {
	if r.Form == nil {
		_ = r.ParseForm()
	}
	product := map[string]string{"2014-08-28": "ess", "2014-05-26": "ecs"}[r.Form.Get("Version")]
	name := r.Form.Get("Action")
	if product == "" || name == "" {
		return ""
	}
	return product + ":" + name
}

// handle runs one action under s.mu: RAM check, injected faults, the
// ClientToken idempotency cache, then the action itself.
func (s *Server) handle(action string, p params) (map[string]any, *apiError) {
	if s.policy != nil && !s.policy.Allows(action) {
		return nil, errf(403, "Forbidden.RAM", "User not authorized to operate on the specified resource, or this API doesn't support RAM. (action %s)", action)
	}
	f := s.takeFault(action, p)
	if f != nil && !f.AfterApply {
		return nil, f.err()
	}
	var tokenKey string
	var body map[string]any
	if tok := p["ClientToken"]; tok != "" {
		tokenKey = action + "\x00" + tok
		if cached, ok := s.tokens[tokenKey]; ok {
			// A repeated token is answered with the first result.
			_ = json.Unmarshal(cached, &body)
		}
	}
	if body == nil {
		h := handlers[action]
		if h == nil {
			return nil, errf(400, "InvalidAction.NotFound", "Specified api %s is not found, please check your url and method.", action)
		}
		var err *apiError
		if body, err = h(s, p); err != nil {
			return nil, err
		}
		if tokenKey != "" {
			b, _ := json.Marshal(body)
			s.tokens[tokenKey] = b
		}
	}
	if f != nil { // applied, response lost
		return nil, f.err()
	}
	return body, nil
}

func (s *Server) writeErr(w http.ResponseWriter, reqID string, e *apiError) {
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(map[string]string{"RequestId": reqID, "HostId": s.Host, "Code": e.code, "Message": e.message,
		"Recommend": "https://api.aliyun.com/troubleshoot?q=" + e.code})
}

// authenticate verifies, when the server was given access keys, the RPC
// HMAC-SHA1 signature (signature version 1.0), then that the Timestamp is
// within SignatureWindow of the server's clock (InvalidTimeStamp.Expired)
// and that the SignatureNonce was not used in that window
// (SignatureNonceUsed), as Alibaba Cloud's gateway does. A nonce is
// remembered until its request's Timestamp leaves the window, so the
// memory is bounded by the requests of one window.
func (s *Server) authenticate(method string, p params) *apiError {
	if len(s.cfg.AccessKeys) == 0 {
		return nil
	}
	secret, ok := s.cfg.AccessKeys[p["AccessKeyId"]]
	if !ok {
		return errf(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
	}
	v := url.Values{}
	for k, val := range p {
		if k != "Signature" {
			v.Set(k, val)
		}
	}
	str := strings.NewReplacer("+", "%20", "*", "%2A", "%7E", "~").Replace(v.Encode())
	toSign := method + "&%2F&" + url.QueryEscape(str)
	mac := hmac.New(sha1.New, []byte(secret+"&"))
	mac.Write([]byte(toSign))
	if want := base64.StdEncoding.EncodeToString(mac.Sum(nil)); !hmac.Equal([]byte(want), []byte(p["Signature"])) {
		return errf(400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation.")
	}
	for _, name := range []string{"Timestamp", "SignatureNonce"} {
		if p[name] == "" {
			return errf(400, "MissingParameter", "The input parameter %q that is mandatory for processing this request is not supplied.", name)
		}
	}
	ts, err := time.Parse("2006-01-02T15:04:05Z", p["Timestamp"])
	if err != nil {
		return errf(400, "InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted.")
	}
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nonces.forget(now)
	if d := now.Sub(ts); d > SignatureWindow || d < -SignatureWindow {
		return errf(400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
	}
	if !s.nonces.add(p["AccessKeyId"]+"\x00"+p["SignatureNonce"], ts.Add(SignatureWindow)) {
		return errf(400, "SignatureNonceUsed", "Specified signature nonce was used already.")
	}
	return nil
}

// RememberedNonces is how many SignatureNonces the server holds, those
// whose request Timestamp is still inside SignatureWindow.
func (s *Server) RememberedNonces() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nonces.len()
}
