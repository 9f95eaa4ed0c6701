// The go-micro #2708 scenario in go-micro v4.10.2 itself.
//
//	seed serve                  serves TestService (FuncA -> FuncB -> FuncC through client.DefaultClient)
//	seed drive -addr A -n N -bound D
//	                            fires N concurrent FuncA calls at A, each bounded by D, prints a JSON summary
//
// Everything binds 127.0.0.1 and uses an in-memory registry: nothing multicasts.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	micro "go-micro.dev/v4"
	"go-micro.dev/v4/client"
	"go-micro.dev/v4/logger"
	"go-micro.dev/v4/registry"
)

type Empty struct{}

// TestService is the seed's call graph. self is where the nested calls go.
type TestService struct{ self string }

func (t *TestService) FuncA(ctx context.Context, req *Empty, rsp *Empty) error {
	return client.DefaultClient.Call(ctx, client.DefaultClient.NewRequest("TestService", "TestService.FuncB", &Empty{}), rsp, client.WithAddress(t.self))
}

func (t *TestService) FuncB(ctx context.Context, req *Empty, rsp *Empty) error {
	go client.DefaultClient.Init() // the re-configuration that takes the client's write lock
	return client.DefaultClient.Call(ctx, client.DefaultClient.NewRequest("TestService", "TestService.FuncC", &Empty{}), rsp, client.WithAddress(t.self))
}

func (t *TestService) FuncC(ctx context.Context, req *Empty, rsp *Empty) error { return nil }

func serve(target string) {
	reg := registry.NewMemoryRegistry()
	registry.DefaultRegistry = reg
	svc := micro.NewService(
		micro.Name("TestService"),
		micro.Address("127.0.0.1:0"),
		micro.Registry(reg),
	)
	h := &TestService{self: target}
	if err := micro.RegisterHandler(svc.Server(), h); err != nil {
		fail(err)
	}
	if err := svc.Server().Start(); err != nil {
		fail(err)
	}
	addr := svc.Server().Options().Address
	if h.self == "" {
		h.self = addr
	}
	fmt.Printf("{\"listening\":%q}\n", addr)
	dumpOnSignal()
	select {}
}

type summary struct {
	Calls     int      `json:"calls"`
	Completed int64    `json:"completed"`
	Stuck     int64    `json:"stuck"`
	Failed    int64    `json:"failed"`
	BoundMs   int64    `json:"boundMs"`
	Errors    []string `json:"errors"`
}

func drive(addr string, n int, bound time.Duration) {
	reg := registry.NewMemoryRegistry()
	registry.DefaultRegistry = reg
	c := client.NewClient(client.Registry(reg), client.Retries(0), client.RequestTimeout(bound))
	// The server's handlers get this as their deadline ("Timeout" header): longer than the bound,
	// so a stall outlives the bound and can be observed.
	connTimeout := func(o *client.CallOptions) { o.ConnectionTimeout = 4 * bound }
	var completed, stuck, failed int64
	var mu sync.Mutex
	errs := map[string]bool{}
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), bound)
			defer cancel()
			err := c.Call(ctx, c.NewRequest("TestService", "TestService.FuncA", &Empty{}), &Empty{}, client.WithAddress(addr), connTimeout)
			switch {
			case err == nil:
				atomic.AddInt64(&completed, 1)
			case ctx.Err() != nil:
				atomic.AddInt64(&stuck, 1)
			default:
				atomic.AddInt64(&failed, 1)
				mu.Lock()
				errs[err.Error()] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	s := summary{Calls: n, Completed: completed, Stuck: stuck, Failed: failed, BoundMs: bound.Milliseconds(), Errors: []string{}}
	for e := range errs {
		s.Errors = append(s.Errors, e)
	}
	_ = json.NewEncoder(os.Stdout).Encode(s)
}

// dumpOnSignal writes every goroutine's stack to stderr on SIGUSR1, between markers, and keeps
// running: SIGQUIT's dump without the exit, so a stall can be observed while it lasts.
func dumpOnSignal() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGUSR1)
	for range ch {
		buf := make([]byte, 64<<20)
		n := runtime.Stack(buf, true)
		fmt.Fprintf(os.Stderr, "=== goroutine dump ===\n%s\n=== end of goroutine dump ===\n", buf[:n])
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "seed:", err)
	os.Exit(1)
}

func main() {
	logger.DefaultLogger = logger.NewLogger(logger.WithLevel(logger.ErrorLevel))
	if len(os.Args) < 2 {
		fail(fmt.Errorf("usage: seed serve [-self addr] | seed drive -addr A -n N -bound D"))
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	addr := fs.String("addr", "", "TestService address")
	self := fs.String("self", "", "where FuncA and FuncB send their nested calls (default: this server)")
	n := fs.Int("n", 100, "concurrent calls")
	bound := fs.Duration("bound", 3*time.Second, "per-call bound")
	_ = fs.Parse(os.Args[2:])
	switch os.Args[1] {
	case "serve":
		serve(*self)
	case "drive":
		drive(*addr, *n, *bound)
	default:
		fail(fmt.Errorf("unknown mode %q", os.Args[1]))
	}
}
