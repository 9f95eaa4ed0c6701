// caller: a go-micro v4.10.2 client for the interop tests. It finds SERVICE through the
// registry (etcd or NATS) and runs one case, printing one JSON line with the outcome:
//
//	caller -registry etcd -registry_address A -service S -case hello|error|metadata|timeout|stream|watch|publish
package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"time"

	"go-micro.dev/v4/client"
	raw "go-micro.dev/v4/codec/bytes"
	merrors "go-micro.dev/v4/errors"
	"go-micro.dev/v4/metadata"
	"go-micro.dev/v4/registry"
	"go-micro.dev/v4/selector"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"tsmicro.dev/gomicro-interop/internal/fleet"
)

type result struct {
	Case     string              `json:"case"`
	Ok       bool                `json:"ok"`
	Response any                 `json:"response,omitempty"`
	Messages []any               `json:"messages,omitempty"`
	Error    *merrors.Error      `json:"error,omitempty"`
	Raw      string              `json:"raw,omitempty"`
	Ms       int64               `json:"ms"`
	Services []*registry.Service `json:"services,omitempty"`
}

func main() {
	fs := flag.NewFlagSet("caller", flag.ExitOnError)
	f := fleet.AddFlags(fs)
	service := fs.String("service", "greeter", "service to call")
	endpoint := fs.String("endpoint", "", "endpoint (default per case)")
	kase := fs.String("case", "hello", "what to do")
	name := fs.String("name", "Go", "name to send")
	timeout := fs.Duration("timeout", 5*time.Second, "request timeout")
	sleep := fs.Int64("sleep", 0, "ms the remote should sleep (timeout case)")
	count := fs.Int("count", 3, "stream messages to ask for")
	contentType := fs.String("content_type", "application/json", "request content type")
	topic := fs.String("topic", "", "topic (publish case)")
	watchFor := fs.Duration("watch_for", 10*time.Second, "how long to watch (watch case)")
	address := fs.String("address", "", "call this address instead of selecting a node")
	recvWait := fs.Duration("recv_wait", time.Second, "collect case: how long to wait for an answer after CloseSend")
	repeat := fs.Duration("repeat", 0, "publish case: publish again every interval until killed (the http broker sends asynchronously)")
	_ = fs.Parse(os.Args[1:])

	reg := f.Registry_()
	brk := f.Broker_(reg)
	c := client.NewClient(
		client.Registry(reg),
		client.Broker(brk),
		client.Selector(selector.NewSelector(selector.Registry(reg))),
		client.Retries(0),
		client.RequestTimeout(*timeout),
		client.ContentType(*contentType),
	)
	ctx := context.Background()
	r := result{Case: *kase}
	start := time.Now()
	var err error
	switch *kase {
	case "hello", "metadata", "error", "timeout":
		ep := map[string]string{"hello": "Greeter.Hello", "metadata": "Greeter.Hello", "error": "Greeter.Fail", "timeout": "Greeter.Sleep"}[*kase]
		if *endpoint != "" {
			ep = *endpoint
		}
		var body any = map[string]any{"name": *name}
		if *kase == "timeout" {
			body = map[string]any{"ms": *sleep}
		}
		if *kase == "metadata" {
			ctx = metadata.NewContext(ctx, metadata.Metadata{"X-Tenant": "acme", "X-Request-From": "go-micro"})
		}
		var rsp map[string]any
		opts := []client.CallOption{client.WithConnClose()}
		if *address != "" {
			opts = append(opts, client.WithAddress(*address))
		}
		err = c.Call(ctx, c.NewRequest(*service, ep, body), &rsp, opts...)
		r.Response = rsp
	case "proto":
		// A protobuf message (google.protobuf.StringValue) in the -content_type encoding.
		ep := "Codecs.Echo"
		if *endpoint != "" {
			ep = *endpoint
		}
		rsp := &wrapperspb.StringValue{}
		err = c.Call(ctx, c.NewRequest(*service, ep, &wrapperspb.StringValue{Value: *name}), rsp, client.WithConnClose())
		r.Response = map[string]any{"value": rsp.Value}
	case "bytes":
		ep := "Codecs.Bytes"
		if *endpoint != "" {
			ep = *endpoint
		}
		rsp := &raw.Frame{}
		err = c.Call(ctx, c.NewRequest(*service, ep, &raw.Frame{Data: []byte(*name)}), rsp, client.WithConnClose())
		r.Response = map[string]any{"data": string(rsp.Data)}
	case "stream":
		ep := "Greeter.Stream"
		if *endpoint != "" {
			ep = *endpoint
		}
		var s client.Stream
		// As go-micro's generated clients: open with an empty request, then send the real one.
		s, err = c.Stream(ctx, c.NewRequest(*service, ep, map[string]any{}))
		if err == nil {
			err = s.Send(map[string]any{"count": *count, "name": *name})
		}
		if err == nil {
			for {
				var m map[string]any
				if rerr := s.Recv(&m); rerr != nil {
					if !errors.Is(rerr, io.EOF) {
						err = rerr
					}
					break
				}
				r.Messages = append(r.Messages, m)
			}
			_ = s.Close()
		}
	case "chat":
		// A bidi stream in lock step: one Send, one Recv, -count times, then Close (no CloseSend).
		ep := "Greeter.Chat"
		if *endpoint != "" {
			ep = *endpoint
		}
		var s client.Stream
		s, err = c.Stream(ctx, c.NewRequest(*service, ep, map[string]any{}))
		for i := 0; err == nil && i < *count; i++ {
			if err = s.Send(map[string]any{"n": i, "msg": *name}); err == nil {
				var m map[string]any
				if err = s.Recv(&m); err == nil {
					r.Messages = append(r.Messages, m)
				}
			}
		}
		if s != nil {
			_ = s.Close()
		}
	case "collect":
		// A client stream: go-micro v4's CloseSend is not implemented, so the server never
		// learns this side is done; the answer cannot come. Reports what CloseSend says and
		// whether Recv answered within -recv_wait, then Closes (which ends the whole stream).
		ep := "Greeter.Collect"
		if *endpoint != "" {
			ep = *endpoint
		}
		var s client.Stream
		s, err = c.Stream(ctx, c.NewRequest(*service, ep, map[string]any{}))
		for i := 0; err == nil && i < *count; i++ {
			err = s.Send(map[string]any{"n": i, "msg": *name})
		}
		if err == nil {
			out := map[string]any{}
			if cerr := s.CloseSend(); cerr != nil {
				out["closeSendError"] = cerr.Error()
			}
			got := make(chan error, 1)
			var m map[string]any
			go func() { got <- s.Recv(&m) }()
			select {
			case rerr := <-got:
				out["recvTimedOut"] = false
				if rerr != nil {
					out["recvError"] = rerr.Error()
				} else {
					out["answer"] = m
				}
			case <-time.After(*recvWait):
				out["recvTimedOut"] = true
			}
			r.Response = out
			r.Ms = time.Since(start).Milliseconds()
			r.Ok = true
			fleet.Print(r)
			_ = s.Close()
			fleet.Print(map[string]any{"closed": true})
			time.Sleep(*recvWait)
			return
		}
	case "publish":
		ctx = metadata.NewContext(ctx, metadata.Metadata{"X-Tenant": "acme"})
		err = c.Publish(ctx, c.NewMessage(*topic, map[string]any{"from": "go-micro", "name": *name, "n": 0}))
		// go-micro's http broker posts from a goroutine and returns at once: keep publishing
		// (numbered) until the test has seen a message and kills this process.
		for n := 1; err == nil && *repeat > 0; n++ {
			fleet.Print(map[string]any{"published": n - 1})
			time.Sleep(*repeat)
			err = c.Publish(ctx, c.NewMessage(*topic, map[string]any{"from": "go-micro", "name": *name, "n": n}))
		}
		// The NATS client buffers: disconnecting flushes before this process exits.
		if derr := brk.Disconnect(); err == nil {
			err = derr
		}
	case "watch":
		// Prints every registry event for SERVICE until -watch_for runs out.
		w, werr := reg.Watch(registry.WatchService(*service))
		if werr != nil {
			fleet.Fail(werr)
		}
		fleet.Print(map[string]any{"watching": *service})
		go func() { time.Sleep(*watchFor); w.Stop() }()
		for {
			res, nerr := w.Next()
			if nerr != nil {
				break
			}
			fleet.Print(map[string]any{"action": res.Action, "service": res.Service})
		}
		return
	case "lookup":
		r.Services, err = reg.GetService(*service)
	default:
		fleet.Fail(errors.New("unknown case " + *kase))
	}
	r.Ms = time.Since(start).Milliseconds()
	if err != nil {
		r.Raw = err.Error()
		r.Error = merrors.Parse(err.Error())
	} else {
		r.Ok = true
	}
	fleet.Print(r)
}
