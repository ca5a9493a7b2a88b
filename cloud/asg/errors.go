package asg

import (
	"errors"
	"fmt"

	"github.com/aws/smithy-go"

	"github.com/kscale/kscale/nodegroup"
)

// Error codes AWS uses for rate limiting.
var throttleCodes = map[string]bool{
	"Throttling": true, "ThrottlingException": true, "ThrottledException": true, "RequestThrottledException": true,
	"TooManyRequestsException": true, "RequestLimitExceeded": true, "RequestThrottled": true, "SlowDown": true,
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// classify marks a throttling error, which reaches here only once the
// client's retryer has given up, with nodegroup.ErrThrottled; other errors
// pass unchanged (still wrapping the SDK's error for errors.As).
func classify(err error) error {
	if err == nil {
		return nil
	}
	if throttleCodes[apiCode(err)] {
		return fmt.Errorf("%w: %w", nodegroup.ErrThrottled, err)
	}
	return err
}
