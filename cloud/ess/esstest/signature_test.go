package esstest_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ess"

	"github.com/kscale/kscale/cloud/ess/esstest"
)

// recorder keeps the last request the SDK sent, to replay it verbatim.
type recorder struct {
	mu   sync.Mutex
	last *http.Request
	body []byte
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	r.mu.Lock()
	r.last, r.body = req.Clone(context.Background()), body
	r.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

func (r *recorder) replay(t *testing.T) (int, string) {
	t.Helper()
	r.mu.Lock()
	req := r.last.Clone(context.Background())
	req.Body = io.NopCloser(bytes.NewReader(r.body))
	r.mu.Unlock()
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// sdkClient is the real ESS client, signing with key id/secret.
func sdkClient(t *testing.T, s *esstest.Server, rt http.RoundTripper) *ess.Client {
	t.Helper()
	cfg := sdk.NewConfig()
	cfg.Scheme = "HTTP"
	cfg.AutoRetry = false
	cfg.Transport = rt
	c, err := ess.NewClientWithOptions(s.Region(), cfg, credentials.NewAccessKeyCredential("id", "secret"))
	if err != nil {
		t.Fatal(err)
	}
	c.Domain = s.Host
	return c
}

type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func describe(c *ess.Client, id string) error {
	req := ess.CreateDescribeScalingGroupsRequest()
	req.ScalingGroupId = &[]string{id}
	_, err := c.DescribeScalingGroups(req)
	return err
}

func serverError(t *testing.T, err error) (int, string, string) {
	t.Helper()
	var se *sdkerrors.ServerError
	if !errors.As(err, &se) {
		t.Fatalf("error %v is not a ServerError", err)
	}
	return se.HttpStatus(), se.ErrorCode(), se.Message()
}

// A replayed request (same SignatureNonce) is refused with
// SignatureNonceUsed while its Timestamp is valid and with
// InvalidTimeStamp.Expired after; a correctly signed request whose
// Timestamp is more than 15 minutes off, either way, is refused with
// InvalidTimeStamp.Expired.
func TestSignatureReplayAndExpiry(t *testing.T) {
	clock := &testClock{now: time.Now()}
	s := esstest.NewServer(esstest.Config{AccessKeys: map[string]string{"id": "secret"}, Now: clock.Now})
	t.Cleanup(s.Close)
	id := s.AddGroup(esstest.Group{MaxSize: 3, Configuration: esstest.Configuration{InstanceTypes: []string{"ecs.g7.large"}}})
	rec := &recorder{}
	c := sdkClient(t, s, rec)

	if err := describe(c, id); err != nil {
		t.Fatal(err)
	}
	status, body := rec.replay(t)
	if status != 400 || !bytes.Contains([]byte(body), []byte(`"Code":"SignatureNonceUsed"`)) ||
		!bytes.Contains([]byte(body), []byte("Specified signature nonce was used already.")) {
		t.Errorf("replay: %d %s", status, body)
	}
	if err := describe(c, id); err != nil { // a fresh nonce is fine
		t.Errorf("second call: %v", err)
	}

	clock.set(time.Now().Add(16 * time.Minute))
	if status, body := rec.replay(t); status != 400 || !bytes.Contains([]byte(body), []byte(`"Code":"InvalidTimeStamp.Expired"`)) {
		t.Errorf("replay after the window: %d %s", status, body)
	}
	for _, skew := range []time.Duration{24 * time.Hour, 16 * time.Minute, -16 * time.Minute, -24 * time.Hour} {
		clock.set(time.Now().Add(skew))
		status, code, msg := serverError(t, describe(c, id))
		if status != 400 || code != "InvalidTimeStamp.Expired" || msg != "Specified time stamp or date value is expired." {
			t.Errorf("request stamped %v from the server's clock: %d %s %q", -skew, status, code, msg)
		}
	}
	clock.set(time.Now().Add(14 * time.Minute))
	if err := describe(c, id); err != nil {
		t.Errorf("14 minutes of skew: %v", err)
	}
}

// Nonces are forgotten once their Timestamp leaves the window, on the
// server's clock: the memory holds one window of requests.
func TestNonceMemoryBounded(t *testing.T) {
	clock := &testClock{now: time.Now()}
	s := esstest.NewServer(esstest.Config{AccessKeys: map[string]string{"id": "secret"}, Now: clock.Now})
	t.Cleanup(s.Close)
	id := s.AddGroup(esstest.Group{MaxSize: 3, Configuration: esstest.Configuration{InstanceTypes: []string{"ecs.g7.large"}}})
	c := sdkClient(t, s, http.DefaultTransport)
	for range 50 {
		if err := describe(c, id); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.RememberedNonces(); n != 50 {
		t.Fatalf("%d nonces remembered, want 50", n)
	}
	// The requests above are stamped with the wall clock; on a server
	// clock 14 minutes on they are still valid, and their nonces kept.
	clock.set(time.Now().Add(14 * time.Minute))
	if err := describe(c, id); err != nil {
		t.Fatal(err)
	}
	if n := s.RememberedNonces(); n != 51 {
		t.Errorf("%d nonces remembered, want 51", n)
	}
	// Past the window every request above has expired: the next request
	// (refused, as its stamp is old too) finds the memory emptied.
	clock.set(time.Now().Add(16 * time.Minute))
	if _, code, _ := serverError(t, describe(c, id)); code != "InvalidTimeStamp.Expired" {
		t.Errorf("code %s", code)
	}
	if n := s.RememberedNonces(); n != 0 {
		t.Errorf("%d nonces remembered after the window, want 0", n)
	}
}
