// Package switchyard is a typed client for Switchyard: the same helper as clients/ts and
// clients/python over the stubs generated in clients/go/gen.
//
//	client, err := switchyard.New("127.0.0.1:50051", switchyard.Options{Tenant: "acme", APIKey: os.Getenv("SWITCHYARD_API_KEY")})
//	answer, err := client.Route(ctx, &switchyardv1.RouteRequest{Messages: []*switchyardv1.Message{switchyard.User("hi")}})
//
// Every call returns its failure as *Error (gRPC status code, message, and the routing decision
// when the call got as far as routing).
package switchyard

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	switchyardv1 "github.com/switchyard/switchyard/clients/go/gen/switchyard/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// DefaultDeadline bounds a call whose context has no deadline when Options.Deadline is zero.
const DefaultDeadline = 60 * time.Second

// Options configure a Client; the zero value is usable.
type Options struct {
	// Tenant is sent with every request that names none.
	Tenant string
	// APIKey is the tenant's key, sent as "authorization: Bearer <key>" on every call when set
	// (a policy that declares keys refuses calls without one). Use TLS to send it off the host.
	APIKey string
	// Deadline bounds each call (a whole stream included) whose context has no deadline of its own.
	Deadline time.Duration
	// DialOptions replace the default, a cleartext (h2c) connection; pass TLS credentials here.
	DialOptions []grpc.DialOption
}

// Client calls RouterService. It is safe for concurrent use; Close it when done.
type Client struct {
	conn     *grpc.ClientConn
	router   switchyardv1.RouterServiceClient
	tenant   string
	apiKey   string
	deadline time.Duration
}

// New connects to address (host:port). The connection is made lazily, on the first call.
func New(address string, options Options) (*Client, error) {
	dialOptions := options.DialOptions
	if len(dialOptions) == 0 {
		dialOptions = []grpc.DialOption{grpc.WithInsecure()}
	}
	conn, err := grpc.Dial(address, dialOptions...)
	if err != nil {
		return nil, err
	}
	deadline := options.Deadline
	if deadline == 0 {
		deadline = DefaultDeadline
	}
	return &Client{
		conn:     conn,
		router:   switchyardv1.NewRouterServiceClient(conn),
		tenant:   options.Tenant,
		apiKey:   options.APIKey,
		deadline: deadline,
	}, nil
}

// Close closes the connection; calls in flight fail with codes.Canceled.
func (c *Client) Close() error { return c.conn.Close() }

// Conn is the underlying connection, for AdminService and anything the helper does not cover.
func (c *Client) Conn() *grpc.ClientConn { return c.conn }

// User is a user turn, the message most requests start with.
func User(content string) *switchyardv1.Message {
	return &switchyardv1.Message{Role: switchyardv1.Role_ROLE_USER, Content: content}
}

// Route answers one request.
func (c *Client) Route(ctx context.Context, request *switchyardv1.RouteRequest) (*switchyardv1.RouteResponse, error) {
	ctx, cancel := c.withDeadline(ctx)
	defer cancel()
	if request.GetTenant() == "" && c.tenant != "" {
		request = proto.Clone(request).(*switchyardv1.RouteRequest)
		request.Tenant = c.tenant
	}
	response, err := c.router.Route(ctx, request)
	if err != nil {
		return nil, asError(err)
	}
	return response, nil
}

// Classify says what the request is and where it would go (a dry run: nothing is sent).
func (c *Client) Classify(ctx context.Context, request *switchyardv1.ClassifyRequest) (*switchyardv1.ClassifyResponse, error) {
	ctx, cancel := c.withDeadline(ctx)
	defer cancel()
	if request.GetTenant() == "" && c.tenant != "" {
		request = proto.Clone(request).(*switchyardv1.ClassifyRequest)
		request.Tenant = c.tenant
	}
	response, err := c.router.Classify(ctx, request)
	if err != nil {
		return nil, asError(err)
	}
	return response, nil
}

// Stream answers one request as events; read them with Recv until io.EOF, and Close the stream
// if you stop early (that cancels the call, and the provider's request with it).
func (c *Client) Stream(ctx context.Context, request *switchyardv1.StreamRequest) (*Stream, error) {
	ctx, cancel := c.withDeadline(ctx)
	if request.GetTenant() == "" && c.tenant != "" {
		request = proto.Clone(request).(*switchyardv1.StreamRequest)
		request.Tenant = c.tenant
	}
	events, err := c.router.Stream(ctx, request)
	if err != nil {
		cancel()
		return nil, asError(err)
	}
	return &Stream{events: events, cancel: cancel}, nil
}

// Stream is one streaming call: decision, deltas (with attempt and budget events), then done.
type Stream struct {
	events switchyardv1.RouterService_StreamClient
	cancel context.CancelFunc
	done   bool
}

// Recv returns the next event (switch on event.Event: *StreamResponse_Decision, _Delta, _Attempt,
// _Budget, _Done). After the done event, which carries the decision, it returns io.EOF. A stream
// that ends without done was cut short: Recv returns an *Error with codes.Internal.
func (s *Stream) Recv() (*switchyardv1.StreamResponse, error) {
	event, err := s.events.Recv()
	if err == io.EOF {
		s.cancel()
		if !s.done {
			return nil, &Error{Code: codes.Internal, Message: "the stream ended without its done event"}
		}
		return nil, io.EOF
	}
	if err != nil {
		s.cancel()
		return nil, asError(err)
	}
	if _, isDone := event.Event.(*switchyardv1.StreamResponse_Done); isDone {
		s.done = true
	}
	return event, nil
}

// Close cancels the call if it is still running.
func (s *Stream) Close() { s.cancel() }

// Error is a failed call.
type Error struct {
	Code    codes.Code
	Message string
	// Decision is the switchyard.v1.Decision the server attached (targets tried and why each
	// failed), or nil for a request refused before routing.
	Decision *switchyardv1.Decision
}

func (e *Error) Error() string {
	return fmt.Sprintf("[%s] %s", strings.ToLower(e.Code.String()), e.Message)
}

// GRPCStatus lets status.Code(err) and status.FromError(err) read an *Error.
func (e *Error) GRPCStatus() *status.Status { return status.New(e.Code, e.Message) }

// asError reads the status the call ended with, and the Decision among its details (sent in
// the grpc-status-details-bin trailer as a google.rpc.Status).
func asError(err error) *Error {
	st := status.Convert(err)
	failure := &Error{Code: st.Code(), Message: st.Message()}
	for _, detail := range st.Proto().GetDetails() {
		decision := &switchyardv1.Decision{}
		if detail.MessageIs(decision) && detail.UnmarshalTo(decision) == nil {
			failure.Decision = decision
			break
		}
	}
	return failure
}

func (c *Client) withDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if c.apiKey != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+c.apiKey)
	}
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, c.deadline)
}
