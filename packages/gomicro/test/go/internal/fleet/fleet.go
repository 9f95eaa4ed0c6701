// Package fleet builds the registry and broker every test program uses, from flags, always
// explicit and on loopback: go-micro's default registry (mdns) multicasts and is never used.
package fleet

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	natsbroker "github.com/go-micro/plugins/v4/broker/nats"
	etcd "github.com/go-micro/plugins/v4/registry/etcd"
	natsreg "github.com/go-micro/plugins/v4/registry/nats"
	"go-micro.dev/v4/broker"
	"go-micro.dev/v4/logger"
	"go-micro.dev/v4/registry"
)

type Flags struct {
	Registry        *string
	RegistryAddress *string
	Broker          *string
	BrokerAddress   *string
}

func AddFlags(fs *flag.FlagSet) Flags {
	return Flags{
		Registry:        fs.String("registry", "memory", "etcd | nats | memory"),
		RegistryAddress: fs.String("registry_address", "", "etcd or NATS address (127.0.0.1:port)"),
		Broker:          fs.String("broker", "memory", "nats | http | memory"),
		BrokerAddress:   fs.String("broker_address", "", "NATS address for -broker nats"),
	}
}

func init() {
	logger.DefaultLogger = logger.NewLogger(logger.WithLevel(logger.ErrorLevel), logger.WithOutput(os.Stderr))
}

// Registry returns the registry the flags name, and makes it the process default so that
// nothing falls back to mdns.
func (f Flags) Registry_() registry.Registry {
	var r registry.Registry
	switch *f.Registry {
	case "etcd":
		r = etcd.NewRegistry(registry.Addrs(*f.RegistryAddress), registry.Timeout(3*time.Second))
	case "nats":
		r = natsreg.NewRegistry(registry.Addrs("nats://"+*f.RegistryAddress), registry.Timeout(300*time.Millisecond))
	case "memory":
		r = registry.NewMemoryRegistry()
	default:
		Fail(fmt.Errorf("unknown registry %q", *f.Registry))
	}
	registry.DefaultRegistry = r
	return r
}

func (f Flags) Broker_(r registry.Registry) broker.Broker {
	var b broker.Broker
	switch *f.Broker {
	case "nats":
		b = natsbroker.NewBroker(broker.Addrs("nats://" + *f.BrokerAddress))
	case "http":
		b = broker.NewBroker(broker.Addrs("127.0.0.1:0"), broker.Registry(r))
	case "memory":
		b = broker.NewMemoryBroker()
	default:
		Fail(fmt.Errorf("unknown broker %q", *f.Broker))
	}
	broker.DefaultBroker = b
	return b
}

// Print writes one JSON line to stdout: the tests read these.
func Print(v any) {
	b, _ := json.Marshal(v)
	fmt.Println(string(b))
}

func Fail(err error) {
	fmt.Fprintln(os.Stderr, "fatal:", err)
	os.Exit(1)
}
