package ess

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ess"

	"github.com/kscale/kscale/nodegroup"
)

// ErrAccessDenied is wrapped by errors from calls the account's RAM policy
// does not allow (Forbidden.RAM and the other Forbidden*/NoPermission codes).
var ErrAccessDenied = errors.New("access denied by the RAM policy")

// ErrInvalidResponse is wrapped by errors about answers that cannot be
// right: an empty 200 body or one without a RequestId, an error Code in a
// 200, pagination that does not end, a group with impossible sizes, an
// instance type with impossible resources.
var ErrInvalidResponse = errors.New("invalid response from the cloud API")

// sdkResponse is every SDK response type.
type sdkResponse interface {
	GetHttpStatus() int
	GetHttpContentString() string
}

// call runs fn(req) through a.do and returns its checked response.
func call[Q timeoutSetter, R sdkResponse](ctx context.Context, a *api, action string, req Q, fn func(Q) (R, error)) (R, error) {
	var resp R
	err := a.do(ctx, action, req, func() (sdkResponse, error) {
		var err error
		resp, err = fn(req)
		return resp, err
	})
	return resp, err
}

// checkResponse refuses a successful answer that is not one: an empty
// body, no RequestId (every ESS and ECS answer has one), or an error Code
// (the error is then a *ServerError with that code, so throttling in a 200
// is still retried as throttling).
func checkResponse(resp sdkResponse) error {
	content := resp.GetHttpContentString()
	if strings.TrimSpace(content) == "" {
		return fmt.Errorf("%w: HTTP %d with an empty body", ErrInvalidResponse, resp.GetHttpStatus())
	}
	if strings.Contains(content, `"Code"`) {
		var env struct {
			RequestId, Code, Message any
		}
		if err := json.Unmarshal([]byte(content), &env); err != nil {
			return fmt.Errorf("%w: HTTP %d: body is not a JSON object: %w", ErrInvalidResponse, resp.GetHttpStatus(), err)
		}
		code := fmt.Sprint(env.Code)
		switch strings.ToLower(code) {
		case "<nil>", "", "200", "ok", "success":
		default:
			clean, _ := json.Marshal(map[string]string{"RequestId": fmt.Sprint(env.RequestId), "Code": code, "Message": fmt.Sprint(env.Message)})
			return fmt.Errorf("%w: HTTP %d carrying error %s: %w", ErrInvalidResponse, resp.GetHttpStatus(), code,
				sdkerrors.NewServerError(resp.GetHttpStatus(), string(clean), ""))
		}
	}
	v := reflect.ValueOf(resp)
	if v.Kind() == reflect.Pointer && !v.IsNil() && v.Elem().Kind() == reflect.Struct {
		if f := v.Elem().FieldByName("RequestId"); f.IsValid() && f.Kind() == reflect.String && f.String() == "" {
			return fmt.Errorf("%w: HTTP %d without a RequestId: %.200q", ErrInvalidResponse, resp.GetHttpStatus(), content)
		}
	}
	return nil
}

// guard runs fn, turning a panic inside the SDK (it type-asserts fields of
// error bodies, so a hostile body can make it panic) into an error.
func guard(fn func() (sdkResponse, error)) (resp sdkResponse, err error) {
	defer func() {
		if r := recover(); r != nil {
			resp, err = nil, fmt.Errorf("%w: the SDK panicked reading it: %v", ErrInvalidResponse, r)
		}
	}()
	return fn()
}

// api is the SDK clients plus retries. The SDK's clients are not safe for
// concurrent use (every request rewrites the shared http.Client's timeout),
// so calls are serialized.
type api struct {
	mu       sync.Mutex
	ess      *ess.Client
	ecs      *ecs.Client
	clock    Clock
	attempts int
	base     time.Duration
	maxWait  time.Duration
}

func newAPI(c Config) (*api, error) {
	cred := c.Credential
	if cred == nil {
		cred = credentials.NewAccessKeyCredential(c.AccessKeyID, c.AccessKeySecret)
	}
	sdkConfig := func(scheme string) *sdk.Config {
		sc := sdk.NewConfig()
		sc.Scheme = scheme
		sc.AutoRetry = false // we retry, with backoff and only what is safe
		sc.Transport = c.Transport
		return sc
	}
	essScheme, essHost := splitEndpoint(c.ESSEndpoint)
	ecsScheme, ecsHost := splitEndpoint(c.ECSEndpoint)
	essClient, err := ess.NewClientWithOptions(c.Region, sdkConfig(essScheme), cred)
	if err != nil {
		return nil, fmt.Errorf("ess: ESS client: %w", err)
	}
	essClient.Domain = essHost
	ecsClient, err := ecs.NewClientWithOptions(c.Region, sdkConfig(ecsScheme), cred)
	if err != nil {
		return nil, fmt.Errorf("ess: ECS client: %w", err)
	}
	ecsClient.Domain = ecsHost
	return &api{ess: essClient, ecs: ecsClient, clock: c.Clock, attempts: c.MaxAttempts, base: c.BaseBackoff, maxWait: c.MaxBackoff}, nil
}

type errKind int

const (
	permanent errKind = iota
	throttled
	transient
)

func classify(err error) errKind {
	var se *sdkerrors.ServerError
	if errors.As(err, &se) {
		code := se.ErrorCode()
		switch {
		case strings.HasPrefix(code, "Throttling"), code == "ServiceUnavailable" && se.HttpStatus() < 500:
			return throttled
		case se.HttpStatus() >= 500:
			return transient
		}
		return permanent
	}
	var ce *sdkerrors.ClientError
	if errors.As(err, &ce) && ce.ErrorCode() == sdkerrors.TimeoutErrorCode {
		return transient
	}
	if errors.Is(err, ErrInvalidResponse) {
		// An empty or truncated answer may be a glitch of a proxy; the
		// calls are safe to repeat. An error Code in a 200 was classified
		// above.
		return transient
	}
	// Connection errors surface as plain errors from net/http.
	if strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), "connection reset") || strings.Contains(err.Error(), "EOF") {
		return transient
	}
	return permanent
}

// errorCode is the API error code of err, "" if it has none.
func errorCode(err error) string {
	var se *sdkerrors.ServerError
	if errors.As(err, &se) {
		return se.ErrorCode()
	}
	return ""
}

// timeoutSetter is every SDK request.
type timeoutSetter interface {
	SetReadTimeout(time.Duration)
	SetConnectTimeout(time.Duration)
}

// do runs one API call, retrying throttling and 5xx with exponential
// backoff. Only calls that are safe to repeat go through here: describes,
// absolute settings (ScaleWithAdjustment TotalCapacity, ModifyScalingRule)
// and calls carrying a ClientToken (the server answers a repeated token
// with the first result). The error wraps nodegroup.ErrThrottled when the
// last attempt was throttled and ErrAccessDenied on a RAM denial.
func (a *api) do(ctx context.Context, action string, req timeoutSetter, call func() (sdkResponse, error)) error {
	var err error
	for attempt := 1; ; attempt++ {
		if cerr := ctx.Err(); cerr != nil {
			if err != nil {
				return fmt.Errorf("%s: %w (last error: %w)", action, cerr, err)
			}
			return fmt.Errorf("%s: %w", action, cerr)
		}
		if dl, ok := ctx.Deadline(); ok {
			left := time.Until(dl)
			req.SetReadTimeout(max(left, time.Millisecond))
			req.SetConnectTimeout(max(min(left, 5*time.Second), time.Millisecond))
		}
		a.mu.Lock()
		var resp sdkResponse
		resp, err = guard(call)
		a.mu.Unlock()
		if err == nil {
			if err = checkResponse(resp); err == nil {
				return nil
			}
		}
		kind := classify(err)
		if kind == permanent || attempt >= a.attempts {
			return wrapAPIError(action, attempt, kind, err)
		}
		wait := min(a.base<<(attempt-1), a.maxWait)
		select {
		case <-ctx.Done():
		case <-a.clock.After(wait):
		}
	}
}

// deniedAction is a RAM denial of action; it wraps ErrAccessDenied.
type deniedAction struct {
	action string
	err    error
}

func (d *deniedAction) Error() string { return d.err.Error() }
func (d *deniedAction) Unwrap() error { return d.err }

func wrapAPIError(action string, attempts int, kind errKind, err error) error {
	code := errorCode(err)
	switch {
	case kind == throttled:
		return fmt.Errorf("%s: %w after %d attempts: %w", action, nodegroup.ErrThrottled, attempts, err)
	case strings.HasPrefix(code, "Forbidden") || strings.HasPrefix(code, "NoPermission"):
		return &deniedAction{action: action, err: fmt.Errorf("%s: %w: %w", action, ErrAccessDenied, err)}
	case kind == transient:
		return fmt.Errorf("%s: failed after %d attempts: %w", action, attempts, err)
	}
	return fmt.Errorf("%s: %w", action, err)
}
