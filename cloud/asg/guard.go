package asg

import (
	"bufio"
	"context"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// maxResponseBytes bounds how much of one response body the SDK may read;
// a larger (or endless) body is cut there and fails to parse. The largest
// legitimate page, 100 groups of several hundred instances, is a few MB.
const maxResponseBytes = 64 << 20

// bodyGuard runs inside the SDK's deserializer, on the raw response: a
// successful response whose body is empty (or only whitespace) is an
// error, since the SDK would read it as an empty result ("no groups"); and
// the body is cut at maxResponseBytes.
type bodyGuard struct{}

func (bodyGuard) ID() string { return "kscaleBodyGuard" }

func (bodyGuard) HandleDeserialize(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (
	middleware.DeserializeOutput, middleware.Metadata, error,
) {
	out, md, err := next.HandleDeserialize(ctx, in)
	if err != nil {
		return out, md, err
	}
	resp, ok := out.RawResponse.(*smithyhttp.Response)
	if !ok || resp.StatusCode < 200 || resp.StatusCode > 299 {
		return out, md, err
	}
	if resp.Body == nil {
		return out, md, fmt.Errorf("%w: HTTP %d with no body", ErrBadResponse, resp.StatusCode)
	}
	br := bufio.NewReader(io.LimitReader(resp.Body, maxResponseBytes))
	for {
		b, rerr := br.ReadByte()
		if rerr != nil {
			return out, md, fmt.Errorf("%w: HTTP %d with an empty body", ErrBadResponse, resp.StatusCode)
		}
		if b != ' ' && b != '\t' && b != '\r' && b != '\n' {
			_ = br.UnreadByte()
			break
		}
	}
	resp.Body = struct {
		io.Reader
		io.Closer
	}{br, resp.Body}
	return out, md, nil
}

func addBodyGuard(stack *middleware.Stack) error {
	// After the operation deserializer in the deserialize step means inner
	// to it: this sees the response before it is parsed.
	return stack.Deserialize.Insert(bodyGuard{}, "OperationDeserializer", middleware.After)
}

// Per-call options adding the guard; implementations of the API interfaces
// other than the SDK clients may ignore them.
var (
	asGuard  = func(o *autoscaling.Options) { o.APIOptions = append(o.APIOptions, addBodyGuard) }
	ec2Guard = func(o *ec2.Options) { o.APIOptions = append(o.APIOptions, addBodyGuard) }
)
