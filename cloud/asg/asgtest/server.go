package asgtest

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/kscale/kscale/internal/emulator"
)

// API versions, which tell the two services apart on one endpoint.
const (
	AutoScalingVersion = "2011-01-01"
	EC2Version         = "2016-11-15"

	autoScalingNS = "http://autoscaling.amazonaws.com/doc/2011-01-01/"
	ec2NS         = "http://ec2.amazonaws.com/doc/2016-11-15/"
)

// Config sets up a Server; the zero value is usable.
type Config struct {
	// Start is the virtual clock's first instant (2026-01-01 UTC if zero).
	Start time.Time
	// Region names the emulated region ("us-test-1" if empty).
	Region string
	// LaunchDelay is how long an instance stays Pending (2 minutes if zero).
	LaunchDelay time.Duration
	// TerminateDelay is how long an instance stays Terminating (1 minute if zero).
	TerminateDelay time.Duration
	// NoDefaultTypes leaves out the built-in instance types (DefaultInstanceTypes).
	NoDefaultTypes bool
}

// Server is the emulator. Create it with NewServer and Close it when done.
type Server struct {
	// URL is the base URL, http://127.0.0.1:port, for the clients' BaseEndpoint.
	URL string

	hs  *httptest.Server
	cfg Config

	mu        sync.Mutex
	now       time.Time
	groups    map[string]*group
	types     map[string]InstanceType
	lts       []*launchTemplate
	lcs       map[string]LaunchConfiguration
	stockOuts map[[2]string]bool
	faults    []*fault
	latency   time.Duration
	calls     emulator.Calls
	policy    *policy
	hostile   Hostile
	seq       int // request and activity IDs
	instSeq   int // instance IDs, independent of how many calls were made
}

// NewServer starts an emulator on a loopback port.
func NewServer(cfg Config) *Server {
	s := NewUnstartedServer(cfg)
	s.Start()
	return s
}

// NewUnstartedServer builds an emulator without listening; call Start.
func NewUnstartedServer(cfg Config) *Server {
	if cfg.Start.IsZero() {
		cfg.Start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if cfg.Region == "" {
		cfg.Region = "us-test-1"
	}
	if cfg.LaunchDelay <= 0 {
		cfg.LaunchDelay = 2 * time.Minute
	}
	if cfg.TerminateDelay <= 0 {
		cfg.TerminateDelay = time.Minute
	}
	s := &Server{cfg: cfg, now: cfg.Start, groups: map[string]*group{}, types: map[string]InstanceType{},
		lcs: map[string]LaunchConfiguration{}, stockOuts: map[[2]string]bool{}}
	if !cfg.NoDefaultTypes {
		for _, t := range DefaultInstanceTypes() {
			s.types[t.Name] = t
		}
	}
	s.hs = httptest.NewUnstartedServer(s)
	return s
}

// Start listens; URL is set afterwards.
func (s *Server) Start() {
	s.hs.Start()
	s.URL = s.hs.URL
}

// Close shuts the server down.
func (s *Server) Close() { s.hs.Close() }

// Region is the emulated region.
func (s *Server) Region() string { return s.cfg.Region }

// AWSConfig is an aws.Config pointed at the server: static credentials, the
// emulated region, and a standard retryer with at most 5 attempts, a 1 ms
// backoff cap and no client-side retry quota, so fault tests run fast.
func (s *Server) AWSConfig() aws.Config {
	return aws.Config{
		Region:       s.cfg.Region,
		BaseEndpoint: aws.String(s.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		HTTPClient:   &http.Client{Transport: bufferedBodies{s.hs.Client().Transport}},
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 5
				o.MaxBackoff = time.Millisecond
				o.RateLimiter = ratelimit.None
			})
		},
	}
}

// Now is the virtual time.
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now
}

// Advance moves the virtual clock: pending instances whose launch delay has
// passed go InService, terminating ones past their delay disappear, and
// groups short of their desired capacity try to launch again.
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = s.now.Add(d)
	s.reconcileAll()
}

// Settle advances the clock far enough for every launch and termination
// started so far to finish (or fail).
func (s *Server) Settle() { s.Advance(max(s.cfg.LaunchDelay, s.cfg.TerminateDelay) + time.Second) }

// Calls is how many requests each action received (faulted ones included).
func (s *Server) Calls() map[string]int {
	return s.calls.Snapshot()
}

// TotalCalls is the number of requests received.
func (s *Server) TotalCalls() int {
	return s.calls.Total()
}

// ResetCalls zeroes the call counters.
func (s *Server) ResetCalls() {
	s.calls.Reset()
}

// request is one decoded Query request.
type request struct {
	action, version string
	form            url.Values
}

func (r request) get(k string) string { return r.form.Get(k) }

// list reads a Query list: prefix.1, prefix.2, … (EC2) or prefix.member.1, …
// (Auto Scaling); pass the full prefix ("AutoScalingGroupNames.member").
func (r request) list(prefix string) []string {
	var out []string
	for i := 1; ; i++ {
		v, ok := r.form[prefix+"."+strconv.Itoa(i)]
		if !ok {
			return out
		}
		out = append(out, v[0])
	}
}

func (r request) intParam(k string, def int) (int, error) {
	v := r.form.Get(k)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		code := "ValidationError"
		if r.version == EC2Version {
			code = "InvalidParameterValue"
		}
		return 0, &apiError{status: 400, code: code, msg: fmt.Sprintf("Value '%s' at '%s' failed to satisfy constraint: Member must be an integer", v, k)}
	}
	return n, nil
}

// apiError is an error answer.
type apiError struct {
	status int
	code   string
	msg    string
}

func (e *apiError) Error() string { return e.code + ": " + e.msg }

func validation(format string, args ...any) *apiError {
	return &apiError{status: 400, code: "ValidationError", msg: fmt.Sprintf(format, args...)}
}

// ServeHTTP answers one Query request; the Server is its own handler, so
// non-Go clients (the AWS CLI with --endpoint-url) can be pointed at it too.
func (s *Server) ServeHTTP(w http.ResponseWriter, hr *http.Request) {
	if hr.Method != http.MethodPost {
		writeASGError(w, &apiError{status: 400, code: "InvalidAction", msg: "only POST is supported"}, "")
		return
	}
	if err := hr.ParseForm(); err != nil {
		writeASGError(w, &apiError{status: 400, code: "MalformedQueryString", msg: err.Error()}, "")
		return
	}
	s.mu.Lock()
	s.seq++
	rid := fmt.Sprintf("00000000-0000-4000-8000-%012d", s.seq)
	latency := s.latency
	hostile := s.hostile
	s.mu.Unlock()
	if hostile.Request != nil {
		hostile.Request(hr.PostForm.Get("Action"), hr.PostForm)
	}
	r := request{action: hr.PostForm.Get("Action"), version: hr.PostForm.Get("Version"), form: hr.PostForm}
	if latency > 0 {
		select {
		case <-time.After(latency):
		case <-hr.Context().Done():
			return
		}
	}
	if hostile.Answer != nil {
		rec := &recorder{header: http.Header{}, status: http.StatusOK}
		s.answer(rec, r, rid)
		a := &Answer{Service: "autoscaling", Action: r.action, Status: rec.status, Body: rec.body.Bytes()}
		if r.version == EC2Version {
			a.Service = "ec2"
		}
		hostile.Answer(a)
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.WriteHeader(a.Status)
		_, _ = w.Write(a.Body)
		return
	}
	s.answer(w, r, rid)
}

// answer runs one decoded request and writes its answer.
func (s *Server) answer(w http.ResponseWriter, r request, rid string) {
	switch r.version {
	case AutoScalingVersion:
		body, err := s.serve(r, "autoscaling", s.autoScalingHandlers(), r.action+"Result")
		if err != nil {
			writeASGError(w, err, rid)
			return
		}
		writeASG(w, r.action, body, rid)
	case EC2Version:
		body, err := s.serve(r, "ec2", s.ec2Handlers(), "")
		if err != nil {
			writeEC2Error(w, err, rid)
			return
		}
		writeEC2(w, r.action, body, rid)
	default:
		writeASGError(w, &apiError{status: 400, code: "InvalidAction", msg: fmt.Sprintf("unknown API version %q", r.version)}, rid)
	}
}

// handler runs an action; a nil result (and no error) is a void action,
// answered without a result element as AWS does.
type handler func(r request) (any, error)

// serve counts the call, applies the policy and the faults, runs the action
// and encodes its result as an element named wrapper, or as bare content
// when wrapper is empty (EC2 results sit right under the Response element).
func (s *Server) serve(r request, service string, handlers map[string]handler, wrapper string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls.Add(r.action)
	h, ok := handlers[r.action]
	if !ok {
		return nil, &apiError{status: 400, code: "InvalidAction", msg: fmt.Sprintf("The action %s is not valid for this web service.", r.action)}
	}
	if s.policy != nil && !s.policy.allows(service+":"+r.action) {
		if service == "ec2" {
			return nil, &apiError{status: 403, code: "UnauthorizedOperation", msg: "You are not authorized to perform this operation. User: arn:aws:iam::123456789012:user/asgtest is not authorized to perform: ec2:" + r.action}
		}
		return nil, &apiError{status: 403, code: "AccessDenied", msg: "User: arn:aws:iam::123456789012:user/asgtest is not authorized to perform: autoscaling:" + r.action}
	}
	f := s.takeFault(r.action)
	if f != nil && f.kind != FaultLostResponse {
		return nil, f.err(service)
	}
	out, err := h(r)
	if err != nil {
		return nil, err
	}
	if f != nil {
		return nil, f.err(service) // applied, but the answer is lost
	}
	if out == nil {
		return nil, nil // a void action: the response carries metadata only
	}
	name := wrapper
	if name == "" {
		name = "x"
	}
	var buf bytes.Buffer
	enc := xml.NewEncoder(&buf)
	if err := enc.EncodeElement(out, xml.StartElement{Name: xml.Name{Local: name}}); err != nil {
		return nil, &apiError{status: 500, code: "InternalFailure", msg: err.Error()}
	}
	b := buf.Bytes()
	if wrapper == "" {
		b = bytes.TrimSuffix(bytes.TrimPrefix(b, []byte("<x>")), []byte("</x>"))
		if bytes.Equal(b, []byte("<x/>")) {
			b = nil
		}
	}
	return b, nil
}

func writeASG(w http.ResponseWriter, action string, inner []byte, rid string) {
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-Requestid", rid)
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n<" + action + `Response xmlns="` + autoScalingNS + `">`)
	b.Write(inner)
	b.WriteString("<ResponseMetadata><RequestId>" + rid + "</RequestId></ResponseMetadata></" + action + "Response>")
	_, _ = w.Write(b.Bytes())
}

func writeEC2(w http.ResponseWriter, action string, inner []byte, rid string) {
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.Header().Set("X-Amzn-Requestid", rid)
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n<" + action + `Response xmlns="` + ec2NS + `"><requestId>` + rid + "</requestId>")
	b.Write(inner)
	b.WriteString("</" + action + "Response>")
	_, _ = w.Write(b.Bytes())
}

func asAPIError(err error) *apiError {
	if e, ok := err.(*apiError); ok {
		return e
	}
	return &apiError{status: 500, code: "InternalFailure", msg: err.Error()}
}

func escape(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

func writeASGError(w http.ResponseWriter, err error, rid string) {
	e := asAPIError(err)
	typ := "Sender"
	if e.status >= 500 {
		typ = "Receiver"
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-Requestid", rid)
	w.WriteHeader(e.status)
	_, _ = fmt.Fprintf(w, `<ErrorResponse xmlns="%s"><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`,
		autoScalingNS, typ, escape(e.code), escape(e.msg), rid)
}

func writeEC2Error(w http.ResponseWriter, err error, rid string) {
	e := *asAPIError(err)
	if e.code == "InternalFailure" { // Auto Scaling's name for it
		e.code = "InternalError"
	}
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.Header().Set("X-Amzn-Requestid", rid)
	w.WriteHeader(e.status)
	_, _ = fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<Response><Errors><Error><Code>%s</Code><Message>%s</Message></Error></Errors><RequestID>%s</RequestID></Response>`,
		escape(e.code), escape(e.msg), rid)
}

// page slices n items by an opaque NextToken and a page size.
func page(n int, token string, size int) (from, to int, next string, err error) {
	if token != "" {
		from, err = strconv.Atoi(token)
		if err != nil || from < 0 || from > n {
			return 0, 0, "", &apiError{status: 400, code: "InvalidNextToken", msg: "The token '" + token + "' is invalid."}
		}
	}
	to = min(from+size, n)
	if to < n {
		next = strconv.Itoa(to)
	}
	return from, to, next, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// bufferedBodies hands net/http a private copy of each request body. The
// SDK closes the body it built as soon as the response headers arrive,
// while net/http may still read it once more to check for extra bytes; the
// failed read then closes the connection under the response being read
// ("use of closed network connection") and the SDK retries, so a test
// would count one call twice. Reading the body up front removes the race.
type bufferedBodies struct{ base http.RoundTripper }

func (b bufferedBodies) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		data, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return nil, err
		}
		r = r.Clone(r.Context())
		r.Body = io.NopCloser(bytes.NewReader(data))
		r.ContentLength = int64(len(data))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
	}
	return b.base.RoundTrip(r)
}
