// greeter: a go-micro v4.10.2 service for the interop tests, registered in etcd or NATS.
//
//	greeter -registry etcd -registry_address 127.0.0.1:P -name NAME [-broker nats -broker_address A -topic T]
//
// Prints {"listening":..., "id":...} once registered, and {"event":..., "metadata":...} for
// each message on -topic.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"os"
	"time"

	micro "go-micro.dev/v4"
	"go-micro.dev/v4/broker"
	raw "go-micro.dev/v4/codec/bytes"
	"go-micro.dev/v4/errors"
	"go-micro.dev/v4/metadata"
	"go-micro.dev/v4/server"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"tsmicro.dev/gomicro-interop/internal/fleet"
)

type HelloRequest struct {
	Name string `json:"name"`
}

type HelloResponse struct {
	Msg      string            `json:"msg"`
	Metadata map[string]string `json:"metadata"`
	// DeadlineMs is the time left on the handler's context, -1 without a deadline.
	DeadlineMs int64 `json:"deadlineMs"`
}

type SleepRequest struct {
	Ms int64 `json:"ms"`
}

type StreamRequest struct {
	Count int    `json:"count"`
	Name  string `json:"name"`
}

type StreamMessage struct {
	N   int    `json:"n"`
	Msg string `json:"msg"`
}

type Greeter struct{ id string }

func deadlineMs(ctx context.Context) int64 {
	if d, ok := ctx.Deadline(); ok {
		return time.Until(d).Milliseconds()
	}
	return -1
}

func (g *Greeter) Hello(ctx context.Context, req *HelloRequest, rsp *HelloResponse) error {
	if req.Name == "" {
		return errors.BadRequest("greeter.hello", "name is required")
	}
	md, _ := metadata.FromContext(ctx)
	rsp.Msg = "Hello " + req.Name + " from go-micro " + g.id
	rsp.Metadata = map[string]string{}
	for k, v := range md {
		rsp.Metadata[k] = v
	}
	rsp.DeadlineMs = deadlineMs(ctx)
	return nil
}

// Fail returns a go-micro error with every field set.
func (g *Greeter) Fail(ctx context.Context, req *HelloRequest, rsp *HelloResponse) error {
	return &errors.Error{Id: "greeter.fail", Code: 418, Detail: "no tea for " + req.Name, Status: "I'm a teapot"}
}

// Sleep waits req.Ms or until the caller's deadline, whichever is first.
func (g *Greeter) Sleep(ctx context.Context, req *SleepRequest, rsp *HelloResponse) error {
	rsp.DeadlineMs = deadlineMs(ctx)
	select {
	case <-time.After(time.Duration(req.Ms) * time.Millisecond):
		rsp.Msg = "slept"
		return nil
	case <-ctx.Done():
		return errors.Timeout("greeter.sleep", "deadline reached after %d ms left", rsp.DeadlineMs)
	}
}

// Stream answers one request with Count messages; Count < 0 fails after |Count| messages.
func (g *Greeter) Stream(ctx context.Context, stream server.Stream) error {
	var req StreamRequest
	if err := stream.Recv(&req); err != nil {
		return err
	}
	n := req.Count
	if n < 0 {
		n = -n
	}
	for i := 0; i < n; i++ {
		// Each message is encoded here and sent as a raw frame: go-micro v4.10.2's server encodes
		// into one reused buffer and writes it later, so back-to-back Sends of values can all
		// arrive as the last one (go-micro to go-micro too). A frame's bytes are our own.
		b, err := json.Marshal(&StreamMessage{N: i, Msg: "hi " + req.Name})
		if err != nil {
			return err
		}
		if err := stream.Send(&raw.Frame{Data: b}); err != nil {
			return err
		}
	}
	if req.Count < 0 {
		return errors.Conflict("greeter.stream", "failed after %d messages", n)
	}
	return nil
}

// Collect reads messages until the caller ends its side (Micro-Error: EOS, which go-micro's
// server reads as io.EOF), then answers with how many it got: a client stream.
func (g *Greeter) Collect(ctx context.Context, stream server.Stream) error {
	var names []string
	for {
		var m StreamMessage
		if err := stream.Recv(&m); err != nil {
			if err == io.EOF {
				break
			}
			return err
		}
		names = append(names, m.Msg)
	}
	b, err := json.Marshal(map[string]any{"count": len(names), "names": names})
	if err != nil {
		return err
	}
	return stream.Send(&raw.Frame{Data: b})
}

// Chat answers every message with one of its own until the caller ends its side: a bidi stream.
func (g *Greeter) Chat(ctx context.Context, stream server.Stream) error {
	for {
		var m StreamMessage
		if err := stream.Recv(&m); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
		b, err := json.Marshal(&StreamMessage{N: m.N, Msg: "go-micro heard " + m.Msg})
		if err != nil {
			return err
		}
		if err := stream.Send(&raw.Frame{Data: b}); err != nil {
			return err
		}
	}
}

// Codecs answers per content type: protobuf messages (application/protobuf and
// application/proto-rpc; well-known types, so no generated code) and raw bytes
// (application/octet-stream).
type Codecs struct{}

func (Codecs) Echo(ctx context.Context, req *wrapperspb.StringValue, rsp *wrapperspb.StringValue) error {
	if req.Value == "" {
		return errors.BadRequest("greeter.codecs", "value is required")
	}
	rsp.Value = "go-micro echo: " + req.Value
	return nil
}

func (Codecs) Bytes(ctx context.Context, req *raw.Frame, rsp *raw.Frame) error {
	rsp.Data = append([]byte("go-micro:"), req.Data...)
	return nil
}

func main() {
	fs := flag.NewFlagSet("greeter", flag.ExitOnError)
	f := fleet.AddFlags(fs)
	name := fs.String("name", "greeter", "service name")
	topic := fs.String("topic", "", "subscribe to this broker topic and print each event")
	queue := fs.String("queue", "", "subscribe to -topic in this queue group")
	ttl := fs.Duration("ttl", 3*time.Second, "registration TTL")
	_ = fs.Parse(os.Args[1:])

	reg := f.Registry_()
	brk := f.Broker_(reg)
	g := &Greeter{}
	var svc micro.Service
	svc = micro.NewService(
		micro.Name(*name),
		micro.Version("1.0.0"),
		micro.Address("127.0.0.1:0"),
		micro.Registry(reg),
		micro.Broker(brk),
		micro.RegisterTTL(*ttl),
		micro.RegisterInterval(*ttl/3),
		micro.Metadata(map[string]string{"stack": "go-micro"}),
		micro.AfterStart(func() error {
			// Subscribed on the broker itself: go-micro v4.10.2's server never routes broker
			// messages to handlers given to micro.RegisterSubscriber (rpcServer.Subscribe leaves
			// the router's subscriber table empty), not even go-micro's own.
			if *topic != "" {
				var opts []broker.SubscribeOption
				if *queue != "" {
					opts = append(opts, broker.Queue(*queue))
				}
				if _, err := brk.Subscribe(*topic, func(e broker.Event) error {
					var ev map[string]any
					if err := json.Unmarshal(e.Message().Body, &ev); err != nil {
						return err
					}
					fleet.Print(map[string]any{"event": ev, "metadata": e.Message().Header})
					return nil
				}, opts...); err != nil {
					return err
				}
			}
			o := svc.Server().Options()
			fleet.Print(map[string]string{"listening": o.Address, "id": o.Name + "-" + o.Id})
			return nil
		}),
	)
	g.id = svc.Server().Options().Id
	if err := micro.RegisterHandler(svc.Server(), g); err != nil {
		fleet.Fail(err)
	}
	if err := micro.RegisterHandler(svc.Server(), Codecs{}); err != nil {
		fleet.Fail(err)
	}
	if err := svc.Run(); err != nil {
		fleet.Fail(err)
	}
}
